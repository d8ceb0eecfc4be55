// What importance sampling buys: how far batch estimates of the policy gradient fall from the population's.
#pragma once

#include <Eigen/Core>
#include <span>
#include <vector>

#include "manyworlds/core/config.hpp"
#include "manyworlds/learn/policy_model.hpp"
#include "manyworlds/learn/ppo_loss.hpp"

namespace manyworlds {

// The policy gradient of (1/n) sum_i w_i L_i over `samples`: PPO's clipped surrogate at the current
// parameters, without value and entropy terms (the direction the policy would move), computed in
// fixed chunks of `chunk` samples and combined in order. With the whole population and unit
// weights this is the full-population gradient; with a sampled batch and its importance weights,
// an estimate of it.
Eigen::VectorXd policy_gradient(const PolicyModel& model, const PpoSection& ppo, const Eigen::VectorXd& params,
                                std::span<const TrainingSample> samples, std::size_t chunk = 8192);

// How estimates of a vector spread around the truth: mean squared error E||g_k - g||^2 = bias^2 +
// variance, and the mean squared error relative to ||g||^2.
struct EstimatorError {
  double mean_squared_error = 0;
  double bias_squared = 0;
  double relative_error = 0;
};
EstimatorError estimator_error(std::span<const Eigen::VectorXd> estimates, const Eigen::VectorXd& truth);

}  // namespace manyworlds
