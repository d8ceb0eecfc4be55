// Generalised advantage estimation: one backward pass over an episode in double precision.
#include "manyworlds/learn/gae.hpp"

#include <stdexcept>
#include <string>

namespace manyworlds {

void compute_gae(std::span<Experience> episode, double gamma, double lambda, double reward_scale, RewardMode mode) {
  for (std::size_t t = 1; t < episode.size(); ++t) {
    const Experience& a = episode[t - 1];
    const Experience& b = episode[t];
    if (a.world != b.world || a.episode != b.episode || a.step >= b.step) {
      throw std::invalid_argument("compute_gae needs one episode in step order; position " + std::to_string(t) +
                                  " has world " + std::to_string(b.world) + " episode " +
                                  std::to_string(b.episode) + " step " + std::to_string(b.step) +
                                  " after world " + std::to_string(a.world) + " episode " +
                                  std::to_string(a.episode) + " step " + std::to_string(a.step));
    }
  }
  double next_value = 0.0;
  double next_advantage = 0.0;
  for (std::size_t t = episode.size(); t-- > 0;) {
    Experience& e = episode[t];
    const double continues = e.done() ? 0.0 : 1.0;
    const double value = e.value_estimate;
    const double delta = learning_reward(e, mode) * reward_scale + gamma * next_value * continues - value;
    const double advantage = delta + gamma * lambda * continues * next_advantage;
    e.advantage = static_cast<float>(advantage);
    e.value_target = static_cast<float>(advantage + value);
    next_value = value;
    next_advantage = advantage;
  }
}

}  // namespace manyworlds
