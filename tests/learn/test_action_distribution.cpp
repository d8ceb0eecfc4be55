// Tests of the clamped-Gaussian bid and softmax creative distribution maths.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "manyworlds/learn/action_distribution.hpp"

namespace manyworlds {
namespace {

TEST(LearnDistribution, NormalTailMatchesKnownValuesAndIsContinuousAtTheSeriesSwitch) {
  EXPECT_NEAR(normal_tail(0.0).log_q, std::log(0.5), 1e-15);
  EXPECT_NEAR(normal_tail(0.0).mills, 2.0 / std::sqrt(2.0 * std::numbers::pi), 1e-15);
  EXPECT_NEAR(normal_tail(1.959963984540054).log_q, std::log(0.025), 1e-12);
  EXPECT_NEAR(normal_tail(-8.0).log_q, 0.0, 1e-14);
  // Q(40) ~ 1e-350 is below double's range; reference values from mpmath at 40 digits.
  EXPECT_NEAR(normal_tail(40.0).log_q, -804.60844201375378817, 1e-12);
  EXPECT_NEAR(normal_tail(40.0).mills, 40.024968847207263723, 1e-10);
  EXPECT_NEAR(normal_tail(30.0).log_q, -454.32124395634319711, 1e-12);
  EXPECT_NEAR(normal_tail(29.999).mills, 30.032260771241738879, 1e-10);
  const NormalTail below = normal_tail(std::nextafter(30.0, 0.0));
  const NormalTail above = normal_tail(std::nextafter(30.0, 100.0));
  EXPECT_NEAR(below.log_q, above.log_q, 1e-9 * std::abs(below.log_q));
  EXPECT_NEAR(below.mills, above.mills, 1e-9 * below.mills);
  for (double z : {-3.0, 0.5, 5.0, 20.0, 29.0, 31.0, 60.0}) {
    const double h = 1e-5;
    const double slope = (normal_tail(z + h).log_q - normal_tail(z - h).log_q) / (2 * h);
    EXPECT_NEAR(normal_tail(z).mills, -slope, 1e-6 * (1.0 + std::abs(slope))) << "z = " << z;
  }
}

TEST(LearnDistribution, ClampedGaussianIsAProperDistribution) {
  // Density inside (-b, b) plus the point masses at the bounds integrate to 1.
  const double mean = 0.7;
  const double log_std = -0.4;
  const double bound = 1.2;
  const int steps = 200000;
  const double dx = 2 * bound / steps;
  double inside = 0.0;
  for (int i = 0; i < steps; ++i)
    inside += std::exp(bid_log_prob(-bound + (i + 0.5) * dx, mean, log_std, bound).value) * dx;
  const double upper = std::exp(bid_log_prob(bound, mean, log_std, bound).value);
  const double lower = std::exp(bid_log_prob(-bound, mean, log_std, bound).value);
  EXPECT_NEAR(inside + upper + lower, 1.0, 1e-9);
  const double sd = std::exp(log_std);
  EXPECT_NEAR(upper, 0.5 * std::erfc((bound - mean) / sd / std::sqrt(2.0)), 1e-15);
  EXPECT_NEAR(lower, 0.5 * std::erfc((bound + mean) / sd / std::sqrt(2.0)), 1e-15);
}

TEST(LearnDistribution, BidLogProbDerivativesMatchFiniteDifferences) {
  const double bound = 2.0;
  for (double action : {-2.0, -0.3, 0.9, 2.0}) {
    for (double mean : {-1.5, 0.2, 1.8}) {
      for (double log_std : {-1.0, 0.3}) {
        const BidLogProb b = bid_log_prob(action, mean, log_std, bound);
        const double h = 1e-6;
        const double dm = (bid_log_prob(action, mean + h, log_std, bound).value -
                           bid_log_prob(action, mean - h, log_std, bound).value) /
                          (2 * h);
        const double ds = (bid_log_prob(action, mean, log_std + h, bound).value -
                           bid_log_prob(action, mean, log_std - h, bound).value) /
                          (2 * h);
        EXPECT_NEAR(b.d_mean, dm, 1e-7 * (1.0 + std::abs(dm)));
        EXPECT_NEAR(b.d_log_std, ds, 1e-7 * (1.0 + std::abs(ds)));
      }
    }
  }
  // Inside the bounds: the Gaussian log-density.
  EXPECT_NEAR(bid_log_prob(0.5, 0.2, -0.7, 3.0).value,
              -0.5 * std::pow(0.3 / std::exp(-0.7), 2) + 0.7 - 0.5 * std::log(2 * std::numbers::pi), 1e-14);
  EXPECT_NEAR(gaussian_entropy(-0.7), 0.5 * std::log(2 * std::numbers::pi * std::numbers::e) - 0.7, 1e-15);
}

TEST(LearnDistribution, CategoricalTermsAndGradients) {
  const std::vector<double> logits{0.3, -1.2, 2.0, 0.0};
  std::vector<double> dlp(4);
  std::vector<double> dent(4);
  const CategoricalTerms t = categorical_terms(logits, 2, dlp, dent);
  double z = 0.0;
  for (double l : logits) z += std::exp(l);
  EXPECT_NEAR(t.log_prob, 2.0 - std::log(z), 1e-15);
  double h_expected = 0.0;
  for (double l : logits) h_expected -= std::exp(l) / z * (l - std::log(z));
  EXPECT_NEAR(t.entropy, h_expected, 1e-15);
  std::vector<double> scratch1(4);
  std::vector<double> scratch2(4);
  for (std::size_t j = 0; j < 4; ++j) {
    const double h = 1e-6;
    std::vector<double> plus = logits;
    std::vector<double> minus = logits;
    plus[j] += h;
    minus[j] -= h;
    const CategoricalTerms p = categorical_terms(plus, 2, scratch1, scratch2);
    const CategoricalTerms m = categorical_terms(minus, 2, scratch1, scratch2);
    EXPECT_NEAR(dlp[j], (p.log_prob - m.log_prob) / (2 * h), 1e-9);
    EXPECT_NEAR(dent[j], (p.entropy - m.entropy) / (2 * h), 1e-9);
  }
  EXPECT_EQ(active_creatives(0, 4), 4);
  EXPECT_EQ(active_creatives(2, 4), 2);
  EXPECT_EQ(active_creatives(9, 4), 4);
}

}  // namespace
}  // namespace manyworlds
