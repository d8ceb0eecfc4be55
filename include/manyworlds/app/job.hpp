// A job as the run loop uses it: the validated job file plus its priors, loaded once and broadcast.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "manyworlds/app/serialization.hpp"
#include "manyworlds/core/config.hpp"
#include "manyworlds/world/priors.hpp"

namespace manyworlds {

// Command-line values that replace the job file's.
struct JobOverrides {
  std::optional<std::uint64_t> seed;
  std::optional<std::int64_t> worlds;
  std::optional<int> iterations;
  std::optional<std::string> output;
};

struct Job {
  JobConfig config;
  Priors priors;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& config& priors;
  }
};

// Reads the job file and its priors, applies the overrides and checks everything, including the
// rules that span both files. InputError names the file, the key and the fix.
Job load_job_with_priors(const std::string& path, const JobOverrides& overrides);

}  // namespace manyworlds
