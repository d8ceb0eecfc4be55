// The train part of an iteration: batch statistics and the data-parallel PPO update on a rank's own rows.
#include <algorithm>

#include "manyworlds/app/iteration_parts.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/learn/ppo_loss.hpp"

namespace manyworlds {

namespace {

Eigen::VectorXd initial_parameters(const JobConfig& config, const PolicyModel& model) {
  Stream init_stream(config.run.seed, Purpose::training, 0, 0, 0);
  return model.initial_parameters(init_stream);
}

// This rank's rows as PPO samples, advantages normalised over all ranks if the job says so (collective).
LocalBatch local_batch(const JobConfig& config, const SampledBatch& sampled, Collectives& collectives) {
  LocalBatch local;
  local.samples.reserve(sampled.rows.size());
  local.worlds.reserve(sampled.rows.size());
  for (const BatchRow& row : sampled.rows) {
    local.samples.push_back(training_sample(row.experience, row.weight));
    local.worlds.push_back(row.experience.world);
  }
  local.first_row = sampled.first_row;
  local.total_rows = collectives.sum(static_cast<std::int64_t>(sampled.rows.size()));
  if (config.ppo.normalize_advantages) normalize_advantages(local.samples, collectives);
  return local;
}

void put_batch_statistics(const BatchStatistics& batch, IterationMetrics& m) {
  m.batch_crisis_share = batch.crisis_share;
  m.batch_crisis_truth_share = batch.crisis_truth_share;
  m.weight_mean = batch.weight_mean;
  m.weight_std = batch.weight_std;
  m.weight_min = batch.weight_min;
  m.weight_max = batch.weight_max;
  m.effective_sample_size = batch.effective_sample_size;
  m.weighted_reward_mean = batch.weighted_reward_mean;
}

void put_update_statistics(const PpoStats& stats, IterationMetrics& m) {
  m.policy_loss = stats.policy_loss;
  m.value_loss = stats.value_loss;
  m.entropy = stats.entropy;
  m.approx_kl = stats.approx_kl;
  m.clip_fraction = stats.clip_fraction;
  m.learning_rate = stats.learning_rate;
  m.epochs = static_cast<double>(stats.epochs);
  m.grad_norm = stats.grad_norm;
  m.explained_variance = stats.explained_variance;
}

}  // namespace

TrainPart::TrainPart(const JobConfig& config, const PolicyModel& model)
    : config_(config), model_(model), trainer_(model, config.ppo, initial_parameters(config, model)) {
  parameters_ = trainer_.export_parameters();
}

void TrainPart::run(int iteration, const SampledBatch& sampled, TimedCollectives& collectives,
                    IterationMetrics& metrics, RuntimeMetrics& runtime) {
  put_batch_statistics(summarize_batch(sampled.rows, collectives), metrics);
  const LocalBatch local = local_batch(config_, sampled, collectives);
  const double collective_before = collectives.seconds();
  const PpoStats stats = trainer_.update(local, config_.run.seed, static_cast<std::uint32_t>(iteration + 1),
                                         collectives, learning_rate_at(config_.ppo, iteration, config_.run.iterations));
  const UpdateTiming& timing = trainer_.last_timing();
  runtime.update_compute_seconds = timing.compute_seconds;
  runtime.update_reduce_seconds = timing.combine_seconds;
  runtime.serial_seconds += std::max(0.0, timing.combine_seconds - (collectives.seconds() - collective_before));
  put_update_statistics(stats, metrics);
  parameters_ = trainer_.export_parameters();
  metrics.policy_log_std = parameters_[static_cast<std::size_t>(model_.log_std_index())];
}

void TrainPart::restore(const std::vector<double>& parameters, std::span<const double> optimizer_state) {
  trainer_.import_parameters(parameters);
  trainer_.import_optimizer_state(optimizer_state);
  parameters_ = parameters;
}

}  // namespace manyworlds
