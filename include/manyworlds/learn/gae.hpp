// Generalised advantage estimation over one episode's experiences, with optional budget shaping.
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

// What GAE learns from. With budget_price kappa > 0 the rewards are shaped by the potential
// Phi(s) = kappa x the budget left (Ng, Harada & Russell 1999): every step also pays kappa x its
// cost, and the last step kappa x the budget still left after it. Over an episode the shaped
// rewards add up to the unshaped ones minus kappa x budget, a constant, so the best policy is the
// same; but a bid's use of the budget is charged when it happens instead of thousands of steps
// later, when the budget runs out (or is left over).
struct RewardSpec {
  RewardMode mode = RewardMode::expected;
  double scale = 1;  // rewards are multiplied by this (values of order 1)
  // Lagrangian rewards: each step's expected cost is charged at 1 + mu_t instead of 1, mu_t the
  // observation's pacing dual (exp(pacing_pressure) - 1), the budget's shadow price as the agent
  // tracks it. With a short horizon (small gamma) the policy then learns the bid that is best at
  // that price: what the true value of the opportunity is worth, with the budget priced in.
  bool lagrangian = false;
  // Counterfactual advantages: A_t = r_t - r_t(mean), the step's reward minus the reward the same
  // auction (the same competitors' bids) gives the policy's mean bid (Experience::mean_expected_*),
  // instead of GAE's. Unbiased (the comparison does not depend on the action drawn) and far less
  // noisy: only the action's own effect remains. Myopic: it ignores what the step does to later
  // steps, so it suits gamma = 0 with the budget priced in (lagrangian). Value targets stay GAE's.
  bool counterfactual = false;
  double budget_price = 0;  // kappa (currency per currency of budget); 0 = no shaping
  double budget = 0;        // the episode's budget (currency), needed when budget_price > 0
};

// Fills advantage and value_target of one episode's experiences, given in step order with
// value_estimate filled. With r_t the shaped reward of step t times spec.scale and V_T = 0 after
// the last step,
//   delta_t = r_t + gamma * V_{t+1} * (1 - done_t) - V_t,
//   A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1},   value_target_t = A_t + V_t.
// The recursion runs backwards in double; each A_t and value_target_t is rounded to float once
// (so value_target may differ from advantage + value_estimate in float by one rounding).
// Deterministic: a fixed sequential order, no data-dependent branches besides done_t.
// Throws std::invalid_argument if the experiences are not one episode (same world and episode,
// steps strictly increasing).
void compute_gae(std::span<Experience> episode, double gamma, double lambda, const RewardSpec& spec);

}  // namespace manyworlds
