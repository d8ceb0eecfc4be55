// The interface through which an episode asks a bidding strategy for each decision.
#pragma once

#include <cstdint>
#include <limits>

#include "manyworlds/core/experience.hpp"

namespace manyworlds {

// The random numbers of one decision, drawn from the world's action stream, so that
// a decision never depends on how many worlds a rank evaluates together.
struct DecisionNoise {
  double normal = 0;   // standard normal for the continuous action
  double uniform = 0;  // uniform (0,1) for the creative choice
};

// What a strategy chose for one decision.
struct Action {
  float log_bid_multiplier = 0;  // bid = reference bid * exp(log_bid_multiplier)
  int creative = 0;              // index of the creative shown
  float log_prob = 0;            // log-probability of this action under the strategy (0 if deterministic)
  // The strategy's deterministic bid here (a stochastic policy's mean); the world prices the same
  // auction at it too (Experience::mean_expected_reward). NaN: the action itself.
  float mean_log_bid_multiplier = std::numeric_limits<float>::quiet_NaN();
};

// A bidding strategy: the learned policy or a baseline. `creatives` is the world's creative count.
class BidPolicy {
 public:
  virtual ~BidPolicy() = default;
  // Called by the world before the first decision of every episode (stateful strategies reset here).
  virtual void begin_episode() {}
  virtual Action act(const Observation& obs, int creatives, const DecisionNoise& noise) = 0;
};

}  // namespace manyworlds
