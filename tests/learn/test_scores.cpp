// Tests of the normalised score and the paired bootstrap over worlds.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "manyworlds/learn/scores.hpp"

namespace manyworlds {
namespace {

TEST(LearnScores, NormalisedScoreMapsConstantToZeroAndHindsightToHundred) {
  EXPECT_EQ(normalised_score(50.0, 50.0, 150.0, 0.05), 0.0);
  EXPECT_EQ(normalised_score(150.0, 50.0, 150.0, 0.05), 100.0);
  EXPECT_EQ(normalised_score(100.0, 50.0, 150.0, 0.05), 50.0);
  EXPECT_EQ(normalised_score(0.0, 50.0, 150.0, 0.05), -50.0);
  // Constant within 2 of a hindsight return of 100: the denominator is floored at 5% of 100.
  EXPECT_EQ(normalised_score(103.0, 98.0, 100.0, 0.05), 100.0);
  // A hindsight below the constant does not flip signs: still the floor.
  EXPECT_EQ(normalised_score(90.0, 100.0, 80.0, 0.05), -250.0);
}

TEST(LearnScores, BootstrapIsDeterministicAndBracketsTheMean) {
  std::vector<double> values;
  for (int w = 0; w < 200; ++w) values.push_back(std::sin(w * 0.7) * 10.0 + 3.0);
  const Bootstrap a(7, values.size(), 1000);
  const Bootstrap b(7, values.size(), 1000);
  const Interval x = a.mean(values);
  const Interval y = b.mean(values);
  EXPECT_EQ(x.mean, y.mean);
  EXPECT_EQ(x.low, y.low);
  EXPECT_EQ(x.high, y.high);
  double mean = 0;
  for (double v : values) mean += v / static_cast<double>(values.size());
  EXPECT_NEAR(x.mean, mean, 1e-12);
  EXPECT_LT(x.low, x.mean);
  EXPECT_GT(x.high, x.mean);
  // The percentile interval's half-width is close to 1.96 standard errors (within 15%).
  double variance = 0;
  for (double v : values) variance += (v - mean) * (v - mean) / static_cast<double>(values.size() - 1);
  const double standard_error = std::sqrt(variance / static_cast<double>(values.size()));
  EXPECT_NEAR((x.high - x.low) / 2.0, 1.96 * standard_error, 0.15 * 1.96 * standard_error);
}

TEST(LearnScores, PairedDifferencesAndSubsets) {
  const std::vector<double> values{1, 2, 3, 4, 5, 6, 7, 8};
  const Bootstrap bootstrap(3, values.size(), 500);
  const std::vector<double> zeros(values.size(), 0.0);
  const Interval none = bootstrap.mean(zeros);
  EXPECT_EQ(none.low, 0.0);
  EXPECT_EQ(none.high, 0.0);
  const std::vector<std::uint8_t> even{0, 1, 0, 1, 0, 1, 0, 1};
  EXPECT_DOUBLE_EQ(bootstrap.mean(values, even).mean, 5.0);
  const std::vector<std::uint8_t> nothing(values.size(), 0);
  EXPECT_TRUE(std::isnan(bootstrap.mean(values, nothing).mean));
}

}  // namespace
}  // namespace manyworlds
