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

  void step(Eigen::VectorXd& params, const Eigen::VectorXd& grad);
  std::int64_t steps() const { return steps_; }
  // The learning rate of the next steps (a schedule sets it before each update).
  void set_learning_rate(double learning_rate) { settings_.learning_rate = learning_rate; }

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
