// The importance-weighted PPO loss of a set of training samples and its gradient.
#pragma once

#include <Eigen/Core>

#include <span>

#include "manyworlds/core/config.hpp"
#include "manyworlds/core/experience.hpp"
#include "manyworlds/learn/policy_model.hpp"

namespace manyworlds {

// One sampled experience as PPO needs it.
struct TrainingSample {
  Observation obs{};
  float log_bid_multiplier = 0;  // the stored (clamped) action
  int creative = 0;
  float log_prob = 0;            // log-probability under the behaviour policy
  float advantage = 0;
  float value_target = 0;
  float weight = 1;              // importance weight of the sampler
  int creatives = 0;             // creative count of the sample's world; 0 = the model's C (see active_creatives)
};

// The sample of an experience with importance weight `weight`.
TrainingSample training_sample(const Experience& experience, double weight, int creatives = 0);

// Standardises the batch's advantages with importance-weighted statistics (so they describe the
// target distribution, not the sampling one): A <- (A - mean_w) / (std_w + 1e-8). Sums run in
// batch order. A batch whose weighted standard deviation is 0 is only centred.
void normalize_advantages(std::span<TrainingSample> batch);

// Importance-weighted sums sum_i w_i x_i over samples, from which PpoStats are made.
struct LossSums {
  double weight = 0;       // sum w_i
  double policy = 0;       // of -min(r A, clip(r) A)
  double value = 0;        // of (V - target)^2
  double entropy = 0;      // of H
  double approx_kl = 0;    // of logp_old - logp_new
  double clipped = 0;      // of [|r - 1| > clip]

  void add(const LossSums& other);
};

struct LossResult {
  double loss = 0;
  LossSums sums;
};

// The loss of `samples` (one minibatch) at `params`, and its gradient (resized and overwritten):
//   r_i = exp(logp_new_i - logp_old_i),
//   L_i = w_i * ( -min(r_i A_i, clip(r_i, 1-eps, 1+eps) A_i) + value_coef (V(s_i) - target_i)^2 - entropy_coef H_i ),
//   loss = (1 / n) sum_i L_i  with n = samples.size().
// Dividing by n, not by sum_i w_i: the sampler's weights make (1/n) sum_i w_i f_i an unbiased
// estimate of the target distribution's mean of f, so the weighted minibatch loss (and gradient) is
// an unbiased estimate of the full PPO loss (dividing by sum w_i would be a self-normalised, biased
// ratio estimate, and would couple every sample's gradient to every other sample's weight).
// Advantages are used as given (no renormalisation). logp_new is PolicyModel::log_prob (exact
// clamped-Gaussian + softmax), H is PolicyModel::entropy. At the clip kink the gradient is the
// unclipped branch's. Throws std::invalid_argument if a creative is outside the sample's active creatives.
LossResult ppo_loss(const PolicyModel& model, const PpoSection& ppo, const Eigen::VectorXd& params,
                    std::span<const TrainingSample> samples, Eigen::VectorXd& grad);

}  // namespace manyworlds
