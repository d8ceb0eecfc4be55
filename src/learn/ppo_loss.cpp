// The importance-weighted PPO loss: batched forward passes, per-sample terms, batched backward passes.
#include "manyworlds/learn/ppo_loss.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "manyworlds/learn/action_distribution.hpp"

namespace manyworlds {

TrainingSample training_sample(const Experience& experience, double weight, int creatives) {
  return {experience.obs,       experience.log_bid_multiplier, experience.creative,
          experience.log_prob,  experience.advantage,          experience.value_target,
          static_cast<float>(weight), creatives};
}

void normalize_advantages(std::span<TrainingSample> batch) {
  double weight = 0;
  double sum = 0;
  for (const TrainingSample& sample : batch) {
    weight += sample.weight;
    sum += static_cast<double>(sample.weight) * sample.advantage;
  }
  if (weight <= 0) return;
  const double mean = sum / weight;
  double squares = 0;
  for (const TrainingSample& sample : batch) {
    const double centred = sample.advantage - mean;
    squares += sample.weight * centred * centred;
  }
  const double deviation = std::sqrt(squares / weight);
  const double scale = deviation > 0 ? 1.0 / (deviation + 1e-8) : 1.0;
  for (TrainingSample& sample : batch) sample.advantage = static_cast<float>((sample.advantage - mean) * scale);
}

void LossSums::add(const LossSums& other) {
  weight += other.weight;
  policy += other.policy;
  value += other.value;
  entropy += other.entropy;
  approx_kl += other.approx_kl;
  clipped += other.clipped;
}

LossResult ppo_loss(const PolicyModel& model, const PpoSection& ppo, const Eigen::VectorXd& params,
                    std::span<const TrainingSample> samples, Eigen::VectorXd& grad) {
  grad.setZero(model.parameter_count());
  LossResult result;
  const Eigen::Index rows = static_cast<Eigen::Index>(samples.size());
  if (rows == 0) return result;

  RowMatrix obs(rows, obs_dim);
  for (Eigen::Index i = 0; i < rows; ++i) {
    for (int k = 0; k < obs_dim; ++k) obs(i, k) = samples[i].obs[k];
  }
  MlpCache policy_cache;
  MlpCache value_cache;
  const RowMatrix& heads = model.policy_net().forward(model.policy_params(params), obs, policy_cache);
  const RowMatrix& values = model.value_net().forward(model.value_params(params), obs, value_cache);

  const int creatives = model.creatives();
  const double log_std = params[model.log_std_index()];
  const double bound = model.action_bound();
  const double scale = 1.0 / static_cast<double>(rows);
  RowMatrix grad_heads = RowMatrix::Zero(rows, 1 + creatives);
  RowMatrix grad_values(rows, 1);
  std::vector<double> d_log_prob(static_cast<std::size_t>(creatives));
  std::vector<double> d_entropy(static_cast<std::size_t>(creatives));
  double grad_log_std = 0.0;
  double loss_sum = 0.0;

  for (Eigen::Index i = 0; i < rows; ++i) {
    const TrainingSample& s = samples[i];
    const int n = active_creatives(s.creatives, creatives);
    if (s.creative < 0 || s.creative >= n) {
      throw std::invalid_argument("training sample " + std::to_string(i) + " has creative " +
                                  std::to_string(s.creative) + " but only " + std::to_string(n) +
                                  " creatives are active");
    }
    const std::size_t un = static_cast<std::size_t>(n);
    const BidLogProb bid = bid_log_prob(s.log_bid_multiplier, heads(i, 0) + model.mean_offset(s.obs), log_std, bound);
    const CategoricalTerms cat = categorical_terms(std::span<const double>(&heads(i, 1), un), s.creative,
                                                   std::span<double>(d_log_prob).first(un),
                                                   std::span<double>(d_entropy).first(un));
    const double log_prob = bid.value + cat.log_prob;
    const double ratio = std::exp(log_prob - static_cast<double>(s.log_prob));
    const double advantage = s.advantage;
    const double clipped_ratio = std::clamp(ratio, 1.0 - ppo.clip, 1.0 + ppo.clip);
    const double unclipped_surrogate = ratio * advantage;
    const bool unclipped_active = unclipped_surrogate <= clipped_ratio * advantage;
    const double policy_term = -std::min(unclipped_surrogate, clipped_ratio * advantage);
    const double entropy = gaussian_entropy(log_std) + cat.entropy;
    const double error = values(i, 0) - static_cast<double>(s.value_target);
    const double w = s.weight;
    loss_sum += w * (policy_term + ppo.value_coef * error * error - ppo.entropy_coef * entropy);

    // dL/d(logp_new) of this sample, including the 1/n of the mean.
    const double g_log_prob = unclipped_active ? -w * scale * unclipped_surrogate : 0.0;
    const double g_entropy = -w * scale * ppo.entropy_coef;
    grad_heads(i, 0) = g_log_prob * bid.d_mean;
    grad_log_std += g_log_prob * bid.d_log_std + g_entropy;  // dH/dlog_std = 1
    for (std::size_t j = 0; j < un; ++j) {
      grad_heads(i, 1 + static_cast<Eigen::Index>(j)) = g_log_prob * d_log_prob[j] + g_entropy * d_entropy[j];
    }
    grad_values(i, 0) = w * scale * ppo.value_coef * 2.0 * error;

    LossSums& sums = result.sums;
    sums.weight += w;
    sums.policy += w * policy_term;
    sums.value += w * error * error;
    sums.entropy += w * entropy;
    sums.approx_kl += w * (static_cast<double>(s.log_prob) - log_prob);
    sums.clipped += std::abs(ratio - 1.0) > ppo.clip ? w : 0.0;
  }

  model.policy_net().backward(model.policy_params(params), policy_cache, grad_heads,
                              grad.head(model.log_std_index()));
  grad[model.log_std_index()] = grad_log_std;
  model.value_net().backward(model.value_params(params), value_cache, grad_values,
                             grad.segment(model.value_offset(), model.value_net().parameter_count()));
  result.loss = loss_sum * scale;
  return result;
}

}  // namespace manyworlds
