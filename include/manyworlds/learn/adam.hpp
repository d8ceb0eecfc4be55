// The Adam optimiser's state and step over a flat parameter vector.
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <span>
#include <vector>

namespace manyworlds {

struct AdamSettings {
  double learning_rate = 3e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
};

// Adam (Kingma & Ba) with bias correction:
//   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,  t = t + 1,
//   theta -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
// Element-wise only (no reductions), so bitwise reproducible.
class Adam {
 public:
  Adam(Eigen::Index size, const AdamSettings& settings);

  // One step with learning rate settings.learning_rate * learning_rate_factor.
  void step(Eigen::VectorXd& params, const Eigen::VectorXd& grad, double learning_rate_factor = 1.0);
  std::int64_t steps() const { return steps_; }

  // State as one vector for broadcast and checkpoints: [t, m_0 .. m_{n-1}, v_0 .. v_{n-1}].
  std::vector<double> state() const;
  // Throws std::invalid_argument unless state has 1 + 2n values and a whole t >= 0.
  void set_state(std::span<const double> state);

 private:
  AdamSettings settings_;
  Eigen::VectorXd m_;
  Eigen::VectorXd v_;
  std::int64_t steps_ = 0;
};

}  // namespace manyworlds
