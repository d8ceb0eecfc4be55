// The PPO trainer's update loop: deterministic shuffles, minibatch steps, clipping, Adam and statistics.
#include "manyworlds/learn/ppo.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

namespace manyworlds {
namespace {

const PpoSection& checked(const PpoSection& ppo) {
  if (ppo.epochs < 1) throw std::invalid_argument("ppo.epochs must be at least 1, got " + std::to_string(ppo.epochs));
  if (ppo.minibatch_size < 1) {
    throw std::invalid_argument("ppo.minibatch_size must be at least 1, got " + std::to_string(ppo.minibatch_size));
  }
  return ppo;
}

Eigen::VectorXd checked(const PolicyModel& model, Eigen::VectorXd parameters) {
  if (parameters.size() != model.parameter_count()) {
    throw std::invalid_argument("policy parameters have " + std::to_string(parameters.size()) +
                                " values, the model needs " + std::to_string(model.parameter_count()));
  }
  return parameters;
}

// 1 - Var_w(target - V) / Var_w(target) over the batch, V from the current value head.
double explained_variance(const PolicyModel& model, const Eigen::VectorXd& params,
                          std::span<const TrainingSample> batch) {
  const Eigen::Index rows = static_cast<Eigen::Index>(batch.size());
  RowMatrix obs(rows, obs_dim);
  for (Eigen::Index i = 0; i < rows; ++i) {
    for (int k = 0; k < obs_dim; ++k) obs(i, k) = batch[i].obs[k];
  }
  MlpCache cache;
  const RowMatrix& values = model.value_net().forward(model.value_params(params), obs, cache);
  double weight = 0.0;
  double target_mean = 0.0;
  double residual_mean = 0.0;
  for (Eigen::Index i = 0; i < rows; ++i) {
    const double w = batch[i].weight;
    weight += w;
    target_mean += w * batch[i].value_target;
    residual_mean += w * (batch[i].value_target - values(i, 0));
  }
  target_mean /= weight;
  residual_mean /= weight;
  double target_var = 0.0;
  double residual_var = 0.0;
  for (Eigen::Index i = 0; i < rows; ++i) {
    const double w = batch[i].weight;
    const double t = batch[i].value_target - target_mean;
    const double r = batch[i].value_target - values(i, 0) - residual_mean;
    target_var += w * t * t;
    residual_var += w * r * r;
  }
  if (target_var == 0.0) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 - residual_var / target_var;
}

}  // namespace

PpoTrainer::PpoTrainer(const PolicyModel& model, const PpoSection& ppo, Eigen::VectorXd parameters)
    : model_(model),
      ppo_(checked(ppo)),
      parameters_(checked(model, std::move(parameters))),
      adam_(model.parameter_count(),
            AdamSettings{ppo.learning_rate, ppo.adam_beta1, ppo.adam_beta2, ppo.adam_epsilon}) {}

double learning_rate_at(const PpoSection& ppo, int iteration, int iterations) {
  if (ppo.final_learning_rate < 0 || iterations <= 1) return ppo.learning_rate;
  const double progress = static_cast<double>(iteration) / static_cast<double>(iterations - 1);
  return ppo.learning_rate + (ppo.final_learning_rate - ppo.learning_rate) * progress;
}

PpoStats PpoTrainer::update(std::span<const TrainingSample> batch, Stream& shuffle_stream, double learning_rate) {
  if (batch.empty() || batch.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::invalid_argument("PPO update needs 1 .. 2^32-1 samples, got " + std::to_string(batch.size()));
  }
  PpoStats stats;
  stats.explained_variance = explained_variance(model_, parameters_, batch);
  stats.learning_rate = learning_rate < 0 ? ppo_.learning_rate : learning_rate;
  adam_.set_learning_rate(stats.learning_rate);

  const std::size_t size = batch.size();
  const std::size_t minibatch = std::min(size, static_cast<std::size_t>(ppo_.minibatch_size));
  std::vector<std::uint32_t> order(size);
  std::iota(order.begin(), order.end(), 0u);
  std::vector<TrainingSample> chunk;
  chunk.reserve(minibatch);
  Eigen::VectorXd grad;
  LossSums sums;
  double grad_norm_sum = 0.0;

  for (int epoch = 0; epoch < ppo_.epochs; ++epoch) {
    const LossSums before = sums;
    for (std::size_t i = size - 1; i > 0; --i) {
      std::swap(order[i], order[shuffle_stream.below(static_cast<std::uint32_t>(i + 1))]);
    }
    for (std::size_t begin = 0; begin < size; begin += minibatch) {
      const std::size_t end = std::min(size, begin + minibatch);
      chunk.clear();
      for (std::size_t i = begin; i < end; ++i) chunk.push_back(batch[order[i]]);
      const LossResult result = ppo_loss(model_, ppo_, parameters_, chunk, grad);
      sums.add(result.sums);
      const double norm = grad.norm();
      grad_norm_sum += norm;
      if (ppo_.max_grad_norm > 0.0 && norm > ppo_.max_grad_norm) grad *= ppo_.max_grad_norm / norm;
      adam_.step(parameters_, grad);
      ++stats.minibatches;
    }
    ++stats.epochs;
    const double epoch_kl = (sums.approx_kl - before.approx_kl) / (sums.weight - before.weight);
    if (ppo_.target_kl > 0 && epoch_kl > ppo_.target_kl) break;
  }

  stats.policy_loss = sums.policy / sums.weight;
  stats.value_loss = sums.value / sums.weight;
  stats.entropy = sums.entropy / sums.weight;
  stats.approx_kl = sums.approx_kl / sums.weight;
  stats.clip_fraction = sums.clipped / sums.weight;
  stats.grad_norm = grad_norm_sum / static_cast<double>(stats.minibatches);
  return stats;
}

double PpoTrainer::loss_and_gradient(std::span<const TrainingSample> samples, Eigen::VectorXd& grad) const {
  return ppo_loss(model_, ppo_, parameters_, samples, grad).loss;
}

std::vector<double> PpoTrainer::export_parameters() const {
  return std::vector<double>(parameters_.data(), parameters_.data() + parameters_.size());
}

void PpoTrainer::import_parameters(std::span<const double> parameters) {
  parameters_ = checked(model_, Eigen::Map<const Eigen::VectorXd>(parameters.data(),
                                                                   static_cast<Eigen::Index>(parameters.size())));
}

}  // namespace manyworlds
