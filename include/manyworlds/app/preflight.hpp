// Checks made on every rank before a run simulates or creates anything (and by `validate`).
#pragma once

#include <string>

#include "manyworlds/app/estimate.hpp"
#include "manyworlds/app/job.hpp"

namespace manyworlds {

// Where and how the run will happen.
struct PreflightTarget {
  std::string output;   // the final output path
  bool resume = false;  // OUTPUT.partial already holds part of the output
  int rank = 0;         // named in messages when ranks > 1
  int ranks = 1;
  int ranks_on_node = 1;  // ranks sharing this machine's memory
};

// Throws one line naming the file or key and the fix, and leaves nothing behind:
//  InputError (3): the output's folder is missing, the output path is a folder, or
//    sampling.batch_size without replacement exceeds the experiences the job produces;
//  ResourceError (5): the folder is not writable (a probe file is created and removed), its free
//    space is below the estimated output plus checkpoints plus the SpaceReserve, the estimated
//    memory per rank exceeds what the process may use (machine.hpp), or the busiest rank's
//    expected experiences exceed run.max_experiences_per_rank.
void preflight(const Job& job, const ResourceEstimate& estimate, const PreflightTarget& target);

}  // namespace manyworlds
