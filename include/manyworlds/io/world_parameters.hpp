// Writing worlds' parameters into a group of a parallel HDF5 file (layout in docs/output-format.md).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <span>
#include <string>

#include "manyworlds/io/hdf5.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world_params.hpp"

namespace manyworlds {

// Collective: creates `group_path` under `root` with one dataset per parameter (axis 0 = world,
// `count` worlds in all) and a flat competitors table; this rank writes its worlds
// [first, first + local.size()).
void write_world_parameters(const h5::Group& root, MPI_Comm comm, const Priors& priors, const std::string& group_path,
                            std::int64_t count, std::int64_t first, std::span<const WorldParams> local);

}  // namespace manyworlds
