// Tests of the reference bidders: the hindsight optimum of its family and adaptive pacing's spend.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "../world/world_test_support.hpp"
#include "manyworlds/learn/baselines.hpp"
#include "manyworlds/learn/evaluation.hpp"
#include "manyworlds/learn/references.hpp"
#include "manyworlds/world/observation.hpp"

namespace manyworlds {
namespace {

double episode_return(World& world, BidPolicy& strategy, std::vector<Experience>& scratch) {
  scratch.clear();
  return expected_return(world.run_episode(evaluation_episode, strategy, scratch, 1u << 22));
}

TEST(LearnReferences, OpportunityValuesAreTheWorldsValuePerClickOverSegments) {
  std::vector<World> worlds = make_worlds(testing_support::default_priors(), 11, 1.0, 0, 1);
  const World& world = worlds[0];
  const OpportunityValues values(world);
  // Crisis-intent queries from urgent users are mostly crisis parents, the most valuable segment:
  // their value per click exceeds that of a generic query from a user without urgency tags.
  const int crisis_intent = static_cast<int>(QueryType::crisis_intent);
  const int generic = static_cast<int>(QueryType::generic);
  for (int c = 0; c < values.creatives(); ++c) {
    const double urgent = values.value_per_click((crisis_intent * 2 + 0) * 2 + 1, c);
    const double plain = values.value_per_click((generic * 2 + 0) * 2 + 0, c);
    EXPECT_GT(urgent, 1.3 * plain) << "creative " << c;
    // A value per click lies between the least and the most valuable segment's value per click.
    double lowest = HUGE_VAL;
    double highest = 0;
    for (std::size_t s = 0; s < testing_support::default_priors().segments.size(); ++s) {
      for (std::size_t d = 0; d < testing_support::default_priors().devices.size(); ++d) {
        const double v = world.conversion_probability(static_cast<int>(s), static_cast<int>(d), generic) *
                         world.expected_attributed_value(static_cast<int>(s));
        lowest = std::min(lowest, v);
        highest = std::max(highest, v);
      }
    }
    EXPECT_GE(plain, lowest);
    EXPECT_LE(plain, highest);
  }
  Observation obs{};
  obs[obs::query_brand + crisis_intent] = 1.0f;
  obs[obs::urgency_tag] = 1.0f;
  EXPECT_EQ(opportunity_cell(obs), (crisis_intent * 2 + 0) * 2 + 1);
  obs[obs::device_ios] = 1.0f;
  EXPECT_EQ(opportunity_cell(obs), (crisis_intent * 2 + 1) * 2 + 1);
}

TEST(LearnReferences, HindsightIsTheOptimumOfItsFamilyAndStaysWithinBudget) {
  std::vector<World> worlds = make_worlds(testing_support::default_priors(), 5, 1.0, 0, 6, validation_world_base);
  std::vector<Experience> scratch;
  for (World& world : worlds) {
    const HindsightOutcome optimum = hindsight_optimum(world, evaluation_episode, {}, scratch, 1u << 22);
    EXPECT_LE(optimum.outcome.spend, optimum.outcome.budget);
    EXPECT_EQ(optimum.episodes, HindsightSearch{}.grid_points + HindsightSearch{}.refinements);
    const OpportunityValues values(world);
    const double best = expected_return(optimum.outcome);
    // A grid of c between and beyond the search's own grid points.
    for (double c = 0.04; c <= 2.0; c *= 1.21) {
      HindsightBidder bidder(values, world.params().reference_bid, c);
      EXPECT_GE(best, episode_return(world, bidder, scratch)) << "world " << world.params().world_id << " c " << c;
    }
    // Replaying the chosen multiplier gives the reported outcome (the search's result is real).
    HindsightBidder chosen(values, world.params().reference_bid, optimum.multiplier);
    EXPECT_EQ(episode_return(world, chosen, scratch), best);
  }
}

TEST(LearnReferences, AdaptivePacingSpendsItsBudgetWhereTheBudgetBinds) {
  // Worlds where adaptive pacing's highest bid (mu = 0: the value estimate x exp(offset)) runs out
  // of budget before the horizon: there the budget binds, and adaptive pacing must spend 85-100% of it.
  std::vector<World> worlds = make_worlds(testing_support::default_priors(), 9, 7.0, 0, 24, validation_world_base);
  std::vector<Experience> scratch;
  int binding = 0;
  for (World& world : worlds) {
    ValueProportionalBid unpaced(-0.5, 3.0);
    scratch.clear();
    const EpisodeStats greedy = world.run_episode(evaluation_episode, unpaced, scratch, 1u << 22);
    if (greedy.queries == greedy.decisions) continue;  // never ran out
    ++binding;
    AdaptivePacingSettings settings;
    settings.offset = -0.5;
    settings.step = 10;
    AdaptivePacingBid pacing(settings, 3.0);
    scratch.clear();
    const EpisodeStats paced = world.run_episode(evaluation_episode, pacing, scratch, 1u << 22);
    EXPECT_LE(paced.spend, paced.budget);
    EXPECT_GE(paced.spend, 0.85 * paced.budget) << "world " << world.params().world_id;
  }
  EXPECT_GE(binding, 8) << "many default worlds have a binding budget";
}

}  // namespace
}  // namespace manyworlds
