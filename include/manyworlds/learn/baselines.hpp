// Simple deterministic bidding baselines that read only the observation (learning is judged against them).
#pragma once

#include "manyworlds/world/bid_policy.hpp"

namespace manyworlds {

// Always the reference bid (log multiplier 0) with creative 0.
class ConstantBid : public BidPolicy {
 public:
  Action act(const Observation& obs, int creatives, const DecisionNoise& noise) override;
};

// Bids the expected value per click divided by a target ROAS:
// log multiplier = obs[log_value_per_click] - log(target_roas), clamped to +-max_abs_log_multiplier; creative 0.
class ValueProportionalBid : public BidPolicy {
 public:
  // Throws std::invalid_argument unless target_roas > 0 and max_abs_log_multiplier > 0.
  ValueProportionalBid(double target_roas, double max_abs_log_multiplier);
  Action act(const Observation& obs, int creatives, const DecisionNoise& noise) override;

 private:
  float log_target_roas_;
  float bound_;
};

// Slows down when ahead of the budget schedule and speeds up when behind:
// log multiplier = -gain * obs[pacing_gap], clamped to +-max_abs_log_multiplier; creative 0.
class PacingOnlyBid : public BidPolicy {
 public:
  // Throws std::invalid_argument unless gain >= 0 and max_abs_log_multiplier > 0.
  PacingOnlyBid(double gain, double max_abs_log_multiplier);
  Action act(const Observation& obs, int creatives, const DecisionNoise& noise) override;

 private:
  float gain_;
  float bound_;
};

}  // namespace manyworlds
