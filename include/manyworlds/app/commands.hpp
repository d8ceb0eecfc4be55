// The subcommands behind the CLI: run, validate, evaluate (argument parsing lives in cli.cpp).
#pragma once

#include <string>

#include "manyworlds/app/job.hpp"

namespace manyworlds {

struct RunArguments {
  std::string job_path;
  JobOverrides overrides;
  bool force = false;
  bool quiet = false;
  bool resume = false;
  int checkpoint_every = -1;       // -1: the job file's run.checkpoint_every
  int lanes = 1;                   // RunOptions::lanes
  int diagnose_draws = 0;          // batches per sampling arm of the sampling diagnostic (0: none)
  double checkpoint_minutes = -1;  // -1: the job file's run.checkpoint_minutes
};

struct EvaluateArguments {
  std::string job_path;
  std::string policy_path;  // a finished run's output
  JobOverrides overrides;   // overrides.output: default "<job name>-evaluation.h5"
  bool force = false;
};

// Each returns the process exit code. run and evaluate initialise MPI (they work with one rank
// without mpirun); validate needs no MPI.
int run_command(const RunArguments& arguments);
// validate checks the job, prints it resolved with size estimates, and runs the preflight checks
// for `ranks` ranks, `ranks_per_node` of them on this machine.
int validate_command(const std::string& job_path, const JobOverrides& overrides, int ranks, int ranks_per_node);
int evaluate_command(const EvaluateArguments& arguments);

}  // namespace manyworlds
