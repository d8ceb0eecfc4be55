// Tests of the constant, value-proportional and pacing-only baseline bidders on hand-made observations.
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

TEST(LearnBaselines, ConstantBidIsTheReferenceBid) {
  ConstantBid policy;
  const Action a = policy.act(with(obs::log_value_per_click, 2.0f), 4, DecisionNoise{1.0, 0.9});
  EXPECT_EQ(a.log_bid_multiplier, 0.0f);
  EXPECT_EQ(a.creative, 0);
  EXPECT_EQ(a.log_prob, 0.0f);
}

TEST(LearnBaselines, ValueProportionalBidsValuePerClickOverTargetRoas) {
  ValueProportionalBid policy(4.0, 3.0);
  // Expected value per click = 2 x reference, target ROAS 4: bid = 0.5 x reference.
  const Action a = policy.act(with(obs::log_value_per_click, std::log(2.0f)), 3, DecisionNoise{-2.0, 0.7});
  EXPECT_NEAR(a.log_bid_multiplier, std::log(0.5), 1e-6);
  EXPECT_EQ(a.creative, 0);
  EXPECT_EQ(a.log_prob, 0.0f);
  EXPECT_EQ(policy.act(with(obs::log_value_per_click, 10.0f), 3, {}).log_bid_multiplier, 3.0f);
  EXPECT_EQ(policy.act(with(obs::log_value_per_click, -10.0f), 3, {}).log_bid_multiplier, -3.0f);
  EXPECT_THROW(ValueProportionalBid(0.0, 3.0), std::invalid_argument);
  EXPECT_THROW(ValueProportionalBid(1.0, 0.0), std::invalid_argument);
}

TEST(LearnBaselines, PacingOnlyBidsAgainstThePacingGap) {
  PacingOnlyBid policy(2.0, 3.0);
  EXPECT_NEAR(policy.act(with(obs::pacing_gap, 0.25f), 2, {}).log_bid_multiplier, -0.5f, 1e-7);  // ahead: slow down
  EXPECT_NEAR(policy.act(with(obs::pacing_gap, -0.1f), 2, {}).log_bid_multiplier, 0.2f, 1e-7);   // behind: speed up
  EXPECT_EQ(policy.act(with(obs::pacing_gap, -5.0f), 2, {}).log_bid_multiplier, 3.0f);
  EXPECT_EQ(policy.act(with(obs::pacing_gap, 0.0f), 2, {}).creative, 0);
  EXPECT_EQ(policy.act(with(obs::log_value_per_click, 0.0f), 2, {}).log_prob, 0.0f);
  EXPECT_THROW(PacingOnlyBid(-1.0, 3.0), std::invalid_argument);
}

}  // namespace
}  // namespace manyworlds
