// Estimates of a job's size before running it: experiences, memory per rank, output file size.
#pragma once

#include <cstdint>
#include <string>

#include "manyworlds/app/job.hpp"

namespace manyworlds {

struct ResourceEstimate {
  double decisions_per_episode = 0;     // mean over worlds, from the priors' means
  double experiences_per_rank = 0;      // largest rank, one iteration
  double imbalance = 1;                 // largest rank's estimated simulation cost / mean (balanced blocks)
  double memory_per_rank_bytes = 0;     // experience buffer + worlds + policy
  double output_bytes = 0;              // uncompressed upper bound
  bool fits_buffer = true;              // experiences_per_rank <= run.max_experiences_per_rank
};

// Draws the job's worlds' parameters (cheap: no populations) to estimate the sizes for `ranks` ranks.
ResourceEstimate estimate_resources(const Job& job, int ranks);

std::string human_bytes(double bytes);

}  // namespace manyworlds
