// The run loop: simulate every rank's worlds, sample a batch, write it, update the policy, evaluate.
#pragma once

#include <iosfwd>
#include <string>

#include <boost/mpi/communicator.hpp>

#include "manyworlds/app/job.hpp"

namespace manyworlds {

struct RunOptions {
  std::string output;          // final output path
  bool quiet = false;          // no progress lines
};

// What rank 0 reports when the run has finished.
struct RunSummary {
  std::string output;
  int iterations = 0;
  double seconds = 0;
  double decisions = 0;
  double final_mean_return = 0;
  double final_policy_success_share = 0;
  double best_baseline_success_share = 0;
};

// Runs `job` on the ranks of `communicator` (collective) and writes `options.output`. The job
// must have been validated and broadcast; the output path must be free or overwritable.
RunSummary run_job(const Job& job, const RunOptions& options, const boost::mpi::communicator& communicator,
                   std::ostream& log);

}  // namespace manyworlds
