// Size estimates shown by `manyworlds validate`.
#include "manyworlds/app/estimate.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "manyworlds/core/partition.hpp"
#include "manyworlds/io/checkpoint.hpp"
#include "manyworlds/io/output_schema.hpp"
#include "manyworlds/learn/evaluation.hpp"
#include "manyworlds/learn/policy_model.hpp"
#include "manyworlds/sampling/sampler.hpp"
#include "manyworlds/world/world.hpp"

namespace manyworlds {

namespace {

constexpr double world_state_bytes_per_user = sizeof(User) + std::size_t{16} * 2;
// A world keeps its episode's query schedule, twice (as drawn and sorted), after the episode ends.
constexpr double world_state_bytes_per_query = 2.0 * 16.0;
// HDF5's own bytes per dataset: object header, attributes, chunk index (measured: the quickstart output is
// about 1.1 MB larger than its row, metric and parameter bytes, for about 300 datasets).
constexpr double hdf5_bytes_per_dataset = 4096;

// The validation, test and tuning worlds a rank holds (each with its episode's state once it has run), at the
// training worlds' mean size: the test worlds, run last, are the largest share for big test sets.
double evaluation_world_bytes(const JobConfig& config, int ranks, double total_queries,
                              const std::vector<double>& users) {
  const auto per_rank = [&](std::int64_t worlds) {  // the busiest rank's share: ceil(worlds / ranks)
    const std::int64_t busiest = (worlds + ranks - 1) / ranks;
    return static_cast<double>(busiest);
  };
  const double worlds_per_rank = per_rank(config.evaluation.validation_worlds) +
                                 per_rank(config.evaluation.test_worlds) +
                                 per_rank(std::min(config.evaluation.tuning_worlds, config.run.worlds));
  double total_users = 0;
  for (double count : users) total_users += count;
  const double training_worlds = static_cast<double>(users.size());
  return worlds_per_rank * (total_queries * world_state_bytes_per_query + total_users * world_state_bytes_per_user) /
         training_worlds;
}

}  // namespace

double expected_experiences(const Job& job, const IdRange& worlds) {
  double queries = 0;
  for (std::int64_t w = worlds.begin; w < worlds.end; ++w) {
    const WorldParams world = draw_world(job.priors, job.config.run.seed, static_cast<std::uint32_t>(w));
    queries += expected_queries(job.priors, world, job.config.world.horizon_days);
  }
  return queries * job.config.run.episodes_per_iteration;
}

std::string human_bytes(double bytes) {
  char text[32];
  if (bytes >= 1e9)
    std::snprintf(text, sizeof text, "%.2f GB", bytes / 1e9);
  else if (bytes >= 1e6)
    std::snprintf(text, sizeof text, "%.1f MB", bytes / 1e6);
  else if (bytes >= 1e3)
    std::snprintf(text, sizeof text, "%.1f kB", bytes / 1e3);
  else
    std::snprintf(text, sizeof text, "%.0f B", bytes);
  return text;
}

ResourceEstimate estimate_resources(const Job& job, int ranks) {
  const JobConfig& config = job.config;
  ResourceEstimate estimate;
  std::vector<double> queries;
  std::vector<double> users;
  for (std::int64_t w = 0; w < config.run.worlds; ++w) {
    const WorldParams world = draw_world(job.priors, config.run.seed, static_cast<std::uint32_t>(w));
    queries.push_back(expected_queries(job.priors, world, config.world.horizon_days));
    users.push_back(world.users);
  }
  // The run's first partition: contiguous blocks of balanced estimated cost.
  const std::vector<std::int64_t> bounds =
      balanced_bounds(queries, std::min<int>(ranks, static_cast<int>(queries.size())));
  double total_queries = 0;
  double largest_rank = 0;
  double largest_rank_users = 0;
  for (std::size_t part = 0; part + 1 < bounds.size(); ++part) {
    double rank_queries = 0;
    double rank_users = 0;
    for (std::int64_t w = bounds[part]; w < bounds[part + 1]; ++w) {
      rank_queries += queries[static_cast<std::size_t>(w)] * config.run.episodes_per_iteration;
      rank_users += users[static_cast<std::size_t>(w)];
      total_queries += queries[static_cast<std::size_t>(w)];
    }
    if (rank_queries > largest_rank) {
      largest_rank = rank_queries;
      largest_rank_users = rank_users;
    }
  }
  estimate.imbalance = imbalance_of(queries, bounds);
  estimate.decisions_per_episode = total_queries / static_cast<double>(config.run.worlds);
  estimate.experiences_per_rank = largest_rank;
  const PolicyModel model(config.policy, job.priors.creatives);
  const double experience_buffer = largest_rank * (sizeof(Experience) + 8.0 /* sampler score */);
  const double schedules = largest_rank / config.run.episodes_per_iteration * world_state_bytes_per_query;
  estimate.experiences_per_iteration = total_queries * config.run.episodes_per_iteration;
  // This rank's share of the batch: its rows, and the output's columns of them (an eighth of room kept).
  const double batch_rows =
      estimate.experiences_per_iteration > 0
          ? static_cast<double>(config.sampling.batch_size) * largest_rank / estimate.experiences_per_iteration
          : 0.0;
  const double batch_buffers = batch_rows * (sizeof(BatchRow) + 1.125 * batch_row_bytes(model.creatives()));
  estimate.memory_per_rank_bytes = process_base_bytes + experience_buffer + schedules + batch_buffers +
                                   largest_rank_users * world_state_bytes_per_user +
                                   evaluation_world_bytes(config, ranks, total_queries, users) +
                                   static_cast<double>(model.parameter_count()) * 8.0 * 4.0;
  const double iterations = config.run.iterations;
  const double worlds = static_cast<double>(config.run.worlds);
  const double evaluations = iterations / config.evaluation.every + 1;
  const double datasets = 500;  // generous: the output has about 300
  estimate.output_bytes =
      datasets * hdf5_bytes_per_dataset +
      iterations * (static_cast<double>(config.sampling.batch_size) * batch_row_bytes(model.creatives()) +
                    world_stat_bytes_per_iteration(config.run.worlds) + metric_bytes_per_iteration()) +
      evaluations *
          (static_cast<double>(config.evaluation.validation_worlds) + 8.0 +
           static_cast<double>(model.parameter_count())) *
          8.0 +
      static_cast<double>(config.evaluation.test_worlds) * static_cast<double>(test_strategy_names().size()) *
          (static_cast<double>(world_stat_fields().size()) + 2.0) * 8.0 +
      (worlds + static_cast<double>(config.evaluation.validation_worlds + config.evaluation.test_worlds)) * 600.0 +
      iterations * static_cast<double>(model.parameter_count()) * 8.0 +
      static_cast<double>(job.config.text.size() + job.priors.text.size());
  estimate.checkpoint_bytes = checkpoint_header_bytes + 16e3 +
                              2.0 * static_cast<double>(job.config.text.size() + job.priors.text.size()) +
                              static_cast<double>(model.parameter_count()) * 4 * 8 + datasets * 120;
  estimate.fits_buffer = largest_rank <= static_cast<double>(config.run.max_experiences_per_rank);
  return estimate;
}

}  // namespace manyworlds
