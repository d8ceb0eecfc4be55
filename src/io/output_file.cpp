// Creating and appending to the run's output file, collectively, per docs/output-format.md.
#include "manyworlds/io/output_file.hpp"

#include "manyworlds/io/job_attributes.hpp"
#include "manyworlds/io/world_parameters.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <tuple>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/parallel/mpi_error.hpp"

namespace manyworlds {

namespace {

using h5::Dims;
using h5::unlimited;

// Rows per chunk of a compressed batch dataset (uncompressed ones hold one iteration per chunk).
constexpr std::uint64_t compressed_chunk_rows = 65536;
// Rows per chunk of the metrics and runtime datasets (one double per iteration each).
constexpr std::uint64_t metric_chunk_rows = 1024;

// Every batch field of the rank's rows as one contiguous column each, filled in one pass over the
// rows (a pass per field would read every row some thirty times). Kept between iterations, so
// that its memory is allocated and faulted in once.
struct BatchColumns {
  std::vector<std::int32_t> world, episode, step;
  std::vector<std::uint8_t> world_type, segment, device, query_type, creative, slot, event_type;
  std::vector<std::uint8_t> crisis_truth, done, clicked, converted;
  std::vector<std::uint32_t> tags;
  std::vector<float> obs, next_obs;
  std::vector<float> log_bid_multiplier, log_prob, value_estimate, reward, expected_reward, expected_cost, advantage;
  std::vector<float> value_target, conversion_value, cost, bid, time_hours;
  std::vector<double> probability, weight;

  void fill(std::span<const BatchRow> rows) {
    clear();
    reserve(rows.size());
    for (const BatchRow& row : rows) {
      const Experience& e = row.experience;
      world.push_back(e.world);
      episode.push_back(e.episode);
      step.push_back(e.step);
      world_type.push_back(e.world_type);
      segment.push_back(e.segment);
      device.push_back(e.device);
      query_type.push_back(e.query_type);
      creative.push_back(e.creative);
      slot.push_back(e.slot);
      event_type.push_back(e.event_type);
      crisis_truth.push_back((e.flags & flag_crisis_truth) != 0 ? 1 : 0);
      done.push_back((e.flags & flag_done) != 0 ? 1 : 0);
      clicked.push_back((e.flags & flag_clicked) != 0 ? 1 : 0);
      converted.push_back((e.flags & flag_converted) != 0 ? 1 : 0);
      tags.push_back(e.tags);
      obs.insert(obs.end(), e.obs.begin(), e.obs.end());
      next_obs.insert(next_obs.end(), row.next_obs.begin(), row.next_obs.end());
      log_bid_multiplier.push_back(e.log_bid_multiplier);
      log_prob.push_back(e.log_prob);
      value_estimate.push_back(e.value_estimate);
      reward.push_back(e.conversion_value - e.cost);
      expected_reward.push_back(e.expected_reward);
      expected_cost.push_back(e.expected_cost);
      advantage.push_back(e.advantage);
      value_target.push_back(e.value_target);
      conversion_value.push_back(e.conversion_value);
      cost.push_back(e.cost);
      bid.push_back(e.bid);
      time_hours.push_back(e.time_hours);
      probability.push_back(row.probability);
      weight.push_back(row.weight);
    }
  }

 private:
  void clear() {
    for (auto* column : {&world, &episode, &step}) column->clear();
    for (auto* column : {&world_type, &segment, &device, &query_type, &creative, &slot, &event_type, &crisis_truth,
                         &done, &clicked, &converted})
      column->clear();
    tags.clear();
    obs.clear();
    next_obs.clear();
    for (auto* column : {&log_bid_multiplier, &log_prob, &value_estimate, &reward, &expected_reward, &expected_cost,
                         &advantage, &value_target, &conversion_value, &cost, &bid, &time_hours})
      column->clear();
    probability.clear();
    weight.clear();
  }

  void reserve(std::size_t count) {
    for (auto* column : {&world, &episode, &step}) column->reserve(count);
    for (auto* column : {&world_type, &segment, &device, &query_type, &creative, &slot, &event_type, &crisis_truth,
                         &done, &clicked, &converted})
      column->reserve(count);
    tags.reserve(count);
    obs.reserve(count * obs_dim);
    next_obs.reserve(count * obs_dim);
    for (auto* column : {&log_bid_multiplier, &log_prob, &value_estimate, &reward, &expected_reward, &expected_cost,
                         &advantage, &value_target, &conversion_value, &cost, &bid, &time_hours})
      column->reserve(count);
    probability.reserve(count);
    weight.reserve(count);
  }
};

struct BatchField {
  const char* name;
  const char* unit;
  const char* description;
  h5::ElementType type;
  std::uint64_t width;  // 0: one value per row; per_creative: one per creative of the policy
};
constexpr std::uint64_t per_creative = ~std::uint64_t{0};
const std::vector<BatchField>& batch_fields() {
static const std::vector<BatchField> fields{
    {"world", "1", "world id", h5::ElementType::int32, 0},
    {"episode", "1", "episode index of the world", h5::ElementType::int32, 0},
    {"step", "1", "decision index in the episode", h5::ElementType::int32, 0},
    {"world_type", "1", "world type index (see /world_type_names)", h5::ElementType::uint8, 0},
    {"segment", "1", "user segment index, ground truth (see /segment_names)", h5::ElementType::uint8, 0},
    {"device", "1", "device index (see /device_names)", h5::ElementType::uint8, 0},
    {"query_type", "1", "query type index (see /query_type_names)", h5::ElementType::uint8, 0},
    {"creative", "1", "creative chosen (action, discrete)", h5::ElementType::uint8, 0},
    {"slot", "1", "ad slot won, 1-based; 0 = not shown", h5::ElementType::uint8, 0},
    {"event_type", "1", "0 regular, 1 crisis (as typed before sampling)", h5::ElementType::uint8, 0},
    {"crisis_truth", "1", "1 if the user is in the crisis segment", h5::ElementType::uint8, 0},
    {"done", "1", "1 on the last decision of the episode", h5::ElementType::uint8, 0},
    {"clicked", "1", "1 if the ad was clicked", h5::ElementType::uint8, 0},
    {"converted", "1", "1 if the click converted within the attribution window", h5::ElementType::uint8, 0},
    {"tags", "1", "bit set of metadata tags (bit t = /tag_names[t])", h5::ElementType::uint32, 0},
    {"obs", "1", "observation (layout in docs/world-model.md)", h5::ElementType::float32, obs_dim},
    {"next_obs", "1", "observation of the next step (zeros when done)", h5::ElementType::float32, obs_dim},
    {"log_bid_multiplier", "1", "action: bid = reference_bid * exp(this)", h5::ElementType::float32, 0},
    {"log_prob", "nats", "log-probability of the action under the behaviour policy", h5::ElementType::float32, 0},
    {"value_estimate", "1", "behaviour value estimate (scaled reward units)", h5::ElementType::float32, 0},
    {"behaviour_bid_mean", "1", "behaviour policy's Gaussian mean of the log bid multiplier (before clamping)", h5::ElementType::float32, 0},
    {"behaviour_log_std", "1", "behaviour policy's log standard deviation of the log bid multiplier", h5::ElementType::float32, 0},
    {"behaviour_creative_log_prob", "nats", "behaviour policy's log-probability of each creative", h5::ElementType::float32, per_creative},
    {"reward", "currency", "realized reward: attributed conversion value minus cost", h5::ElementType::float32, 0},
    {"expected_reward", "currency", "expected conversion value minus expected cost given the auction's slot and price", h5::ElementType::float32, 0},
    {"expected_cost", "currency", "expected cost given the auction's slot and price (click-through x price)", h5::ElementType::float32, 0},
    {"advantage", "1", "GAE advantage (scaled reward units)", h5::ElementType::float32, 0},
    {"value_target", "1", "value target = advantage + value_estimate", h5::ElementType::float32, 0},
    {"conversion_value", "currency", "attributed conversion value", h5::ElementType::float32, 0},
    {"cost", "currency", "price paid for a click", h5::ElementType::float32, 0},
    {"bid", "currency", "bid placed", h5::ElementType::float32, 0},
    {"time_hours", "hours", "time of the decision since the episode started", h5::ElementType::float32, 0},
    {"probability", "1", "per-draw selection probability (without replacement: inclusion probability)", h5::ElementType::float64, 0},
    {"weight", "1", "importance weight", h5::ElementType::float64, 0},
  };
  return fields;
}

}  // namespace

// Open handles of the growable datasets, kept for the whole run.
struct OutputFile::Datasets {
  std::map<std::string, h5::Dataset> metrics;
  std::map<std::string, h5::Dataset> runtime;
  std::map<std::string, h5::Dataset> world_stats;
  std::map<std::string, h5::Dataset> batches;
  std::optional<ValidationDatasets> validation;
  std::optional<h5::Dataset> policy_history;
  BatchColumns columns;
};

OutputFile::OutputFile(h5::File file, std::unique_ptr<Datasets> datasets, bool root, OutputLayout layout)
    : file_(std::move(file)), datasets_(std::move(datasets)), root_(root), layout_(std::move(layout)) {}
OutputFile::OutputFile(OutputFile&&) noexcept = default;
OutputFile& OutputFile::operator=(OutputFile&&) noexcept = default;
OutputFile::~OutputFile() = default;

OutputFile OutputFile::create(const std::string& path, MPI_Comm comm, const JobConfig& job, const Priors& priors,
                              const OutputLayout& layout) {
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  h5::File file = h5::File::create_parallel(path, comm, h5::MetadataWrites::at_flush);
  const h5::Group root = file.root();
  write_job_attributes(root, output_format_name, output_format_version, job, priors);
  root.write_attribute("worlds", layout.worlds);
  root.write_attribute("validation_worlds", layout.validation_worlds);
  root.write_attribute("test_worlds", layout.test_worlds);
  root.write_attribute("iterations_planned", static_cast<std::int64_t>(job.run.iterations));
  root.write_attribute("episodes_per_iteration", static_cast<std::int64_t>(job.run.episodes_per_iteration));
  root.write_attribute("horizon_days", job.world.horizon_days);
  root.write_attribute("batch_size", layout.batch_size);
  root.write_attribute("sampling_mode", to_string(job.sampling.mode));
  root.write_attribute("crisis_weight", job.sampling.crisis_weight);
  root.write_attribute("alpha", job.sampling.alpha);

  auto datasets = std::make_unique<Datasets>();
  const auto growable = [](std::uint64_t rows_per_chunk, Dims inner) {
    h5::DatasetOptions options;
    options.max_dims = {unlimited};
    options.chunk = {rows_per_chunk};
    for (std::uint64_t extent : inner) {
      options.max_dims.push_back(extent);
      options.chunk.push_back(extent);
    }
    return options;
  };
  const auto with_inner = [](Dims inner) {
    Dims dims{0};
    dims.insert(dims.end(), inner.begin(), inner.end());
    return dims;
  };

  const h5::Group metrics = root.create_group("metrics");
  metrics.write_attribute("description", "per-iteration summary computed on rank 0; axis 0 = iteration");
  for (const auto& field : iteration_metric_fields()) {
    h5::Dataset dataset = metrics.create_dataset<double>(field.name, {0}, growable(metric_chunk_rows, {}));
    dataset.set_units(field.unit);
    dataset.write_attribute("description", field.description);
    datasets->metrics.emplace(field.name, std::move(dataset));
  }
  const h5::Group runtime = root.create_group("runtime");
  runtime.write_attribute("description",
                          "wall-clock and transport figures: machine- and rank-count-dependent, excluded "
                          "from reproducibility comparisons; axis 0 = iteration");
  runtime.write_attribute("ranks", static_cast<std::int64_t>(layout.ranks));
  for (const auto& field : runtime_metric_fields()) {
    h5::Dataset dataset = runtime.create_dataset<double>(field.name, {0}, growable(metric_chunk_rows, {}));
    dataset.set_units(field.unit);
    dataset.write_attribute("description", field.description);
    datasets->runtime.emplace(field.name, std::move(dataset));
  }

  const auto worlds = static_cast<std::uint64_t>(layout.worlds);
  const h5::Group world_stats = root.create_group("worlds/stats");
  world_stats.write_attribute("description", "per-world statistics of each iteration; axes (iteration, world)");
  for (const auto& field : world_stat_fields()) {
    h5::Dataset dataset = world_stats.create_dataset<double>(field.name, with_inner({worlds}),
                                                              growable(1, {worlds}));
    dataset.set_units(field.unit);
    dataset.write_attribute("description", field.description);
    datasets->world_stats.emplace(field.name, std::move(dataset));
  }

  const auto batch = static_cast<std::uint64_t>(layout.batch_size);
  const h5::Group batches = root.create_group("batches");
  batches.write_attribute("description",
                          "importance-sampled training batches; axes (iteration, row[, feature]); rows ordered "
                          "by (world, episode, step); weighted means use (1/B) sum weight * x");
  // What an offline learner needs to recompute advantages and ratios from the rows alone.
  batches.write_attribute("reward_mode", to_string(job.world.reward));
  batches.write_attribute("gamma", job.ppo.gamma);
  batches.write_attribute("gae_lambda", job.ppo.gae_lambda);
  batches.write_attribute("reward_scale", job.ppo.reward_scale);
  batches.write_attribute("lagrangian", static_cast<std::int64_t>(job.ppo.lagrangian ? 1 : 0));
  batches.write_attribute("budget_price", job.ppo.budget_price);
  batches.write_attribute("ppo_clip", job.ppo.clip);
  batches.write_attribute("max_abs_log_multiplier", job.policy.max_abs_log_multiplier);
  batches.write_attribute("bid_prior", to_string(job.policy.bid_prior));
  batches.write_attribute("prior_offset", job.policy.prior_offset);
  for (const BatchField& field : batch_fields()) {
    const std::uint64_t width = field.width == per_creative ? static_cast<std::uint64_t>(layout.creatives) : field.width;
    const Dims inner = width == 0 ? Dims{batch} : Dims{batch, width};
    h5::DatasetOptions options = growable(1, inner);
    options.deflate = job.run.batch_deflate;
    options.written_whole = true;  // every iteration writes all B rows
    // Parallel HDF5 compresses each chunk on one rank: chunks of at most compressed_chunk_rows
    // rows let the ranks compress their own rows side by side.
    if (options.deflate > 0) options.chunk[1] = std::min(batch, compressed_chunk_rows);
    h5::Dataset dataset = [&] {
      switch (field.type) {
        case h5::ElementType::int32: return batches.create_dataset<std::int32_t>(field.name, with_inner(inner), options);
        case h5::ElementType::uint8: return batches.create_dataset<std::uint8_t>(field.name, with_inner(inner), options);
        case h5::ElementType::uint32: return batches.create_dataset<std::uint32_t>(field.name, with_inner(inner), options);
        case h5::ElementType::float32: return batches.create_dataset<float>(field.name, with_inner(inner), options);
        default: return batches.create_dataset<double>(field.name, with_inner(inner), options);
      }
    }();
    dataset.set_units(field.unit);
    dataset.write_attribute("description", field.description);
    datasets->batches.emplace(field.name, std::move(dataset));
  }

  datasets->validation.emplace(ValidationDatasets::create(root, job, layout.validation_worlds, layout.policy_parameters,
                                                         layout.evaluation_strategies));

  const h5::Group policy = root.create_group("policy");
  policy.write_attribute("hidden", std::vector<std::int64_t>(layout.policy_hidden.begin(), layout.policy_hidden.end()));
  policy.write_attribute("value_hidden", std::vector<std::int64_t>(layout.value_hidden.begin(), layout.value_hidden.end()));
  policy.write_attribute("creatives", static_cast<std::int64_t>(priors.creatives));
  policy.write_attribute("observation_size", static_cast<std::int64_t>(obs_dim));
  policy.write_attribute("max_abs_log_multiplier", job.policy.max_abs_log_multiplier);
  policy.write_attribute("description", "parameter layout in docs/learning.md");
  const auto parameters = static_cast<std::uint64_t>(layout.policy_parameters);
  h5::Dataset history = policy.create_dataset<double>("history", with_inner({parameters}), growable(1, {parameters}));
  history.set_units("1");
  history.write_attribute("description", "the behaviour policy of each iteration (the parameters it simulated with); axes (iteration, parameter)");
  datasets->policy_history.emplace(std::move(history));

  OutputFile output(std::move(file), std::move(datasets), rank == 0, layout);
  output.comm_ = comm;
  return output;
}

OutputFile OutputFile::open(const std::string& path, MPI_Comm comm, const OutputLayout& layout) {
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  h5::File file = h5::File::open_parallel(path, comm, true, h5::MetadataWrites::at_flush);
  const h5::Group root = file.root();
  if (!root.has_attribute("format") || root.read_attribute<std::string>("format") != output_format_name ||
      root.read_attribute<std::int64_t>("format_version") != output_format_version)
    throw InputError(path + ": not a manyworlds output of format version " + std::to_string(output_format_version));
  auto datasets = std::make_unique<Datasets>();
  for (const auto& field : iteration_metric_fields())
    datasets->metrics.emplace(field.name, root.open_dataset(std::string("metrics/") + field.name));
  for (const auto& field : runtime_metric_fields())
    datasets->runtime.emplace(field.name, root.open_dataset(std::string("runtime/") + field.name));
  for (const auto& field : world_stat_fields())
    datasets->world_stats.emplace(field.name, root.open_dataset(std::string("worlds/stats/") + field.name));
  for (const BatchField& field : batch_fields())
    datasets->batches.emplace(field.name, root.open_dataset(std::string("batches/") + field.name));
  datasets->validation.emplace(ValidationDatasets::open(root));
  datasets->policy_history.emplace(root.open_dataset("policy/history"));
  root.open_group("runtime").write_attribute("ranks", static_cast<std::int64_t>(layout.ranks));
  OutputFile output(std::move(file), std::move(datasets), rank == 0, layout);
  output.comm_ = comm;
  return output;
}

void OutputFile::write_worlds(const Priors& priors, std::int64_t first_world, std::span<const WorldParams> local) {
  write_world_parameters(file_.root(), comm_, priors, "worlds/parameters", layout_.worlds, first_world, local);
}

void OutputFile::write_evaluation_worlds(const Priors& priors, std::int64_t first_validation,
                                         std::span<const WorldParams> validation, std::int64_t first_test,
                                         std::span<const WorldParams> test) {
  write_world_parameters(file_.root(), comm_, priors, "validation_worlds/parameters", layout_.validation_worlds,
                         first_validation, validation);
  write_world_parameters(file_.root(), comm_, priors, "test_worlds/parameters", layout_.test_worlds, first_test, test);
}

void OutputFile::append_iteration(const IterationRecord& record) {
  const auto iteration = static_cast<std::uint64_t>(record.iteration);
  const std::uint64_t rows = iteration + 1;

  // Rank 0's scalars: one element on rank 0, none elsewhere.
  const std::uint64_t mine = root_ ? 1 : 0;
  for (const auto& field : iteration_metric_fields()) {
    const h5::Dataset& dataset = datasets_->metrics.at(field.name);
    dataset.extend_rows(rows);
    const double value = record.metrics.*field.member;
    dataset.write_rows<double>(iteration, mine, &value);
  }
  datasets_->policy_history->extend_rows(rows);
  datasets_->policy_history->write_rows_at<double>({iteration, 0}, {mine, static_cast<std::uint64_t>(layout_.policy_parameters)},
                                                   record.policy_parameters.data());
  const auto first_world = static_cast<std::uint64_t>(record.first_world);
  const auto local_worlds = static_cast<std::uint64_t>(record.world_stats.size());
  for (const auto& field : world_stat_fields()) {
    std::vector<double> values;
    values.reserve(record.world_stats.size());
    for (const EpisodeStats& stats : record.world_stats) values.push_back(field.value(stats));
    const h5::Dataset& dataset = datasets_->world_stats.at(field.name);
    dataset.extend_rows(rows);
    dataset.write_rows_at<double>({iteration, first_world}, {1, local_worlds}, std::span<const double>(values));
  }

  const auto batch_start = std::chrono::steady_clock::now();
  const std::span<const BatchRow> batch = record.rows;
  const auto first_row = static_cast<std::uint64_t>(record.first_row);
  const auto count = static_cast<std::uint64_t>(batch.size());
  batch_writes_collective_ = true;
  const auto write = [&](const std::string& name, const auto& values, std::uint64_t width) {
    using T = typename std::decay_t<decltype(values)>::value_type;
    const h5::Dataset& dataset = datasets_->batches.at(name);
    dataset.extend_rows(rows);
    const Dims start = width == 0 ? Dims{iteration, first_row} : Dims{iteration, first_row, 0};
    const Dims extent = width == 0 ? Dims{1, count} : Dims{1, count, width};
    batch_writes_collective_ = batch_writes_collective_ && dataset.write_rows_at<T>(start, extent, std::span<const T>(values)).collective();
  };
  BatchColumns& columns = datasets_->columns;
  columns.fill(batch);
  write("world", columns.world, 0);
  write("episode", columns.episode, 0);
  write("step", columns.step, 0);
  write("world_type", columns.world_type, 0);
  write("segment", columns.segment, 0);
  write("device", columns.device, 0);
  write("query_type", columns.query_type, 0);
  write("creative", columns.creative, 0);
  write("slot", columns.slot, 0);
  write("event_type", columns.event_type, 0);
  write("crisis_truth", columns.crisis_truth, 0);
  write("done", columns.done, 0);
  write("clicked", columns.clicked, 0);
  write("converted", columns.converted, 0);
  write("tags", columns.tags, 0);
  write("obs", columns.obs, obs_dim);
  write("next_obs", columns.next_obs, obs_dim);
  write("log_bid_multiplier", columns.log_bid_multiplier, 0);
  write("log_prob", columns.log_prob, 0);
  write("value_estimate", columns.value_estimate, 0);
  write("behaviour_bid_mean", std::vector<float>(record.behaviour_bid_mean.begin(), record.behaviour_bid_mean.end()), 0);
  write("behaviour_log_std", std::vector<float>(batch.size(), record.behaviour_log_std), 0);
  write("behaviour_creative_log_prob",
        std::vector<float>(record.behaviour_creative_log_prob.begin(), record.behaviour_creative_log_prob.end()),
        static_cast<std::uint64_t>(layout_.creatives));
  write("reward", columns.reward, 0);
  write("expected_reward", columns.expected_reward, 0);
  write("expected_cost", columns.expected_cost, 0);
  write("advantage", columns.advantage, 0);
  write("value_target", columns.value_target, 0);
  write("conversion_value", columns.conversion_value, 0);
  write("cost", columns.cost, 0);
  write("bid", columns.bid, 0);
  write("time_hours", columns.time_hours, 0);
  write("probability", columns.probability, 0);
  write("weight", columns.weight, 0);
  last_batch_write_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - batch_start).count();
}

double OutputFile::batch_bytes_per_iteration() const {
  double row_bytes = 0;
  for (const BatchField& field : batch_fields()) {
    const std::uint64_t width = field.width == per_creative ? static_cast<std::uint64_t>(layout_.creatives) : field.width;
    row_bytes += static_cast<double>(h5::element_size(field.type) * std::max<std::uint64_t>(width, 1));
  }
  return row_bytes * static_cast<double>(layout_.batch_size);
}

double OutputFile::append_bytes_upper_bound(bool with_validation_round) const {
  const auto real = [](auto n) { return static_cast<double>(n); };
  const double parameters = real(layout_.policy_parameters);
  double bytes = batch_bytes_per_iteration() +                                     // one iteration per chunk
                 real(world_stat_fields().size()) * real(layout_.worlds) * 8.0 +   // one chunk of all worlds
                 parameters * 8.0 +                                                // /policy/history
                 real(iteration_metric_fields().size() + runtime_metric_fields().size()) *
                     real(metric_chunk_rows) * 8.0;  // a new chunk every metric_chunk_rows iterations: always counted
  if (with_validation_round) bytes += (5.0 + real(layout_.validation_worlds) + parameters) * 8.0;
  return bytes;
}

double OutputFile::finish_bytes_upper_bound(int world_types) const {
  const auto real = [](auto n) { return static_cast<double>(n); };
  const double strategies = real(layout_.evaluation_strategies.size());
  const double test_worlds = real(layout_.test_worlds);
  return (strategies * test_worlds * (real(world_stat_fields().size()) + 2.0) + 2.0 * test_worlds +
          strategies * (12.0 + 3.0 * world_types) + 2.0 * real(layout_.policy_parameters)) *
         8.0;
}

void OutputFile::append_runtime(int iteration, const RuntimeMetrics& runtime) {
  const auto row = static_cast<std::uint64_t>(iteration);
  const std::uint64_t mine = root_ ? 1 : 0;
  for (const auto& field : runtime_metric_fields()) {
    const h5::Dataset& dataset = datasets_->runtime.at(field.name);
    dataset.extend_rows(row + 1);
    const double value = runtime.*field.member;
    dataset.write_rows<double>(row, mine, &value);
  }
}

void OutputFile::write_validation_references(const ValidationReferences& references) {
  manyworlds::write_validation_references(file_.root(), references, layout_.validation_worlds, root_);
}

void OutputFile::append_validation(const ValidationRound& round) { datasets_->validation->append(round, root_); }

void OutputFile::write_test(const TestResults& results, int world_types) {
  write_test_results(file_.root().open_group("evaluation"), results, layout_.test_worlds, world_types, root_);
}

void OutputFile::write_final_policy(const std::vector<double>& reported, const std::vector<double>& final_parameters,
                                    int selected_iteration) {
  const auto count = static_cast<std::uint64_t>(layout_.policy_parameters);
  const h5::Group policy = file_.root().open_group("policy");
  policy.write_attribute("selected_iteration", static_cast<std::int64_t>(selected_iteration));
  for (const auto& [name, values, description] :
       {std::tuple{"parameters", &reported,
                   "the reported policy: the snapshot with the best validation score (layout in docs/learning.md)"},
        std::tuple{"final_parameters", &final_parameters, "the policy after the last iteration"}}) {
    const h5::Dataset dataset = policy.create_dataset<double>(name, {count});
    dataset.write_rows<double>(0, root_ ? count : 0, values->data());
    dataset.set_units("1");
    dataset.write_attribute("description", description);
  }
}

void OutputFile::close() {
  datasets_.reset();
  file_.flush();
  file_.close();
}

}  // namespace manyworlds
