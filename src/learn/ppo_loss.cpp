// The importance-weighted PPO loss: batched forward passes, per-sample terms, batched backward passes.
#include "manyworlds/learn/ppo_loss.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>

#include "manyworlds/learn/action_distribution.hpp"

namespace manyworlds {

namespace {

// Per-row entries of PpoWorkspace::row_terms: the row's loss term, then its LossSums terms.
constexpr std::size_t row_term_count = 1 + loss_sum_components;

// Forward passes of both networks over `samples`, then each row's loss terms, its dLoss/dhead and
// dLoss/dvalue rows (including the 1/n of the mean, n = minibatch_rows) and its dLoss/dlog_std.
void evaluate_rows(const PolicyModel& model, const PpoSection& ppo, const Eigen::VectorXd& params,
                   std::span<const TrainingSample> samples, double minibatch_rows, PpoWorkspace& ws) {
  const Eigen::Index rows = static_cast<Eigen::Index>(samples.size());
  ws.obs.resize(rows, obs_dim);
  for (Eigen::Index i = 0; i < rows; ++i) {
    for (int k = 0; k < obs_dim; ++k) ws.obs(i, k) = samples[i].obs[k];
  }
  const RowMatrix& heads = model.policy_net().forward(model.policy_params(params), ws.obs, ws.policy_cache);
  const RowMatrix& values = model.value_net().forward(model.value_params(params), ws.obs, ws.value_cache);

  const int creatives = model.creatives();
  const double log_std = params[model.log_std_index()];
  const double bound = model.action_bound();
  const double scale = 1.0 / minibatch_rows;
  ws.grad_heads.setZero(rows, 1 + creatives);
  ws.grad_values.resize(rows, 1);
  ws.row_log_std.resize(samples.size());
  ws.row_terms.resize(samples.size() * row_term_count);
  ws.scratch.resize(2 * static_cast<std::size_t>(creatives));
  const std::span<double> d_log_prob = std::span<double>(ws.scratch).first(static_cast<std::size_t>(creatives));
  const std::span<double> d_entropy = std::span<double>(ws.scratch).last(static_cast<std::size_t>(creatives));

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
                                                   d_log_prob.first(un), d_entropy.first(un));
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

    // dL/d(logp_new) of this sample, including the 1/n of the mean.
    const double g_log_prob = unclipped_active ? -w * scale * unclipped_surrogate : 0.0;
    const double g_entropy = -w * scale * ppo.entropy_coef;
    ws.grad_heads(i, 0) = g_log_prob * bid.d_mean;
    ws.row_log_std[static_cast<std::size_t>(i)] = g_log_prob * bid.d_log_std + g_entropy;  // dH/dlog_std = 1
    for (std::size_t j = 0; j < un; ++j) {
      ws.grad_heads(i, 1 + static_cast<Eigen::Index>(j)) = g_log_prob * d_log_prob[j] + g_entropy * d_entropy[j];
    }
    ws.grad_values(i, 0) = w * scale * ppo.value_coef * 2.0 * error;

    double* terms = ws.row_terms.data() + static_cast<std::size_t>(i) * row_term_count;
    terms[0] = w * (policy_term + ppo.value_coef * error * error - ppo.entropy_coef * entropy);
    terms[1] = w;
    terms[2] = w * policy_term;
    terms[3] = w * error * error;
    terms[4] = w * entropy;
    terms[5] = w * (static_cast<double>(s.log_prob) - log_prob);
    terms[6] = std::abs(ratio - 1.0) > ppo.clip ? w : 0.0;
  }
}

// Backward passes of rows [first, first + count) into `grad` (zeroed first), in row order.
void gradient_of_rows(const PolicyModel& model, const Eigen::VectorXd& params, PpoWorkspace& ws, Eigen::Index first,
                      Eigen::Index count, Eigen::VectorXd& grad) {
  grad.setZero(model.parameter_count());
  model.policy_net().backward_rows(model.policy_params(params), ws.policy_cache, ws.grad_heads, first, count,
                                   grad.head(model.log_std_index()));
  double grad_log_std = 0.0;
  for (Eigen::Index i = first; i < first + count; ++i) grad_log_std += ws.row_log_std[static_cast<std::size_t>(i)];
  grad[model.log_std_index()] = grad_log_std;
  model.value_net().backward_rows(model.value_params(params), ws.value_cache, ws.grad_values, first, count,
                                  grad.segment(model.value_offset(), model.value_net().parameter_count()));
}

}  // namespace

TrainingSample training_sample(const Experience& experience, double weight, int creatives) {
  return {experience.obs,       experience.log_bid_multiplier, experience.creative,        experience.log_prob,
          experience.advantage, experience.value_target,       static_cast<float>(weight), creatives};
}

void normalize_advantages(std::span<TrainingSample> local, Collectives& collectives) {
  ExactSum sums(2);
  for (const TrainingSample& sample : local) {
    sums.add(0, sample.weight);
    sums.add(1, static_cast<double>(sample.weight) * sample.advantage);
  }
  std::array<double, 2> first{};
  sums.reduce(collectives, first);
  const double weight = first[0];
  if (weight <= 0) return;
  const double mean = first[1] / weight;
  ExactSum squares(1);
  for (const TrainingSample& sample : local) {
    const double centred = sample.advantage - mean;
    squares.add(0, sample.weight * centred * centred);
  }
  double square_sum = 0;
  squares.reduce(collectives, std::span<double>(&square_sum, 1));
  const double deviation = std::sqrt(square_sum / weight);
  const double scale = deviation > 0 ? 1.0 / (deviation + 1e-8) : 1.0;
  for (TrainingSample& sample : local) sample.advantage = static_cast<float>((sample.advantage - mean) * scale);
}

void LossSums::add(const LossSums& other) {
  weight += other.weight;
  policy += other.policy;
  value += other.value;
  entropy += other.entropy;
  approx_kl += other.approx_kl;
  clipped += other.clipped;
}

LossSums loss_sums_of(std::span<const double> c) { return {c[0], c[1], c[2], c[3], c[4], c[5]}; }

LossResult ppo_loss(const PolicyModel& model, const PpoSection& ppo, const Eigen::VectorXd& params,
                    std::span<const TrainingSample> samples, Eigen::VectorXd& grad, double minibatch_rows) {
  LossResult result;
  grad.setZero(model.parameter_count());
  if (samples.empty()) return result;
  PpoWorkspace ws;
  const double n = minibatch_rows > 0 ? minibatch_rows : static_cast<double>(samples.size());
  evaluate_rows(model, ppo, params, samples, n, ws);
  gradient_of_rows(model, params, ws, 0, static_cast<Eigen::Index>(samples.size()), grad);
  double loss_sum = 0.0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const double* terms = ws.row_terms.data() + i * row_term_count;
    loss_sum += terms[0];
    result.sums.add(loss_sums_of(std::span<const double>(terms + 1, loss_sum_components)));
  }
  result.loss = loss_sum * (1.0 / n);
  return result;
}

void add_world_gradients(const PolicyModel& model, const PpoSection& ppo, const Eigen::VectorXd& params,
                         std::span<const TrainingSample> samples, std::span<const std::size_t> world_ends,
                         double minibatch_rows, PpoWorkspace& workspace, ExactSum& gradient, ExactSum& sums) {
  if (samples.empty()) return;
  evaluate_rows(model, ppo, params, samples, minibatch_rows, workspace);
  std::size_t begin = 0;
  for (const std::size_t end : world_ends) {
    gradient_of_rows(model, params, workspace, static_cast<Eigen::Index>(begin), static_cast<Eigen::Index>(end - begin),
                     workspace.partial);
    gradient.add(std::span<const double>(workspace.partial.data(), static_cast<std::size_t>(workspace.partial.size())));
    begin = end;
  }
  for (std::size_t i = 0; i < samples.size(); ++i)
    for (std::size_t c = 0; c < loss_sum_components; ++c) sums.add(c, workspace.row_terms[i * row_term_count + 1 + c]);
}

}  // namespace manyworlds
