// Tests of the model's shared formulas (model_formulas.hpp) and of the ziggurat edges both normal generators use.
#include <gtest/gtest.h>

#include <cmath>

#include "manyworlds/core/ziggurat.hpp"
#include "manyworlds/world/model_formulas.hpp"
#include "world_test_support.hpp"

namespace manyworlds {
namespace {

TEST(ModelFormulas, NormalDistributionFunctionAndShareWithinAWindow) {
  EXPECT_EQ(model::normal_cdf(0.0), 0.5);
  EXPECT_NEAR(model::normal_cdf(1.959963984540054), 0.975, 1e-15);
  EXPECT_NEAR(model::normal_cdf(-1.0) + model::normal_cdf(1.0), 1.0, 1e-15);
  // A delay of median 2 h and sigma 0.5: the share within 2 h is a half, within 2 e^0.5 h is Phi(1).
  EXPECT_EQ(model::share_within(std::log(2.0), std::log(2.0), 0.5), 0.5);
  EXPECT_NEAR(model::share_within(std::log(2.0) + 0.5, std::log(2.0), 0.5), 0.8413447460685429, 1e-15);
  // A degenerate delay (sigma 0) is all inside or all outside.
  EXPECT_EQ(model::share_within(1.0, 0.5, 0.0), 1.0);
  EXPECT_EQ(model::share_within(0.5, 1.0, 0.0), 0.0);
}

TEST(ModelFormulas, LognormalMeanIsTheDistributionsMean) {
  Distribution value;
  value.kind = Distribution::Kind::lognormal;
  value.a = 30.0;
  value.b = 0.8;
  EXPECT_EQ(model::lognormal_mean(30.0, 0.8), value.mean());
  EXPECT_NEAR(model::lognormal_mean(30.0, 0.8), 30.0 * std::exp(0.32), 1e-12);
}

TEST(ModelFormulas, HourCtrPeaksAtTheEveningPeak) {
  const Priors& priors = testing_support::default_priors();
  const int peak = static_cast<int>(priors.evening_peak_hour);
  EXPECT_DOUBLE_EQ(model::hour_ctr_factor(priors, peak), 1.0 + priors.hour_ctr_amplitude);
  EXPECT_DOUBLE_EQ(model::hour_ctr_factor(priors, (peak + 12) % 24), 1.0 - priors.hour_ctr_amplitude);
  double mean = 0;
  for (int h = 0; h < 24; ++h) mean += model::hour_ctr_factor(priors, h) / 24.0;
  EXPECT_NEAR(mean, 1.0, 1e-15);
}

TEST(ModelFormulas, ConversionProbabilityIsCappedAtOne) {
  const Priors& priors = testing_support::default_priors();
  const SegmentPrior& segment = priors.segments[0];
  const DevicePrior& device = priors.devices[static_cast<std::size_t>(priors.ios_device)];
  const double p = model::conversion_probability(priors, segment, device, 0, 1.0);
  EXPECT_DOUBLE_EQ(
      p, segment.cvr * (1.0 - device.feature_gap * segment.feature_dependence) * priors.queries[0].cvr_multiplier);
  EXPECT_DOUBLE_EQ(model::conversion_probability(priors, segment, device, 0, 2.0), 2.0 * p);
  EXPECT_EQ(model::conversion_probability(priors, segment, device, 0, 2.0 / p), 1.0);
}

TEST(Ziggurat, EveryLayerHasTheSameArea) {
  // Layer i (i >= 1) is the rectangle x[i] wide between f(x[i]) and f(x[i + 1]): its area is V; the base strip
  // x[0] x f(R) is V too. x falls from x[1] = R to x[128] = 0.
  const ZigguratEdges& x = ziggurat_edges();
  const auto f = [](double v) { return std::exp(-0.5 * v * v); };
  EXPECT_EQ(x[1], ziggurat_edge);
  EXPECT_EQ(x[ziggurat_layers], 0.0);
  EXPECT_NEAR(x[0] * f(ziggurat_edge), ziggurat_area, 1e-18);
  for (int i = 1; i + 1 < ziggurat_layers; ++i) {
    EXPECT_LT(x[i + 1], x[i]);
    EXPECT_NEAR(x[i] * (f(x[i + 1]) - f(x[i])), ziggurat_area, 1e-15) << "layer " << i;
  }
}

}  // namespace
}  // namespace manyworlds
