// The output of `manyworlds evaluate`: a saved policy and the baselines on another job's worlds.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <mpi.h>

#include "manyworlds/core/config.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world.hpp"

namespace manyworlds {

inline constexpr const char* evaluation_format_name = "manyworlds-evaluation";
inline constexpr std::int64_t evaluation_format_version = 1;

// A policy saved by a run: its parameters and the shape needed to rebuild it.
struct SavedPolicy {
  std::string file;
  std::string job_name;
  PolicySection policy;
  int creatives = 0;
  std::vector<double> parameters;
};

// Serial: reads /policy of a finished run's output. InputError naming the file and the reason
// if it is not a manyworlds output, of another format version, or has no final policy.
SavedPolicy read_saved_policy(const std::string& run_output);

// What one evaluation found; `outcomes` are this rank's worlds, strategy-major ([strategy][local world]).
struct EvaluationResults {
  std::vector<std::string> strategies;
  std::int64_t worlds = 0;
  std::int64_t first_world = 0;
  std::span<const WorldParams> local_worlds;
  std::span<const EpisodeStats> outcomes;
  // Read on rank 0 only:
  std::vector<double> success_share;          // [strategy]
  std::vector<double> success_share_by_type;  // [strategy][world type]
  std::vector<double> mean_return;            // [strategy]
};

// Collective: writes `path` (format manyworlds-evaluation v1; layout in docs/output-format.md).
void write_evaluation_file(const std::string& path, MPI_Comm comm, const JobConfig& job, const Priors& priors,
                           const SavedPolicy& policy, const EvaluationResults& results);

}  // namespace manyworlds
