// Worlds' estimated costs (drawn in equal blocks, all-gathered) and balanced blocks of them.
#include "manyworlds/app/world_costs.hpp"

#include "manyworlds/world/world_params.hpp"

namespace manyworlds {

std::vector<double> estimated_world_costs(const Job& job, std::uint64_t seed, std::int64_t count, std::uint32_t id_base,
                                          Collectives& collectives) {
  const IdRange block = block_of(count, collectives.size(), collectives.rank());
  std::vector<double> local;
  for (std::int64_t w = block.begin; w < block.end; ++w) {
    const WorldParams params = draw_world(job.priors, seed, static_cast<std::uint32_t>(id_base + w));
    local.push_back(expected_queries(job.priors, params, job.config.world.horizon_days));
  }
  return collectives.allgather(local);
}

IdRange balanced_block(std::span<const double> costs, int parts, int part) {
  const auto count = static_cast<std::int64_t>(costs.size());
  if (count < parts) return block_of(count, parts, part);
  const std::vector<std::int64_t> bounds = balanced_bounds(costs, parts);
  return {bounds[static_cast<std::size_t>(part)], bounds[static_cast<std::size_t>(part) + 1]};
}

}  // namespace manyworlds
