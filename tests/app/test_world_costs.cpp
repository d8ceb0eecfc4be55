// Estimated world costs and the balanced blocks that ranks play (validation, test, tuning and training worlds).
#include <gtest/gtest.h>

#include "manyworlds/app/world_costs.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/world/world_params.hpp"

namespace manyworlds {
namespace {

Job quickstart_job() { return load_job_with_priors(std::string(MANYWORLDS_SOURCE_DIR) + "/jobs/quickstart.toml", {}); }

TEST(WorldCosts, AreEachWorldsExpectedQueriesUnderItsOwnId) {
  const Job job = quickstart_job();
  SerialCollectives serial;
  const std::vector<double> costs = estimated_world_costs(job, 7, 40, validation_world_base, serial);
  ASSERT_EQ(costs.size(), 40u);
  for (std::uint32_t w = 0; w < 40; ++w) {
    const WorldParams params = draw_world(job.priors, 7, validation_world_base + w);
    EXPECT_EQ(costs[w], expected_queries(job.priors, params, job.config.world.horizon_days)) << "world " << w;
  }
  // Other ids, other worlds: the base is applied.
  EXPECT_NE(estimated_world_costs(job, 7, 40, 0, serial), costs);
}

TEST(WorldCosts, BalancedBlocksTileTheWorldsAndFollowBalancedBounds) {
  const std::vector<double> costs{9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9};
  for (int parts = 1; parts <= 12; ++parts) {
    const std::vector<std::int64_t> bounds = balanced_bounds(costs, parts);
    std::int64_t next = 0;
    for (int part = 0; part < parts; ++part) {
      const IdRange block = balanced_block(costs, parts, part);
      EXPECT_EQ(block.begin, next) << parts << " parts, part " << part;
      EXPECT_EQ(block.begin, bounds[static_cast<std::size_t>(part)]);
      EXPECT_GE(block.size(), 1);
      next = block.end;
    }
    EXPECT_EQ(next, 12);
  }
  // Two parts: 9 + 5 x 1 | 5 x 1 + 9 = 14 | 14, the only split with no side above 14.
  EXPECT_EQ(balanced_block(costs, 2, 0).end, 6);
}

TEST(WorldCosts, FewerWorldsThanPartsGiveEqualBlocksWithEmptyOnes) {
  const std::vector<double> costs{3, 1, 2};
  for (int part = 0; part < 5; ++part) {
    const IdRange block = balanced_block(costs, 5, part);
    const IdRange equal = block_of(3, 5, part);
    EXPECT_EQ(block.begin, equal.begin);
    EXPECT_EQ(block.end, equal.end);
  }
}

}  // namespace
}  // namespace manyworlds
