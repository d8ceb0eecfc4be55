// The constant, value-proportional and pacing-only baseline bidders.
#include "manyworlds/learn/baselines.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "manyworlds/world/observation.hpp"

namespace manyworlds {
namespace {

float checked_bound(double max_abs_log_multiplier) {
  if (!(max_abs_log_multiplier > 0.0)) {
    throw std::invalid_argument("a baseline's max_abs_log_multiplier must be positive, got " +
                                std::to_string(max_abs_log_multiplier));
  }
  return static_cast<float>(max_abs_log_multiplier);
}

}  // namespace

Action ConstantBid::act(const Observation&, int, const DecisionNoise&) { return {0.0f, 0, 0.0f}; }

ValueProportionalBid::ValueProportionalBid(double target_roas, double max_abs_log_multiplier)
    : log_target_roas_(0.0f), bound_(checked_bound(max_abs_log_multiplier)) {
  if (!(target_roas > 0.0)) {
    throw std::invalid_argument("ValueProportionalBid needs target_roas > 0, got " + std::to_string(target_roas));
  }
  log_target_roas_ = static_cast<float>(std::log(target_roas));
}

Action ValueProportionalBid::act(const Observation& obs, int, const DecisionNoise&) {
  const float x = obs[obs::log_value_per_click] - log_target_roas_;
  return {std::clamp(x, -bound_, bound_), 0, 0.0f};
}

PacingOnlyBid::PacingOnlyBid(double gain, double max_abs_log_multiplier)
    : gain_(static_cast<float>(gain)), bound_(checked_bound(max_abs_log_multiplier)) {
  if (!(gain >= 0.0)) throw std::invalid_argument("PacingOnlyBid needs gain >= 0, got " + std::to_string(gain));
}

Action PacingOnlyBid::act(const Observation& obs, int, const DecisionNoise&) {
  const float x = -gain_ * obs[obs::pacing_gap];
  return {std::clamp(x, -bound_, bound_), 0, 0.0f};
}

}  // namespace manyworlds
