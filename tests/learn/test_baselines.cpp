// Tests of the constant, value-proportional and pacing-only baselines, creative rotation and the tuning grids.
#include <gtest/gtest.h>

#include <cmath>

#include "manyworlds/learn/baselines.hpp"
#include "manyworlds/world/observation.hpp"

namespace manyworlds {
namespace {

Observation with(int index, float value) {
  Observation obs{};
  obs[static_cast<std::size_t>(index)] = value;
  return obs;
}

TEST(LearnBaselines, ConstantBidKeepsItsMultiplierAndCreativeChoice) {
  ConstantBid reference;
  const Action a = reference.act(with(obs::log_value_per_click, 2.0f), 4, DecisionNoise{1.0, 0.9});
  EXPECT_EQ(a.log_bid_multiplier, 0.0f);
  EXPECT_EQ(a.creative, 0);
  EXPECT_EQ(a.log_prob, 0.0f);
  ConstantBid rotating(-0.25f, CreativeChoice::rotate);
  EXPECT_EQ(rotating.act({}, 4, DecisionNoise{0.0, 0.9}).log_bid_multiplier, -0.25f);
  EXPECT_EQ(rotating.act({}, 4, DecisionNoise{0.0, 0.9}).creative, 3);
}

TEST(LearnBaselines, RotationSpreadsCreativesEvenlyOverTheUniformNoise) {
  // uniform in [k/4, (k+1)/4) picks creative k; the top end stays in range.
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(choose_creative(CreativeChoice::rotate, 4, DecisionNoise{0.0, (k + 0.5) / 4.0}), k);
    EXPECT_EQ(choose_creative(CreativeChoice::rotate, 4, DecisionNoise{0.0, k / 4.0}), k);
  }
  EXPECT_EQ(choose_creative(CreativeChoice::rotate, 4, DecisionNoise{0.0, 1.0}), 3);
  EXPECT_EQ(choose_creative(CreativeChoice::first, 4, DecisionNoise{0.0, 0.99}), 0);
}

TEST(LearnBaselines, ValueProportionalBidsValuePerClickTimesItsOffset) {
  ValueProportionalBid policy(std::log(0.25), 3.0);
  // Expected value per click = 2 x reference, offset 1/4 (target ROAS 4): bid = 0.5 x reference.
  const Action a = policy.act(with(obs::log_value_per_click, std::log(2.0f)), 3, DecisionNoise{-2.0, 0.7});
  EXPECT_NEAR(a.log_bid_multiplier, std::log(0.5), 1e-6);
  EXPECT_EQ(a.creative, 2);
  EXPECT_EQ(a.log_prob, 0.0f);
  EXPECT_EQ(policy.act(with(obs::log_value_per_click, 10.0f), 3, {}).log_bid_multiplier, 3.0f);
  EXPECT_EQ(policy.act(with(obs::log_value_per_click, -10.0f), 3, {}).log_bid_multiplier, -3.0f);
  EXPECT_THROW(ValueProportionalBid(0.0, 0.0), std::invalid_argument);
}

TEST(LearnBaselines, PacingOnlyBidsAgainstThePacingGap) {
  PacingOnlyBid policy(0.5, 2.0, 3.0);
  EXPECT_NEAR(policy.act(with(obs::pacing_gap, 0.25f), 2, {}).log_bid_multiplier, 0.0f, 1e-7);  // ahead: slow down
  EXPECT_NEAR(policy.act(with(obs::pacing_gap, -0.1f), 2, {}).log_bid_multiplier, 0.7f, 1e-6);  // behind: speed up
  EXPECT_EQ(policy.act(with(obs::pacing_gap, -5.0f), 2, {}).log_bid_multiplier, 3.0f);
  EXPECT_EQ(policy.act(with(obs::log_value_per_click, 0.0f), 2, {}).log_prob, 0.0f);
  EXPECT_THROW(PacingOnlyBid(0.0, -1.0, 3.0), std::invalid_argument);
}

TEST(LearnBaselines, TuningPicksEachFamilysBestCandidateFirstOnTies) {
  const std::vector<BaselineSpec> candidates = baseline_candidates();
  std::vector<int> per_family(baseline_families, 0);
  for (const BaselineSpec& spec : candidates) ++per_family[static_cast<int>(spec.family)];
  for (int count : per_family) EXPECT_GE(count, 5) << "every family has a grid";
  // Returns: the candidate's index, except a tie for the best of the constant family.
  std::vector<double> totals(candidates.size());
  for (std::size_t i = 0; i < candidates.size(); ++i) totals[i] = static_cast<double>(i % 7);
  const std::vector<BaselineSpec> best = best_per_family(candidates, totals);
  ASSERT_EQ(best.size(), static_cast<std::size_t>(baseline_families));
  for (int f = 0; f < baseline_families; ++f) {
    double best_total = -1;
    std::size_t first_best = 0;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (static_cast<int>(candidates[i].family) == f && totals[i] > best_total) {
        best_total = totals[i];
        first_best = i;
      }
    }
    EXPECT_EQ(best[f].family, candidates[first_best].family);
    EXPECT_EQ(best[f].a, candidates[first_best].a);
    EXPECT_EQ(best[f].b, candidates[first_best].b);
  }
  EXPECT_EQ(describe(BaselineSpec{BaselineFamily::adaptive_pacing, -0.5, 10}),
            "adaptive_pacing(offset -0.50, step 10)");
}

}  // namespace
}  // namespace manyworlds
