// Generalised advantage estimation over one episode's experiences.
#pragma once

#include <span>

#include "manyworlds/core/config.hpp"
#include "manyworlds/core/experience.hpp"

namespace manyworlds {

// The reward an experience teaches under `mode`: its expected reward, or the realized
// conversion_value - cost.
inline double learning_reward(const Experience& e, RewardMode mode) {
  return mode == RewardMode::expected ? static_cast<double>(e.expected_reward)
                                      : static_cast<double>(e.conversion_value - e.cost);
}

// Fills advantage and value_target of one episode's experiences, given in step order with
// value_estimate filled. With r_t = learning_reward(e_t, mode) * reward_scale and V_T = 0 after the last step,
//   delta_t = r_t + gamma * V_{t+1} * (1 - done_t) - V_t,
//   A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1},   value_target_t = A_t + V_t.
// The recursion runs backwards in double; each A_t and value_target_t is rounded to float once
// (so value_target may differ from advantage + value_estimate in float by one rounding).
// Deterministic: a fixed sequential order, no data-dependent branches besides done_t.
// Throws std::invalid_argument if the experiences are not one episode (same world and episode,
// steps strictly increasing).
void compute_gae(std::span<Experience> episode, double gamma, double lambda, double reward_scale,
                 RewardMode mode = RewardMode::expected);

}  // namespace manyworlds
