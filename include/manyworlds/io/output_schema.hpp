// The output file's schema: every batch field, per-iteration metric and per-world statistic, with type, unit and
// meaning.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "manyworlds/io/hdf5.hpp"
#include "manyworlds/sampling/sampler.hpp"
#include "manyworlds/world/world.hpp"

namespace manyworlds {

inline constexpr const char* output_format_name = "manyworlds";
// Bumped when a dataset is renamed, removed or changes meaning; additions keep the version.
inline constexpr std::int64_t output_format_version = 2;
// A file holding only a /policy group (as an offline learner writes it), readable by `manyworlds evaluate`.
inline constexpr const char* policy_format_name = "manyworlds-policy";
inline constexpr std::int64_t policy_format_version = 1;

// Rank 0's deterministic summary of one iteration (the /metrics group).
struct IterationMetrics {
  double episodes = 0, queries = 0, decisions = 0, impressions = 0, clicks = 0, conversions = 0;
  double crisis_conversions = 0, spend = 0, conversion_value = 0, crisis_value = 0, reward = 0;
  double mean_episode_return = 0, roas = 0, ctr = 0, cvr = 0;
  double natural_crisis_share = 0, natural_crisis_truth_share = 0, predicted_crisis_share = 0;
  double batch_crisis_share = 0, batch_crisis_truth_share = 0;
  double weight_mean = 0, weight_std = 0, weight_min = 0, weight_max = 0, max_possible_weight = 0;
  double effective_sample_size = 0, beta = 0, identification_precision = 0, identification_recall = 0;
  double weighted_reward_mean = 0, population_reward_mean = 0;
  double policy_loss = 0, value_loss = 0, entropy = 0, approx_kl = 0, clip_fraction = 0;
  double grad_norm = 0, explained_variance = 0, policy_log_std = 0, mean_log_bid_multiplier = 0;
  double learning_rate = 0, epochs = 0;
};

// Wall-clock and transport figures of one iteration (the /runtime group): they depend on the
// machine and the rank count, so they are kept apart from the deterministic data. Phase times are
// rank 0's wall clock unless said otherwise.
struct RuntimeMetrics {
  double iteration_seconds = 0, simulate_seconds = 0, classify_seconds = 0, sample_seconds = 0;
  double write_seconds = 0, update_seconds = 0, evaluate_seconds = 0;
  double simulate_mean_seconds = 0;   // mean over ranks of their own simulation time
  double simulate_imbalance = 0;      // slowest rank's simulation time / mean
  double wait_seconds = 0;            // mean over ranks of the wait for the slowest one after simulating
  double update_compute_seconds = 0;  // gradients of rank 0's own rows
  double update_reduce_seconds = 0;   // exact reductions (with waiting), clipping, Adam
  double collective_seconds = 0;      // inside collective operations, all phases
  double collective_calls = 0;        // collective operations of the iteration
  double serial_seconds = 0;          // work that does not shrink with more ranks (see docs/scaling.md)
  double balance_seconds = 0;         // re-partitioning the worlds by measured cost
  double partition_changes = 0;       // 1 if the worlds were re-partitioned after this iteration
  double bytes_moved = 0;             // payload bytes between ranks this iteration (all ranks, each counted once)
  double max_rank_bytes_moved = 0;    // largest sent + received payload of any rank
  double decisions_per_second = 0;    // over all ranks
  double max_rank_experiences = 0;    // largest experience buffer of any rank
  double batch_writes_collective =
      0;                           // 1 if every batch write used collective MPI-IO (H5Pget_mpio_no_collective_cause)
  double max_rank_rss_bytes = 0;   // peak resident memory of the largest rank so far
  double min_rank_rss_bytes = 0;   // ... of the smallest rank
  double root_rss_bytes = 0;       // ... of rank 0
  double batch_bytes = 0;          // uncompressed bytes of the iteration's batch rows
  double batch_write_seconds = 0;  // writing the batch datasets
};

// The element type of every /metrics, /runtime and /worlds/stats dataset (their fields are doubles).
inline constexpr h5::ElementType metric_element_type = h5::ElementType::float64;

template <class Record>
struct Field {
  const char* name;
  const char* unit;
  const char* description;
  double Record::*member;
};

const std::vector<Field<IterationMetrics>>& iteration_metric_fields();
const std::vector<Field<RuntimeMetrics>>& runtime_metric_fields();

// Per-world, per-iteration statistics (the /worlds/stats group), summed over the iteration's episodes.
struct WorldStatField {
  const char* name;
  const char* unit;
  const char* description;
  double (*value)(const EpisodeStats&);
};
const std::vector<WorldStatField>& world_stat_fields();

// One rank's batch rows of an iteration as one contiguous column per /batches dataset, filled in
// one pass over the rows (a pass per field would read every row some thirty times). Kept between
// iterations, so that its memory is allocated and faulted in once.
struct BatchColumns {
  std::vector<std::int32_t> world, episode, step;
  std::vector<std::uint8_t> world_type, segment, device, query_type, creative, slot, event_type;
  std::vector<std::uint8_t> crisis_truth, done, clicked, converted;
  std::vector<std::uint32_t> tags;
  std::vector<float> obs, next_obs;
  std::vector<float> log_bid_multiplier, log_prob, value_estimate;
  std::vector<float> behaviour_bid_mean, behaviour_log_std, behaviour_creative_log_prob;
  std::vector<float> reward, expected_reward, expected_cost, advantage;
  std::vector<float> value_target, conversion_value, cost, bid, time_hours;
  std::vector<double> probability, weight;

  // The behaviour policy at each row: its Gaussian mean and log std of the log bid multiplier and
  // the log-probability of every creative ([row][creative]).
  struct Behaviour {
    std::span<const float> bid_mean;
    float log_std = 0;
    std::span<const float> creative_log_prob;
  };
  void fill(std::span<const BatchRow> rows, const Behaviour& behaviour);
};

// Where a /batches dataset's values are in BatchColumns; its alternative fixes the element type.
using BatchColumn = std::variant<std::vector<std::int32_t> BatchColumns::*, std::vector<std::uint8_t> BatchColumns::*,
                                 std::vector<std::uint32_t> BatchColumns::*, std::vector<float> BatchColumns::*,
                                 std::vector<double> BatchColumns::*>;

// Values per row of a batch field: 0 (a scalar), a fixed count, or one per creative of the policy.
inline constexpr std::uint64_t per_creative = ~std::uint64_t{0};

// One /batches dataset: axes (iteration, row) for scalars, (iteration, row, width) otherwise.
struct BatchField {
  const char* name;
  const char* unit;
  const char* description;
  BatchColumn column;
  std::uint64_t width;  // 0: one value per row; per_creative: one per creative of the policy

  h5::ElementType type() const;
  // The extent of the third axis (0: none) for a policy with `creatives` creatives.
  std::uint64_t inner_width(int creatives) const;
};
// In the order the datasets are created and written.
const std::vector<BatchField>& batch_fields();

// Uncompressed bytes of one batch row (every /batches dataset) for a policy with `creatives` creatives.
double batch_row_bytes(int creatives);
// Bytes one iteration adds to /metrics and /runtime together, and to /worlds/stats for `worlds` worlds.
double metric_bytes_per_iteration();
double world_stat_bytes_per_iteration(std::int64_t worlds);

}  // namespace manyworlds
