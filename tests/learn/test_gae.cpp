// Tests of generalised advantage estimation against hand-computed and independently computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "manyworlds/learn/gae.hpp"

namespace manyworlds {
namespace {

std::vector<Experience> episode(const std::vector<float>& rewards, const std::vector<float>& values) {
  std::vector<Experience> steps(rewards.size());
  for (std::size_t t = 0; t < steps.size(); ++t) {
    steps[t].world = 3;
    steps[t].episode = 1;
    steps[t].step = static_cast<std::int32_t>(t);
    steps[t].expected_reward = rewards[t];
    steps[t].value_estimate = values[t];
    if (t + 1 == steps.size()) steps[t].flags = flag_done;
  }
  return steps;
}

TEST(LearnGae, ThreeStepsByHand) {
  // gamma = lambda = reward_scale = 0.5, rewards 1, 0, 2 (scaled 0.5, 0, 1), values 0.25, 0.5, 0.125:
  //   delta_2 = 1 - 0.125 = 0.875                   A_2 = 0.875
  //   delta_1 = 0 + 0.5 * 0.125 - 0.5 = -0.4375      A_1 = -0.4375 + 0.25 * 0.875 = -0.21875
  //   delta_0 = 0.5 + 0.5 * 0.5 - 0.25 = 0.5         A_0 = 0.5 + 0.25 * -0.21875 = 0.4453125
  // All values are exact in binary, so the results are too.
  std::vector<Experience> steps = episode({1.0f, 0.0f, 2.0f}, {0.25f, 0.5f, 0.125f});
  compute_gae(steps, 0.5, 0.5, RewardSpec{.scale = 0.5});
  EXPECT_EQ(steps[0].advantage, 0.4453125f);
  EXPECT_EQ(steps[1].advantage, -0.21875f);
  EXPECT_EQ(steps[2].advantage, 0.875f);
  EXPECT_EQ(steps[0].value_target, 0.6953125f);
  EXPECT_EQ(steps[1].value_target, 0.28125f);
  EXPECT_EQ(steps[2].value_target, 1.0f);
}

TEST(LearnGae, MatchesTheDiscountedSumOfTemporalDifferences) {
  const std::vector<float> rewards{3.0f, -1.5f, 0.0f, 12.0f, -4.0f, 0.5f, 7.0f};
  const std::vector<float> values{0.1f, -0.2f, 0.05f, 0.3f, 0.0f, -0.1f, 0.2f};
  std::vector<Experience> steps = episode(rewards, values);
  const double gamma = 0.99;
  const double lambda = 0.95;
  const double scale = 0.01;
  compute_gae(steps, gamma, lambda, RewardSpec{.scale = scale});
  const std::size_t n = rewards.size();
  for (std::size_t t = 0; t < n; ++t) {
    double expected = 0.0;
    for (std::size_t l = t; l < n; ++l) {
      const double next = l + 1 < n ? values[l + 1] : 0.0;
      const double delta = rewards[l] * scale + gamma * next - values[l];
      expected += std::pow(gamma * lambda, static_cast<double>(l - t)) * delta;
    }
    EXPECT_NEAR(steps[t].advantage, expected, 1e-6);
    EXPECT_NEAR(steps[t].value_target, expected + values[t], 1e-6);
  }
}

TEST(LearnGae, BudgetShapingChargesCostWhenSpentAndTheRestAtTheEnd) {
  // Costs 2, 0, 1 of a budget of 10, kappa 0.5: shaped rewards r - 0.5 c, and the last step also
  // pays 0.5 x (10 - 3) for the budget left. gamma = lambda = 1 and zero values make every
  // advantage the sum of the shaped rewards still to come.
  std::vector<Experience> steps = episode({4.0f, 1.0f, 3.0f}, {0.0f, 0.0f, 0.0f});
  steps[0].cost = 2.0f;
  steps[2].cost = 1.0f;
  compute_gae(steps, 1.0, 1.0, RewardSpec{.budget_price = 0.5, .budget = 10.0});
  EXPECT_EQ(steps[2].advantage, 3.0f - 0.5f - 3.5f);
  EXPECT_EQ(steps[1].advantage, 1.0f + steps[2].advantage);
  EXPECT_EQ(steps[0].advantage, 4.0f - 1.0f + steps[1].advantage);
  // The shaped return is the unshaped one (8) minus kappa x budget, whatever the costs were.
  EXPECT_EQ(steps[0].advantage, 8.0f - 0.5f * 10.0f);
}

TEST(LearnGae, SingleTerminalStepAndRejectsMixedEpisodes) {
  std::vector<Experience> one = episode({-2.0f}, {0.5f});
  compute_gae(one, 0.99, 0.95, RewardSpec{.scale = 0.25});
  EXPECT_EQ(one[0].advantage, -1.0f);     // -2 * 0.25 - 0.5
  EXPECT_EQ(one[0].value_target, -0.5f);  // the scaled reward
  std::vector<Experience> mixed = episode({1.0f, 1.0f}, {0.0f, 0.0f});
  mixed[1].episode = 2;
  EXPECT_THROW(compute_gae(mixed, 0.99, 0.95, RewardSpec{.scale = 1.0}), std::invalid_argument);
  std::vector<Experience> unordered = episode({1.0f, 1.0f}, {0.0f, 0.0f});
  unordered[1].step = 0;
  EXPECT_THROW(compute_gae(unordered, 0.99, 0.95, RewardSpec{.scale = 1.0}), std::invalid_argument);
  std::vector<Experience> none;
  EXPECT_NO_THROW(compute_gae(none, 0.99, 0.95, RewardSpec{.scale = 1.0}));
}

}  // namespace
}  // namespace manyworlds
