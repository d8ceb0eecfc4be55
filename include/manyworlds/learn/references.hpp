// Reference bidders that bracket the learning problem: the hindsight-optimal bidder and adaptive pacing.
#pragma once

#include <cstdint>
#include <vector>

#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/world.hpp"

namespace manyworlds {

// What the agent observes of an opportunity that changes its value: query type, iOS or not, urgency tag.
inline constexpr int opportunity_cells = query_type_count * 2 * 2;
int opportunity_cell(const Observation& obs);

// Expected attributed conversion value per click of every observable opportunity cell and creative,
// from one world's true parameters: Bayes over the segments (their shares, query rates, query mix and
// urgency tags) and the devices the observation leaves possible, weighted by each one's chance of
// clicking the creative. Hidden user attributes (segment, identity, past impressions) are not used.
class OpportunityValues {
 public:
  explicit OpportunityValues(const World& world);

  int creatives() const { return creatives_; }
  double value_per_click(int cell, int creative) const { return value_[cell * creatives_ + creative]; }

 private:
  int creatives_ = 0;
  std::vector<double> value_;  // [cell][creative]
};

// The family value x c: bids `multiplier` times the true expected value per click of the opportunity
// and the creative shown (log multiplier relative to the world's reference bid, not clamped to the
// policy's action bound). The creative rotates as in every other strategy (choose_creative): the
// reference measures bidding, and what an observation cannot tell (which creative is better in
// this world) stays out of it.
class HindsightBidder : public BidPolicy {
 public:
  HindsightBidder(const OpportunityValues& values, double reference_bid, double multiplier);
  Action act(const Observation& obs, int creatives, const DecisionNoise& noise) override;

 private:
  int creatives_;
  std::vector<float> log_multiplier_;  // [cell][creative]
};

// Expected return (expected value - expected spend) of an episode: what every strategy is judged on.
inline double expected_return(const EpisodeStats& outcome) { return outcome.expected_value - outcome.expected_spend; }

// The hindsight optimum of one world: the multiplier of the family value x c whose episode
// `episode` has the highest expected return, found by a grid over log c followed by golden-section
// refinement around the best grid point; the result is the best of every multiplier simulated.
struct HindsightSearch {
  double min_multiplier = 0.05;
  double max_multiplier = 1.5;
  int grid_points = 12;  // log-spaced, both ends included
  int refinements = 8;   // golden-section steps in the bracket around the best grid point
};
struct HindsightOutcome {
  double multiplier = 0;
  EpisodeStats outcome;
  int episodes = 0;  // episodes simulated by the search
};
HindsightOutcome hindsight_optimum(World& world, std::uint32_t episode, const HindsightSearch& search,
                                   std::vector<Experience>& scratch, std::size_t capacity);

// Adaptive pacing (dual subgradient descent on the budget constraint, the standard heuristic of the
// budget-pacing literature): bids the observed value estimate x exp(offset) / (1 + mu), mu tracked by
// its own PacingDual of step `step` (tuned, unlike the observation's pacing pressure). The creative
// rotates uniformly at random (fatigue is per creative and user).
struct AdaptivePacingSettings {
  double offset = 0;
  double step = 10;
  double max_mu = 50;
};
class AdaptivePacingBid : public BidPolicy {
 public:
  AdaptivePacingBid(const AdaptivePacingSettings& settings, double max_abs_log_multiplier);
  void begin_episode() override { dual_.reset(); }
  Action act(const Observation& obs, int creatives, const DecisionNoise& noise) override;

 private:
  AdaptivePacingSettings settings_;
  float bound_;
  PacingDual dual_;
};

}  // namespace manyworlds
