// The importance-weighted PPO loss of a set of training samples and its gradient.
#pragma once

#include <Eigen/Core>
#include <span>
#include <vector>

#include "manyworlds/core/collectives.hpp"
#include "manyworlds/core/config.hpp"
#include "manyworlds/core/experience.hpp"
#include "manyworlds/learn/policy_model.hpp"
#include "manyworlds/sampling/exact_sum.hpp"

namespace manyworlds {

// One sampled experience as PPO needs it.
struct TrainingSample {
  Observation obs{};
  float log_bid_multiplier = 0;  // the stored (clamped) action
  int creative = 0;
  float log_prob = 0;  // log-probability under the behaviour policy
  float advantage = 0;
  float value_target = 0;
  float weight = 1;   // importance weight of the sampler
  int creatives = 0;  // creative count of the sample's world; 0 = the model's C (see active_creatives)
};

// The sample of an experience with importance weight `weight`.
TrainingSample training_sample(const Experience& experience, double weight, int creatives = 0);

// Standardises the advantages of a batch whose rows are spread over the ranks of `collectives`
// (`local` is this rank's share) with importance-weighted statistics (so they describe the target
// distribution, not the sampling one): A <- (A - mean_w) / (std_w + 1e-8). The sums are exact
// (ExactSum), so every rank gets the same mean and deviation for any partition. A batch whose
// weighted standard deviation is 0 is only centred. Collective.
void normalize_advantages(std::span<TrainingSample> local, Collectives& collectives);

// Importance-weighted sums sum_i w_i x_i over samples, from which PpoStats are made.
struct LossSums {
  double weight = 0;     // sum w_i
  double policy = 0;     // of -min(r A, clip(r) A)
  double value = 0;      // of (V - target)^2
  double entropy = 0;    // of H
  double approx_kl = 0;  // of logp_old - logp_new
  double clipped = 0;    // of [|r - 1| > clip]

  void add(const LossSums& other);
};

struct LossResult {
  double loss = 0;
  LossSums sums;
};

// The components of LossSums as ExactSum components, in this order.
inline constexpr std::size_t loss_sum_components = 6;
LossSums loss_sums_of(std::span<const double> components);

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
//
// `minibatch_rows` > 0 replaces n: the samples are then a part of a larger minibatch of that many rows.
LossResult ppo_loss(const PolicyModel& model, const PpoSection& ppo, const Eigen::VectorXd& params,
                    std::span<const TrainingSample> samples, Eigen::VectorXd& grad, double minibatch_rows = 0);

// Buffers of add_world_gradients, reused between minibatches.
struct PpoWorkspace {
  MlpCache policy_cache;
  MlpCache value_cache;
  RowMatrix obs;
  RowMatrix grad_heads;
  RowMatrix grad_values;
  std::vector<double> row_log_std;  // per row: d loss / d log_std
  std::vector<double> row_terms;    // per row: loss, then the loss_sum_components
  std::vector<double> scratch;      // d log p / d logit and d H / d logit of one row
  Eigen::VectorXd partial;          // one world's gradient
};

// This rank's share of one minibatch of `minibatch_rows` rows spread over ranks: `samples` are the
// rank's rows of the minibatch grouped by world, world g holding rows [world_ends[g - 1],
// world_ends[g]) in minibatch order. Adds to `gradient` (parameter_count() components) one partial
// gradient per world — the ppo_loss gradient of the world's rows with n = minibatch_rows — and to
// `sums` (loss_sum_components) every row's LossSums terms. Each world's partial is computed alone,
// in a fixed order, so it is the same whichever rank holds the world; ExactSum then makes the
// total independent of the partition.
void add_world_gradients(const PolicyModel& model, const PpoSection& ppo, const Eigen::VectorXd& params,
                         std::span<const TrainingSample> samples, std::span<const std::size_t> world_ends,
                         double minibatch_rows, PpoWorkspace& workspace, ExactSum& gradient, ExactSum& sums);

}  // namespace manyworlds
