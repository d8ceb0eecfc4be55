// Chunked policy gradients and the mean squared error of batch estimates against the population's.
#include "manyworlds/learn/gradient_diagnostic.hpp"

#include <algorithm>
#include <stdexcept>

namespace manyworlds {

Eigen::VectorXd policy_gradient(const PolicyModel& model, const PpoSection& ppo, const Eigen::VectorXd& params,
                                std::span<const TrainingSample> samples, std::size_t chunk) {
  if (samples.empty()) throw std::invalid_argument("policy_gradient needs at least one sample");
  PpoSection policy_only = ppo;
  policy_only.value_coef = 0.0;
  policy_only.entropy_coef = 0.0;
  Eigen::VectorXd total = Eigen::VectorXd::Zero(model.parameter_count());
  Eigen::VectorXd part;
  const double count = static_cast<double>(samples.size());
  for (std::size_t begin = 0; begin < samples.size(); begin += chunk) {
    const std::span<const TrainingSample> piece = samples.subspan(begin, std::min(chunk, samples.size() - begin));
    ppo_loss(model, policy_only, params, piece, part);  // gradient of the piece's mean
    total += part * (static_cast<double>(piece.size()) / count);
  }
  return total;
}

EstimatorError estimator_error(std::span<const Eigen::VectorXd> estimates, const Eigen::VectorXd& truth) {
  if (estimates.empty()) throw std::invalid_argument("estimator_error needs at least one estimate");
  EstimatorError error;
  Eigen::VectorXd summed_deviation =
      Eigen::VectorXd::Zero(truth.size());  // sums deviations, not estimates: exact 0 when all are exact
  for (const Eigen::VectorXd& estimate : estimates) {
    error.mean_squared_error += (estimate - truth).squaredNorm();
    summed_deviation += estimate - truth;
  }
  const double draws = static_cast<double>(estimates.size());
  error.mean_squared_error /= draws;
  error.bias_squared = (summed_deviation / draws).squaredNorm();
  const double scale = truth.squaredNorm();
  error.relative_error = scale > 0 ? error.mean_squared_error / scale : 0.0;
  return error;
}

}  // namespace manyworlds
