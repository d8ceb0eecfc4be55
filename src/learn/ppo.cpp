// The PPO trainer's update loop: keyed minibatch orders, per-world partial gradients, exact reductions, clipping, Adam.
#include "manyworlds/learn/ppo.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "manyworlds/core/permutation.hpp"

namespace manyworlds {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Rows per value-head forward pass in explained_variance (bounds its memory for large batches).
constexpr std::size_t value_pass_rows = 4096;

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

void check_batch(const LocalBatch& batch) {
  if (batch.worlds.size() != batch.samples.size())
    throw std::invalid_argument("LocalBatch has " + std::to_string(batch.samples.size()) + " samples but " +
                                std::to_string(batch.worlds.size()) + " world ids");
  if (batch.total_rows < 1 || batch.total_rows > std::int64_t{1} << 62)
    throw std::invalid_argument("PPO update needs 1 .. 2^62 samples, got " + std::to_string(batch.total_rows));
}

// The value head at every local row, in passes of value_pass_rows.
std::vector<double> values_of(const PolicyModel& model, const Eigen::VectorXd& params,
                              std::span<const TrainingSample> samples) {
  std::vector<double> values(samples.size());
  RowMatrix obs;
  MlpCache cache;
  for (std::size_t begin = 0; begin < samples.size(); begin += value_pass_rows) {
    const std::size_t rows = std::min(value_pass_rows, samples.size() - begin);
    obs.resize(static_cast<Eigen::Index>(rows), obs_dim);
    for (std::size_t i = 0; i < rows; ++i)
      for (int k = 0; k < obs_dim; ++k) obs(static_cast<Eigen::Index>(i), k) = samples[begin + i].obs[k];
    const RowMatrix& out = model.value_net().forward(model.value_params(params), obs, cache);
    for (std::size_t i = 0; i < rows; ++i) values[begin + i] = out(static_cast<Eigen::Index>(i), 0);
  }
  return values;
}

// 1 - Var_w(target - V) / Var_w(target) over the rows of all ranks, V = `values` of the current
// value head at this rank's rows; both passes' sums exact. The passes over the rows count as
// compute, their reductions as combine.
double explained_variance(std::span<const TrainingSample> samples, std::span<const double> values,
                          Collectives& collectives, UpdateTiming& timing) {
  Clock::time_point start = Clock::now();
  ExactSum first(3);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const double w = samples[i].weight;
    first.add(0, w);
    first.add(1, w * samples[i].value_target);
    first.add(2, w * (samples[i].value_target - values[i]));
  }
  timing.compute_seconds += seconds_since(start);
  start = Clock::now();
  std::array<double, 3> means{};
  first.reduce(collectives, means);
  const double target_mean = means[1] / means[0];
  const double residual_mean = means[2] / means[0];
  timing.combine_seconds += seconds_since(start);
  start = Clock::now();
  ExactSum second(2);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const double w = samples[i].weight;
    const double t = samples[i].value_target - target_mean;
    const double r = samples[i].value_target - values[i] - residual_mean;
    second.add(0, w * t * t);
    second.add(1, w * r * r);
  }
  timing.compute_seconds += seconds_since(start);
  start = Clock::now();
  std::array<double, 2> variances{};
  second.reduce(collectives, variances);
  timing.combine_seconds += seconds_since(start);
  if (variances[0] == 0.0) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 - variances[1] / variances[0];
}

}  // namespace

LocalBatch single_rank_batch(std::span<const TrainingSample> samples) {
  LocalBatch batch;
  batch.samples.assign(samples.begin(), samples.end());
  batch.worlds.assign(samples.size(), 0);
  batch.total_rows = static_cast<std::int64_t>(samples.size());
  return batch;
}

PpoTrainer::PpoTrainer(const PolicyModel& model, const PpoSection& ppo, Eigen::VectorXd parameters)
    : model_(model),
      ppo_(checked(ppo)),
      parameters_(checked(model, std::move(parameters))),
      adam_(model.parameter_count(), AdamSettings{ppo.learning_rate, ppo.adam_beta1, ppo.adam_beta2, ppo.adam_epsilon}),
      gradient_(static_cast<std::size_t>(model.parameter_count())) {}

void PpoTrainer::add_rows(const LocalBatch& batch, std::span<const std::uint32_t> rows, double minibatch_rows,
                          ExactSum& sums) {
  // Group by world, keeping minibatch order inside each world.
  grouped_.assign(rows.begin(), rows.end());
  std::stable_sort(grouped_.begin(), grouped_.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return batch.worlds[a] < batch.worlds[b]; });
  chunk_.clear();
  world_ends_.clear();
  for (std::size_t i = 0; i < grouped_.size(); ++i) {
    if (i > 0 && batch.worlds[grouped_[i]] != batch.worlds[grouped_[i - 1]]) world_ends_.push_back(i);
    chunk_.push_back(batch.samples[grouped_[i]]);
  }
  if (!chunk_.empty()) world_ends_.push_back(chunk_.size());
  add_world_gradients(model_, ppo_, parameters_, chunk_, world_ends_, minibatch_rows, workspace_, gradient_, sums);
}

double learning_rate_at(const PpoSection& ppo, int iteration, int iterations) {
  if (ppo.final_learning_rate < 0 || iterations <= 1) return ppo.learning_rate;
  const double progress = static_cast<double>(iteration) / static_cast<double>(iterations - 1);
  return ppo.learning_rate + (ppo.final_learning_rate - ppo.learning_rate) * progress;
}

PpoStats PpoTrainer::update(const LocalBatch& batch, std::uint64_t seed, std::uint32_t iteration,
                            Collectives& collectives, double learning_rate) {
  check_batch(batch);
  timing_ = {};
  Clock::time_point start = Clock::now();
  const std::vector<double> values = values_of(model_, parameters_, batch.samples);
  timing_.compute_seconds += seconds_since(start);
  PpoStats stats;
  stats.explained_variance = explained_variance(batch.samples, values, collectives, timing_);
  start = Clock::now();
  stats.learning_rate = learning_rate < 0 ? ppo_.learning_rate : learning_rate;
  adam_.set_learning_rate(stats.learning_rate);
  timing_.combine_seconds += seconds_since(start);

  const auto total = static_cast<std::uint64_t>(batch.total_rows);
  const std::uint64_t minibatch = std::min(total, static_cast<std::uint64_t>(ppo_.minibatch_size));
  const std::size_t local = batch.samples.size();
  std::vector<std::uint64_t> positions(local);
  std::vector<std::uint32_t> order(local);
  ExactSum epoch_sums(loss_sum_components);
  std::array<double, loss_sum_components> epoch_values{};
  Eigen::VectorXd grad(model_.parameter_count());
  LossSums sums;
  double grad_norm_sum = 0.0;

  for (int epoch = 0; epoch < ppo_.epochs; ++epoch) {
    start = Clock::now();
    const Permutation permutation(seed, iteration, static_cast<std::uint32_t>(epoch), total);
    for (std::size_t i = 0; i < local; ++i) positions[i] = permutation(static_cast<std::uint64_t>(batch.first_row) + i);
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(),
              [&](std::uint32_t a, std::uint32_t b) { return positions[a] < positions[b]; });
    timing_.compute_seconds += seconds_since(start);
    std::size_t cursor = 0;
    for (std::uint64_t begin = 0; begin < total; begin += minibatch) {
      const std::uint64_t end = std::min(total, begin + minibatch);
      start = Clock::now();
      std::size_t stop = cursor;
      while (stop < local && positions[order[stop]] < end) ++stop;
      add_rows(batch, std::span<const std::uint32_t>(order).subspan(cursor, stop - cursor),
               static_cast<double>(end - begin), epoch_sums);
      cursor = stop;
      timing_.compute_seconds += seconds_since(start);
      start = Clock::now();
      gradient_.reduce(collectives, std::span<double>(grad.data(), static_cast<std::size_t>(grad.size())));
      const double norm = grad.norm();
      grad_norm_sum += norm;
      if (ppo_.max_grad_norm > 0.0 && norm > ppo_.max_grad_norm) grad *= ppo_.max_grad_norm / norm;
      adam_.step(parameters_, grad);
      ++stats.minibatches;
      timing_.combine_seconds += seconds_since(start);
    }
    start = Clock::now();
    epoch_sums.reduce(collectives, epoch_values);
    const LossSums epoch_result = loss_sums_of(epoch_values);
    sums.add(epoch_result);
    ++stats.epochs;
    stats.last_epoch_kl = epoch_result.approx_kl / epoch_result.weight;
    timing_.combine_seconds += seconds_since(start);
    if (ppo_.target_kl > 0.0 && stats.last_epoch_kl > ppo_.target_kl) break;
  }

  stats.policy_loss = sums.policy / sums.weight;
  stats.value_loss = sums.value / sums.weight;
  stats.entropy = sums.entropy / sums.weight;
  stats.approx_kl = sums.approx_kl / sums.weight;
  stats.clip_fraction = sums.clipped / sums.weight;
  stats.grad_norm = grad_norm_sum / static_cast<double>(stats.minibatches);
  return stats;
}

PpoStats PpoTrainer::update(std::span<const TrainingSample> batch, std::uint64_t seed, std::uint32_t iteration,
                            double learning_rate) {
  SerialCollectives serial;
  return update(single_rank_batch(batch), seed, iteration, serial, learning_rate);
}

Eigen::VectorXd PpoTrainer::batch_gradient(const LocalBatch& batch, Collectives& collectives) {
  check_batch(batch);
  std::vector<std::uint32_t> rows(batch.samples.size());
  std::iota(rows.begin(), rows.end(), 0u);
  ExactSum sums(loss_sum_components);
  add_rows(batch, rows, static_cast<double>(batch.total_rows), sums);
  Eigen::VectorXd grad(model_.parameter_count());
  gradient_.reduce(collectives, std::span<double>(grad.data(), static_cast<std::size_t>(grad.size())));
  sums.clear();
  return grad;
}

double PpoTrainer::loss_and_gradient(std::span<const TrainingSample> samples, Eigen::VectorXd& grad) const {
  return ppo_loss(model_, ppo_, parameters_, samples, grad).loss;
}

std::vector<double> PpoTrainer::export_parameters() const {
  return std::vector<double>(parameters_.data(), parameters_.data() + parameters_.size());
}

void PpoTrainer::import_parameters(std::span<const double> parameters) {
  parameters_ = checked(
      model_, Eigen::Map<const Eigen::VectorXd>(parameters.data(), static_cast<Eigen::Index>(parameters.size())));
}

}  // namespace manyworlds
