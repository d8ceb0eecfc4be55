// The run's output file: one parallel HDF5 file written collectively by all ranks (layout in docs/output-format.md).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <mpi.h>

#include "manyworlds/core/config.hpp"
#include "manyworlds/io/hdf5.hpp"
#include "manyworlds/io/output_schema.hpp"
#include "manyworlds/sampling/sampler.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world.hpp"

namespace manyworlds {

// Sizes and names the file needs before the first iteration.
struct OutputLayout {
  std::int64_t worlds = 0;
  std::int64_t heldout_worlds = 0;
  std::int64_t batch_size = 0;
  std::int64_t policy_parameters = 0;
  std::vector<std::string> evaluation_strategies;  // names of the evaluated strategies
  std::vector<int> policy_hidden;                  // documented with the policy parameters
  std::vector<int> value_hidden;
  int ranks = 1;                                   // kept with the run-dependent data
};

// One iteration's data. Every rank passes its own worlds' statistics and batch rows;
// `metrics` is read on rank 0 only.
struct IterationRecord {
  int iteration = 0;
  std::int64_t first_world = 0;
  std::span<const EpisodeStats> world_stats;
  std::int64_t first_row = 0;
  std::span<const BatchRow> rows;
  IterationMetrics metrics;
};

// One evaluation round on the held-out worlds. `outcomes` are this rank's held-out worlds,
// strategy-major ([strategy][local world]); the summaries are read on rank 0 only.
struct EvaluationRecord {
  int iteration = 0;
  std::int64_t first_heldout = 0;
  std::int64_t local_heldout = 0;
  std::span<const EpisodeStats> outcomes;
  std::vector<double> success_share;          // [strategy]
  std::vector<double> success_share_by_type;  // [strategy][world type]
  std::vector<double> mean_return;            // [strategy]
  std::vector<double> policy_parameters;      // the evaluated policy snapshot
};

class OutputFile {
 public:
  // Collective: creates `path` (truncating it) with the file attributes and empty growable datasets.
  static OutputFile create(const std::string& path, MPI_Comm comm, const JobConfig& job, const Priors& priors,
                           const OutputLayout& layout);

  // Collective: reopens an output written by create() (e.g. restored from a checkpoint) to
  // append more iterations; `layout` must be the one it was created with.
  static OutputFile open(const std::string& path, MPI_Comm comm, const OutputLayout& layout);

  // Collective: world parameters of this rank's worlds [first, first + local.size()).
  void write_worlds(const Priors& priors, std::int64_t first_world, std::span<const WorldParams> local);
  void write_heldout_worlds(const Priors& priors, std::int64_t first_heldout, std::span<const WorldParams> local);
  // Collective: appends one iteration to every growable dataset.
  void append_iteration(const IterationRecord& record);
  // Collective: appends rank 0's wall-clock figures of an iteration already appended (they
  // include the time append_iteration took).
  void append_runtime(int iteration, const RuntimeMetrics& runtime);
  // Collective: appends one evaluation round.
  void append_evaluation(const EvaluationRecord& record);
  // Collective: the final policy parameters (rank 0's `parameters`).
  void write_final_policy(const std::vector<double>& parameters);

  // Whether every batch write of the last append_iteration was collective MPI-IO
  // (H5Pget_mpio_no_collective_cause == 0 on every rank).
  bool batch_writes_collective() const { return batch_writes_collective_; }
  // Wall-clock seconds the batch datasets of the last append_iteration took on this rank.
  double last_batch_write_seconds() const { return last_batch_write_seconds_; }
  // Uncompressed bytes of one iteration's batch rows (all ranks).
  double batch_bytes_per_iteration() const;

  // Collective: flushes and closes the file; it is complete afterwards.
  void close();

 private:
  struct Datasets;
  OutputFile(h5::File file, std::unique_ptr<Datasets> datasets, bool root, OutputLayout layout);

  h5::File file_;
  std::unique_ptr<Datasets> datasets_;
  bool root_ = false;
  OutputLayout layout_;
  int evaluation_rounds_ = 0;
  bool batch_writes_collective_ = false;
  double last_batch_write_seconds_ = 0;
  MPI_Comm comm_ = MPI_COMM_NULL;

 public:
  OutputFile(OutputFile&&) noexcept;
  OutputFile& operator=(OutputFile&&) noexcept;
  ~OutputFile();
};

}  // namespace manyworlds
