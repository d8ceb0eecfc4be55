// Helpers shared by the files that define World's members (world, episode, auction): private to src/world/.
#pragma once

#include <cstddef>

#include "manyworlds/world/priors.hpp"

namespace manyworlds::world_internals {

inline std::size_t index3(std::size_t segment, std::size_t device, std::size_t query, std::size_t devices) {
  return (segment * devices + device) * query_type_count + query;
}

}  // namespace manyworlds::world_internals
