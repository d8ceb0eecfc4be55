// The run's output file: one parallel HDF5 file written collectively by all ranks (layout in docs/output-format.md).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "manyworlds/core/config.hpp"
#include "manyworlds/io/evaluation_output.hpp"
#include "manyworlds/io/hdf5.hpp"
#include "manyworlds/io/output_schema.hpp"
#include "manyworlds/sampling/sampler.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world.hpp"

namespace manyworlds {

// Sizes and names the file needs before the first iteration.
struct OutputLayout {
  std::int64_t worlds = 0;
  std::int64_t validation_worlds = 0;
  std::int64_t test_worlds = 0;
  std::int64_t batch_size = 0;
  std::int64_t policy_parameters = 0;
  int creatives = 0;                               // the policy's creative count
  std::vector<std::string> evaluation_strategies;  // names of the strategies on the test worlds
  std::vector<int> policy_hidden;                  // documented with the policy parameters
  std::vector<int> value_hidden;
  int ranks = 1;  // kept with the run-dependent data
};

// One iteration's data. Every rank passes its own worlds' statistics and batch rows;
// `metrics` is read on rank 0 only.
struct IterationRecord {
  int iteration = 0;
  std::int64_t first_world = 0;
  std::span<const EpisodeStats> world_stats;
  std::int64_t first_row = 0;
  std::span<const BatchRow> rows;
  // The behaviour policy at each row: its Gaussian mean and log std of the log bid multiplier and the
  // log-probability of every creative ([row][creative]).
  std::span<const float> behaviour_bid_mean;
  float behaviour_log_std = 0;
  std::span<const float> behaviour_creative_log_prob;
  IterationMetrics metrics;
  std::span<const double> policy_parameters;  // the behaviour policy (read on rank 0)
};

class OutputFile {
 public:
  // Collective: creates `path` (truncating it) with the file attributes and empty growable datasets.
  // Its metadata reaches the disk only when it is closed (h5::MetadataWrites::at_flush), so a run
  // killed between two checkpoints leaves the file as it was at the last one.
  static OutputFile create(const std::string& path, MPI_Comm comm, const JobConfig& job, const Priors& priors,
                           const OutputLayout& layout);

  // Collective: reopens an output written by create() (e.g. restored from a checkpoint) to
  // append more iterations; `layout` must be the one it was created with.
  static OutputFile open(const std::string& path, MPI_Comm comm, const OutputLayout& layout);

  // Collective: world parameters of this rank's worlds [first, first + local.size()).
  void write_worlds(const Priors& priors, std::int64_t first_world, std::span<const WorldParams> local);
  void write_evaluation_worlds(const Priors& priors, std::int64_t first_validation,
                               std::span<const WorldParams> validation, std::int64_t first_test,
                               std::span<const WorldParams> test);
  // Collective: appends one iteration to every growable dataset.
  void append_iteration(const IterationRecord& record);
  // Collective: appends rank 0's wall-clock figures of an iteration already appended (they
  // include the time append_iteration took).
  void append_runtime(int iteration, const RuntimeMetrics& runtime);
  // Collective: rank 0's references of the validation worlds (once, before the first round).
  void write_validation_references(const ValidationReferences& references);
  // Collective: appends rank 0's validation round.
  void append_validation(const ValidationRound& round);
  // Collective: rank 0's test results.
  void write_test(const TestResults& results, int world_types);
  // Collective: rank 0's reported policy (the selected snapshot) and the last iterate.
  void write_final_policy(const std::vector<double>& reported, const std::vector<double>& final_parameters,
                          int selected_iteration);

  // Whether every batch write of the last append_iteration was collective MPI-IO
  // (H5Pget_mpio_no_collective_cause == 0 on every rank).
  bool batch_writes_collective() const { return batch_writes_collective_; }
  // Wall-clock seconds the batch datasets of the last append_iteration took on this rank.
  double last_batch_write_seconds() const { return last_batch_write_seconds_; }
  // Uncompressed bytes of one iteration's batch rows (all ranks).
  double batch_bytes_per_iteration() const;
  // Upper bounds of the raw-data bytes the file grows by (chunks allocated, metadata not counted):
  // one append_iteration plus append_runtime (with append_validation if `with_validation_round`),
  // and write_test plus write_final_policy. Parallel HDF5 allocates a chunk when a dataset grows,
  // inside a collective call: the caller makes sure beforehand that the disk has this room.
  double append_bytes_upper_bound(bool with_validation_round) const;
  double finish_bytes_upper_bound(int world_types) const;

  // Collective: flushes and closes the file; it is complete afterwards.
  void close();

 private:
  struct Datasets;
  OutputFile(h5::File file, std::unique_ptr<Datasets> datasets, bool root, OutputLayout layout);

  h5::File file_;
  std::unique_ptr<Datasets> datasets_;
  bool root_ = false;
  OutputLayout layout_;
  bool batch_writes_collective_ = false;
  double last_batch_write_seconds_ = 0;
  MPI_Comm comm_ = MPI_COMM_NULL;

 public:
  OutputFile(OutputFile&&) noexcept;
  OutputFile& operator=(OutputFile&&) noexcept;
  ~OutputFile();
};

}  // namespace manyworlds
