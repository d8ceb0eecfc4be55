// The run loop: simulate every rank's worlds, sample a batch, write it, update the policy, evaluate.
#pragma once

#include <boost/mpi/communicator.hpp>
#include <iosfwd>
#include <string>

#include "manyworlds/app/job.hpp"
#include "manyworlds/learn/scores.hpp"

namespace manyworlds {

struct RunOptions {
  std::string output;        // final output path
  bool quiet = false;        // no progress lines
  bool resume = false;       // continue from OUTPUT.checkpoint (starting anew, and saying so, if there is none)
  int checkpoint_every = 0;  // iterations between checkpoints (0: none by count)
  double checkpoint_minutes =
      0;  // minutes between checkpoints (0: none by time); one is always written on SIGUSR1/SIGTERM
  // Worlds a rank steps in lockstep, the policy deciding their decisions as one batch; 1 steps
  // the worlds one after the other. Results are bitwise the same for every value; only speed differs.
  int lanes = default_lanes;
  static constexpr int default_lanes = 1;  // the faster on the machines measured (docs/performance.md)
  int diagnose_draws = 0;  // > 0: the sampling diagnostic after every draw, into OUTPUT.sampling.csv (one rank)
};

// What rank 0 reports when the run has finished.
struct RunSummary {
  std::string output;
  bool interrupted = false;  // stopped by a signal after writing a checkpoint (exit code 6)
  std::string stop_message;
  int iterations = 0;
  double seconds = 0;
  double decisions = 0;
  double final_mean_return = 0;
  Interval test_score;                   // reported policy's mean normalised score on the test worlds (rank 0)
  Interval test_versus_adaptive_pacing;  // its paired difference to adaptive pacing (rank 0)
};

// Runs `job` on the ranks of `communicator` (collective) and writes `options.output`. The job
// must have been validated and broadcast, and the output checked (preflight). On SIGUSR1/SIGTERM
// (on any rank, while a StopSignal lives) all ranks finish the iteration, write a checkpoint and
// return with `interrupted` set; the output stays OUTPUT.partial until a resumed run completes. A
// signal before the first iteration returns `interrupted` with nothing written. A failure is an
// AgreedFailure on every rank whose message ends by saying what was kept (OUTPUT.partial only
// when OUTPUT.checkpoint can continue it).
RunSummary run_job(const Job& job, const RunOptions& options, const boost::mpi::communicator& communicator,
                   std::ostream& log);

// The job and priors a checkpoint belongs to: the resolved job (output and checkpoint interval
// excluded) and the full priors text.
std::string job_fingerprint(const Job& job);

}  // namespace manyworlds
