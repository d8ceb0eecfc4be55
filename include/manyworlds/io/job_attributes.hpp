// The root attributes every manyworlds HDF5 file carries: format, program, job, priors and labels.
#pragma once

#include <cstdint>

#include "manyworlds/core/config.hpp"
#include "manyworlds/io/hdf5.hpp"
#include "manyworlds/world/priors.hpp"

namespace manyworlds {

// Collective in parallel files: writes format and format_version, program_version, the job's name,
// file, full text and seed, the priors' file and full text, and the label lists of the integer
// codes (world_type_names, segment_names, device_names, strategy_names, tag_names, query_type_names).
void write_job_attributes(const h5::Group& root, const char* format, std::int64_t format_version, const JobConfig& job,
                          const Priors& priors);

}  // namespace manyworlds
