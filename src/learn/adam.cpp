// Adam: the bias-corrected moment updates and the state's export and import.
#include "manyworlds/learn/adam.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace manyworlds {

Adam::Adam(Eigen::Index size, const AdamSettings& settings)
    : settings_(settings), m_(Eigen::VectorXd::Zero(size)), v_(Eigen::VectorXd::Zero(size)) {}

void Adam::step(Eigen::VectorXd& params, const Eigen::VectorXd& grad) {
  ++steps_;
  const double b1 = settings_.beta1;
  const double b2 = settings_.beta2;
  m_.array() = b1 * m_.array() + (1.0 - b1) * grad.array();
  v_.array() = b2 * v_.array() + (1.0 - b2) * grad.array().square();
  const double t = static_cast<double>(steps_);
  const double correction1 = 1.0 - std::pow(b1, t);
  const double correction2 = 1.0 - std::pow(b2, t);
  params.array() -=
      settings_.learning_rate * (m_.array() / correction1) / ((v_.array() / correction2).sqrt() + settings_.epsilon);
}

std::vector<double> Adam::state() const {
  std::vector<double> out;
  out.reserve(1 + 2 * static_cast<std::size_t>(m_.size()));
  out.push_back(static_cast<double>(steps_));
  out.insert(out.end(), m_.data(), m_.data() + m_.size());
  out.insert(out.end(), v_.data(), v_.data() + v_.size());
  return out;
}

void Adam::set_state(std::span<const double> state) {
  const std::size_t n = static_cast<std::size_t>(m_.size());
  if (state.size() != 1 + 2 * n) {
    throw std::invalid_argument("Adam state has " + std::to_string(state.size()) + " values, expected " +
                                std::to_string(1 + 2 * n) + " (a different policy shape?)");
  }
  const double t = state[0];
  if (!(t >= 0.0) || t != std::floor(t) || t > 9007199254740992.0) {
    throw std::invalid_argument("Adam state has a bad step count " + std::to_string(t));
  }
  steps_ = static_cast<std::int64_t>(t);
  m_ = Eigen::Map<const Eigen::VectorXd>(state.data() + 1, m_.size());
  v_ = Eigen::Map<const Eigen::VectorXd>(state.data() + 1 + n, v_.size());
}

}  // namespace manyworlds
