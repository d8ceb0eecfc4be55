// Simple deterministic bidding baselines that read only the observation, and their tuning grids.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "manyworlds/world/bid_policy.hpp"

namespace manyworlds {

// How a baseline picks the creative: always the first (a fixed reference bidder, as calibrate uses)
// or uniformly at random from the decision's noise (what a strategy that cannot tell the creatives
// apart does to spread impressions, and fatigue, over them).
enum class CreativeChoice { first, rotate };
int choose_creative(CreativeChoice choice, int creatives, const DecisionNoise& noise);

// A fixed bid: log multiplier = `log_multiplier` (0 = the reference bid).
class ConstantBid : public BidPolicy {
 public:
  explicit ConstantBid(float log_multiplier = 0.0f, CreativeChoice choice = CreativeChoice::first);
  Action act(const Observation& obs, int creatives, const DecisionNoise& noise) override;

 private:
  float log_multiplier_;
  CreativeChoice choice_;
};

// Bids the observed value estimate per click scaled by exp(log_offset) (log_offset = -log target ROAS):
// log multiplier = obs[log_value_per_click] + log_offset, clamped to +-max_abs_log_multiplier; creatives rotated.
class ValueProportionalBid : public BidPolicy {
 public:
  // Throws std::invalid_argument unless max_abs_log_multiplier > 0.
  ValueProportionalBid(double log_offset, double max_abs_log_multiplier);
  Action act(const Observation& obs, int creatives, const DecisionNoise& noise) override;

 private:
  float log_offset_;
  float bound_;
};

// Slows down when ahead of the budget schedule and speeds up when behind:
// log multiplier = log_multiplier - gain * obs[pacing_gap], clamped to +-max_abs_log_multiplier; creatives rotated.
class PacingOnlyBid : public BidPolicy {
 public:
  // Throws std::invalid_argument unless gain >= 0 and max_abs_log_multiplier > 0.
  PacingOnlyBid(double log_multiplier, double gain, double max_abs_log_multiplier);
  Action act(const Observation& obs, int creatives, const DecisionNoise& noise) override;

 private:
  float log_multiplier_;
  float gain_;
  float bound_;
};

// The tuned baselines, in evaluation order; each is tuned on training worlds by a grid over its
// constants (first = a, second = b):
//   constant_bid            a = log multiplier
//   value_proportional_bid  a = log offset
//   pacing_only_bid         a = log multiplier, b = gain
//   adaptive_pacing         a = offset, b = dual step (AdaptivePacingBid, references.hpp)
enum class BaselineFamily { constant_bid = 0, value_proportional_bid = 1, pacing_only_bid = 2, adaptive_pacing = 3 };
inline constexpr int baseline_families = 4;
const char* to_string(BaselineFamily family);

struct BaselineSpec {
  BaselineFamily family = BaselineFamily::constant_bid;
  double a = 0;
  double b = 0;
};

// Every candidate of every family's tuning grid, family by family.
std::vector<BaselineSpec> baseline_candidates();
// The baseline a spec describes (creatives rotated); bids clamped to +-max_abs_log_multiplier.
std::unique_ptr<BidPolicy> make_baseline(const BaselineSpec& spec, double max_abs_log_multiplier);
// For each family, the candidate with the highest total return (`total_return[i]` of candidates[i]);
// the first candidate wins ties. Result indexed by family.
std::vector<BaselineSpec> best_per_family(const std::vector<BaselineSpec>& candidates,
                                          const std::vector<double>& total_return);
// "constant_bid(log multiplier -0.25)" and the like, for logs.
std::string describe(const BaselineSpec& spec);

}  // namespace manyworlds
