// Estimates of a job's size before running it: experiences, memory per rank, output file size.
#pragma once

#include <cstdint>
#include <string>

#include "manyworlds/app/job.hpp"
#include "manyworlds/core/partition.hpp"

namespace manyworlds {

// Resident memory of one rank before it holds any world: Open MPI 4.1, parallel HDF5 1.10 and the
// program itself (measured with getrusage on Debian 12: 40 MB +- 3 MB for 1-4 ranks per node).
inline constexpr double process_base_bytes = 40e6;

struct ResourceEstimate {
  double decisions_per_episode = 0;      // mean over worlds, from the priors' means
  double experiences_per_rank = 0;       // largest rank, one iteration
  double imbalance = 1;                  // largest rank's estimated simulation cost / mean (balanced blocks)
  double experiences_per_iteration = 0;  // all ranks, one iteration (an upper estimate: budgets end episodes early)
  double memory_per_rank_bytes = 0;      // process base + experience buffer + worlds + policy + batch share
  double output_bytes = 0;               // uncompressed upper bound
  double checkpoint_bytes = 0;           // one checkpoint (the learner's state and the output's digests)
  bool fits_buffer = true;               // experiences_per_rank <= run.max_experiences_per_rank
};

// Expected experiences per iteration of the worlds `worlds` (every query is a decision until the
// budget runs out, so this is an upper estimate).
double expected_experiences(const Job& job, const IdRange& worlds);

// Draws the job's worlds' parameters (cheap: no populations) to estimate the sizes for `ranks` ranks.
ResourceEstimate estimate_resources(const Job& job, int ranks);

std::string human_bytes(double bytes);

}  // namespace manyworlds
