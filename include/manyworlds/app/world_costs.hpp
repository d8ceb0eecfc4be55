// Worlds' estimated costs and the balanced contiguous share of them that each rank plays.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "manyworlds/app/job.hpp"
#include "manyworlds/core/collectives.hpp"
#include "manyworlds/core/partition.hpp"

namespace manyworlds {

// Collective: the estimated cost (expected queries over the horizon) of the `count` worlds with ids
// id_base + 0 .. id_base + count - 1, each rank drawing the parameters of an equal block; the same
// vector on every rank.
std::vector<double> estimated_world_costs(const Job& job, std::uint64_t seed, std::int64_t count, std::uint32_t id_base,
                                          Collectives& collectives);

// The contiguous block of balanced cost that `part` of `parts` owns (balanced_bounds); equal blocks
// when there are fewer worlds than parts.
IdRange balanced_block(std::span<const double> costs, int parts, int part);

}  // namespace manyworlds
