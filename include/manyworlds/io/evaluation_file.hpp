// The output of `manyworlds evaluate`: a saved policy and the baselines on another job's worlds.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "manyworlds/core/config.hpp"
#include "manyworlds/io/evaluation_output.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world.hpp"

namespace manyworlds {

inline constexpr const char* evaluation_format_name = "manyworlds-evaluation";
inline constexpr std::int64_t evaluation_format_version = 2;

// A policy saved by a run: its parameters and the shape needed to rebuild it.
struct SavedPolicy {
  std::string file;
  std::string job_name;
  PolicySection policy;
  int creatives = 0;
  std::vector<double> parameters;        // the reported policy (/policy/parameters)
  std::vector<double> final_parameters;  // the last iterate (/policy/final_parameters; = parameters if absent)
  int selected_iteration = -1;           // iteration of the reported snapshot (/policy's selected_iteration)
};

// Serial: reads /policy of a finished run's output, or of a file that holds only such a /policy
// group (e.g. written by an offline learner; see analysis/offline_learner.py). InputError naming
// the file and the reason if it is not a manyworlds output, of another format version, or has no policy.
SavedPolicy read_saved_policy(const std::string& run_output);

// Collective: writes `path` (format manyworlds-evaluation; layout in docs/output-format.md): the
// test worlds' parameters (this rank's block `local_test` starting at `first_test`), rank 0's
// test results under /evaluation and the evaluated policy.
void write_evaluation_file(const std::string& path, MPI_Comm comm, const JobConfig& job, const Priors& priors,
                           const SavedPolicy& policy, const TestResults& results, std::int64_t first_test,
                           std::span<const WorldParams> local_test);

}  // namespace manyworlds
