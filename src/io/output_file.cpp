// Creating and appending to the run's output file, collectively, per docs/output-format.md.
#include "manyworlds/io/output_file.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <tuple>
#include <type_traits>
#include <variant>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/io/job_attributes.hpp"
#include "manyworlds/io/world_parameters.hpp"
#include "manyworlds/parallel/mpi_error.hpp"

namespace manyworlds {

namespace {

using h5::Dims;
using h5::unlimited;

// Rows per chunk of a compressed batch dataset (uncompressed ones hold one iteration per chunk).
constexpr std::uint64_t compressed_chunk_rows = 65536;
// Rows per chunk of the metrics and runtime datasets (one double per iteration each).
constexpr std::uint64_t metric_chunk_rows = 1024;

// Options of a dataset that grows along axis 0 by `rows_per_chunk` rows per chunk; the other
// axes (`inner`) are fixed and whole in every chunk.
h5::DatasetOptions growable(std::uint64_t rows_per_chunk, const Dims& inner) {
  h5::DatasetOptions options;
  options.max_dims = {unlimited};
  options.chunk = {rows_per_chunk};
  for (std::uint64_t extent : inner) {
    options.max_dims.push_back(extent);
    options.chunk.push_back(extent);
  }
  return options;
}

// The extent of an empty growable dataset: 0 rows of `inner`.
Dims with_inner(const Dims& inner) {
  Dims dims{0};
  dims.insert(dims.end(), inner.begin(), inner.end());
  return dims;
}

// The root group's attributes: the job, its priors and the resolved run settings.
void write_run_attributes(const h5::Group& root, const JobConfig& job, const Priors& priors,
                          const OutputLayout& layout) {
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
}

// One empty float64 dataset per field of a schema table (metrics, runtime, world statistics), in
// the table's order, with its units and description.
template <class FieldTable>
std::map<std::string, h5::Dataset> create_described_datasets(const h5::Group& group, const FieldTable& fields,
                                                             const Dims& dims, const h5::DatasetOptions& options) {
  static_assert(metric_element_type == h5::element_type_of<double>());
  std::map<std::string, h5::Dataset> datasets;
  for (const auto& field : fields) {
    h5::Dataset dataset = group.create_dataset<double>(field.name, dims, options);
    dataset.set_units(field.unit);
    dataset.write_attribute("description", field.description);
    datasets.emplace(field.name, std::move(dataset));
  }
  return datasets;
}

// The /batches group: what an offline learner needs as attributes, one empty dataset per batch field.
std::vector<h5::Dataset> create_batch_datasets(const h5::Group& root, const JobConfig& job,
                                               const OutputLayout& layout) {
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
  std::vector<h5::Dataset> datasets;
  for (const BatchField& field : batch_fields()) {
    const std::uint64_t width = field.inner_width(layout.creatives);
    const Dims inner = width == 0 ? Dims{batch} : Dims{batch, width};
    h5::DatasetOptions options = growable(1, inner);
    options.deflate = job.run.batch_deflate;
    options.written_whole = true;  // every iteration writes all B rows
    // Parallel HDF5 compresses each chunk on one rank: chunks of at most compressed_chunk_rows
    // rows let the ranks compress their own rows side by side.
    if (options.deflate > 0) options.chunk[1] = std::min(batch, compressed_chunk_rows);
    h5::Dataset dataset = std::visit(
        [&](auto member) {
          using Column = std::remove_reference_t<decltype(std::declval<BatchColumns&>().*member)>;
          return batches.create_dataset<typename Column::value_type>(field.name, with_inner(inner), options);
        },
        field.column);
    dataset.set_units(field.unit);
    dataset.write_attribute("description", field.description);
    datasets.push_back(std::move(dataset));
  }
  return datasets;
}

// The /policy group with what `manyworlds evaluate --policy` needs to rebuild the policy; returns
// its growable /policy/history.
h5::Dataset create_policy_group(const h5::Group& root, const JobConfig& job, const Priors& priors,
                                const OutputLayout& layout) {
  const h5::Group policy = root.create_group("policy");
  policy.write_attribute("hidden", std::vector<std::int64_t>(layout.policy_hidden.begin(), layout.policy_hidden.end()));
  policy.write_attribute("value_hidden",
                         std::vector<std::int64_t>(layout.value_hidden.begin(), layout.value_hidden.end()));
  policy.write_attribute("creatives", static_cast<std::int64_t>(priors.creatives));
  policy.write_attribute("observation_size", static_cast<std::int64_t>(obs_dim));
  policy.write_attribute("max_abs_log_multiplier", job.policy.max_abs_log_multiplier);
  policy.write_attribute("description", "parameter layout in docs/learning.md");
  const auto parameters = static_cast<std::uint64_t>(layout.policy_parameters);
  h5::Dataset history = policy.create_dataset<double>("history", with_inner({parameters}), growable(1, {parameters}));
  history.set_units("1");
  history.write_attribute(
      "description",
      "the behaviour policy of each iteration (the parameters it simulated with); axes (iteration, parameter)");
  return history;
}

}  // namespace

// Open handles of the growable datasets, kept for the whole run.
struct OutputFile::Datasets {
  std::map<std::string, h5::Dataset> metrics;
  std::map<std::string, h5::Dataset> runtime;
  std::map<std::string, h5::Dataset> world_stats;
  std::vector<h5::Dataset> batches;  // in the order of batch_fields()
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
  write_run_attributes(root, job, priors, layout);

  auto datasets = std::make_unique<Datasets>();
  const h5::Group metrics = root.create_group("metrics");
  metrics.write_attribute("description", "per-iteration summary computed on rank 0; axis 0 = iteration");
  datasets->metrics =
      create_described_datasets(metrics, iteration_metric_fields(), {0}, growable(metric_chunk_rows, {}));
  const h5::Group runtime = root.create_group("runtime");
  runtime.write_attribute("description",
                          "wall-clock and transport figures: machine- and rank-count-dependent, excluded "
                          "from reproducibility comparisons; axis 0 = iteration");
  runtime.write_attribute("ranks", static_cast<std::int64_t>(layout.ranks));
  datasets->runtime = create_described_datasets(runtime, runtime_metric_fields(), {0}, growable(metric_chunk_rows, {}));
  const auto worlds = static_cast<std::uint64_t>(layout.worlds);
  const h5::Group world_stats = root.create_group("worlds/stats");
  world_stats.write_attribute("description", "per-world statistics of each iteration; axes (iteration, world)");
  datasets->world_stats =
      create_described_datasets(world_stats, world_stat_fields(), with_inner({worlds}), growable(1, {worlds}));
  datasets->batches = create_batch_datasets(root, job, layout);
  datasets->validation.emplace(ValidationDatasets::create(root, job, layout.validation_worlds, layout.policy_parameters,
                                                          layout.evaluation_strategies));
  datasets->policy_history.emplace(create_policy_group(root, job, priors, layout));

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
    datasets->batches.push_back(root.open_dataset(std::string("batches/") + field.name));
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
  datasets_->policy_history->write_rows_at<double>(
      {iteration, 0}, {mine, static_cast<std::uint64_t>(layout_.policy_parameters)}, record.policy_parameters.data());
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
  BatchColumns& columns = datasets_->columns;
  columns.fill(batch, {record.behaviour_bid_mean, record.behaviour_log_std, record.behaviour_creative_log_prob});
  batch_writes_collective_ = true;
  for (std::size_t i = 0; i < batch_fields().size(); ++i) {
    const BatchField& field = batch_fields()[i];
    const h5::Dataset& dataset = datasets_->batches[i];
    const std::uint64_t width = field.inner_width(layout_.creatives);
    dataset.extend_rows(rows);
    const Dims start = width == 0 ? Dims{iteration, first_row} : Dims{iteration, first_row, 0};
    const Dims extent = width == 0 ? Dims{1, count} : Dims{1, count, width};
    const h5::TransferReport report = std::visit(
        [&](auto member) {
          const auto& values = columns.*member;
          using T = typename std::remove_reference_t<decltype(values)>::value_type;
          return dataset.write_rows_at<T>(start, extent, std::span<const T>(values));
        },
        field.column);
    batch_writes_collective_ = batch_writes_collective_ && report.collective();
  }
  last_batch_write_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - batch_start).count();
}

double OutputFile::batch_bytes_per_iteration() const {
  return batch_row_bytes(layout_.creatives) * static_cast<double>(layout_.batch_size);
}

double OutputFile::append_bytes_upper_bound(bool with_validation_round) const {
  const auto real = [](auto n) { return static_cast<double>(n); };
  const double parameters = real(layout_.policy_parameters);
  double bytes = batch_bytes_per_iteration() +                     // one iteration per chunk
                 world_stat_bytes_per_iteration(layout_.worlds) +  // one chunk of all worlds
                 parameters * 8.0 +                                // /policy/history
                 metric_bytes_per_iteration() *
                     real(metric_chunk_rows);  // a new chunk every metric_chunk_rows iterations: always counted
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
