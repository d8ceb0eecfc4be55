// Generalised advantage estimation: one backward pass over an episode in double precision.
#include "manyworlds/learn/gae.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "manyworlds/world/observation.hpp"

namespace manyworlds {

void compute_gae(std::span<Experience> episode, double gamma, double lambda, const RewardSpec& spec) {
  for (std::size_t t = 1; t < episode.size(); ++t) {
    const Experience& a = episode[t - 1];
    const Experience& b = episode[t];
    if (a.world != b.world || a.episode != b.episode || a.step >= b.step) {
      throw std::invalid_argument("compute_gae needs one episode in step order; position " + std::to_string(t) +
                                  " has world " + std::to_string(b.world) + " episode " + std::to_string(b.episode) +
                                  " step " + std::to_string(b.step) + " after world " + std::to_string(a.world) +
                                  " episode " + std::to_string(a.episode) + " step " + std::to_string(a.step));
    }
  }
  double spend = 0.0;
  for (const Experience& e : episode) spend += e.cost;
  double next_value = 0.0;
  double next_advantage = 0.0;
  for (std::size_t t = episode.size(); t-- > 0;) {
    Experience& e = episode[t];
    const double continues = e.done() ? 0.0 : 1.0;
    const double value = e.value_estimate;
    const double price = spec.lagrangian ? std::expm1(static_cast<double>(e.obs[obs::pacing_pressure])) : 0.0;
    double reward = learning_reward(e, spec.mode) - spec.budget_price * e.cost - price * e.expected_cost;
    if (t + 1 == episode.size()) reward -= spec.budget_price * (spec.budget - spend);
    const double delta = reward * spec.scale + gamma * next_value * continues - value;
    const double advantage = delta + gamma * lambda * continues * next_advantage;
    e.value_target = static_cast<float>(advantage + value);
    if (spec.counterfactual) {
      const double mean_reward = static_cast<double>(e.mean_expected_reward) - price * e.mean_expected_cost;
      const double own_reward = static_cast<double>(e.expected_reward) - price * e.expected_cost;
      e.advantage = static_cast<float>((own_reward - mean_reward) * spec.scale);
    } else {
      e.advantage = static_cast<float>(advantage);
    }
    next_value = value;
    next_advantage = advantage;
  }
}

}  // namespace manyworlds
