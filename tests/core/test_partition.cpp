// Tests of the contiguous partitions of world ids over ranks: equal blocks and blocks of balanced cost.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "manyworlds/core/partition.hpp"
#include "manyworlds/core/random.hpp"

namespace manyworlds {
namespace {

TEST(Partition, BlocksCoverAllIdsContiguouslyForManyShapes) {
  for (std::int64_t count : {1, 2, 3, 7, 10, 128, 129, 1000}) {
    for (int parts = 1; parts <= 9 && parts <= count; ++parts) {
      std::int64_t expected_begin = 0;
      for (int part = 0; part < parts; ++part) {
        const IdRange range = block_of(count, parts, part);
        EXPECT_EQ(range.begin, expected_begin);
        EXPECT_GE(range.size(), count / parts);
        EXPECT_LE(range.size(), count / parts + 1);
        for (std::int64_t id = range.begin; id < range.end; ++id) EXPECT_EQ(owner_of(count, parts, id), part);
        expected_begin = range.end;
      }
      EXPECT_EQ(expected_begin, count);
    }
  }
}

TEST(Partition, FirstBlocksTakeTheRemainder) {
  EXPECT_EQ(block_of(10, 3, 0).size(), 4);
  EXPECT_EQ(block_of(10, 3, 1).size(), 3);
  EXPECT_EQ(block_of(10, 3, 2).begin, 7);
}

}  // namespace
}  // namespace manyworlds

namespace manyworlds {
namespace {

// The smallest largest-block cost over every contiguous split into `parts` non-empty blocks.
double best_possible(const std::vector<double>& costs, int parts, std::size_t from = 0) {
  if (parts == 1) {
    double load = 0;
    for (std::size_t i = from; i < costs.size(); ++i) load += costs[i];
    return load;
  }
  double best = 1e300;
  double load = 0;
  for (std::size_t end = from + 1; end + static_cast<std::size_t>(parts - 1) <= costs.size(); ++end) {
    load += costs[end - 1];
    best = std::min(best, std::max(load, best_possible(costs, parts - 1, end)));
  }
  return best;
}

double largest_block(const std::vector<double>& costs, const std::vector<std::int64_t>& bounds) {
  double largest = 0;
  for (std::size_t p = 0; p + 1 < bounds.size(); ++p) {
    double load = 0;
    for (std::int64_t i = bounds[p]; i < bounds[p + 1]; ++i) load += costs[static_cast<std::size_t>(i)];
    largest = std::max(largest, load);
  }
  return largest;
}

TEST(BalancedBounds, NonEmptyContiguousBlocksWithTheSmallestLargestCost) {
  Stream stream(3, Purpose::training, 0);
  for (int trial = 0; trial < 200; ++trial) {
    const int count = 1 + static_cast<int>(stream.below(10));
    std::vector<double> costs;
    for (int i = 0; i < count; ++i) costs.push_back(stream.uniform() < 0.2 ? 0.0 : stream.lognormal(0.0, 1.0));
    for (int parts = 1; parts <= count; ++parts) {
      const std::vector<std::int64_t> bounds = balanced_bounds(costs, parts);
      ASSERT_EQ(bounds.size(), static_cast<std::size_t>(parts) + 1);
      EXPECT_EQ(bounds.front(), 0);
      EXPECT_EQ(bounds.back(), count);
      for (int p = 0; p < parts; ++p) EXPECT_LT(bounds[p], bounds[p + 1]) << "an empty part";
      const double best = best_possible(costs, parts);
      EXPECT_LE(largest_block(costs, bounds), best * (1 + 1e-12)) << count << " ids, " << parts << " parts";
      EXPECT_EQ(bounds, balanced_bounds(costs, parts));  // deterministic
    }
  }
}

TEST(BalancedBounds, EqualCostsGiveEqualBlocksAndImbalanceIsMeasured) {
  const std::vector<double> equal(10, 2.0);
  const std::vector<std::int64_t> bounds = balanced_bounds(equal, 3);
  EXPECT_EQ(largest_block(equal, bounds), 8.0);  // blocks of 4, 3, 3 in some order
  EXPECT_DOUBLE_EQ(imbalance_of(equal, bounds), 8.0 / (20.0 / 3));
  // One heavy world gets a rank to itself; the rest share the others.
  const std::vector<double> heavy{1, 1, 1, 30, 1, 1, 1, 1};
  const std::vector<std::int64_t> split = balanced_bounds(heavy, 3);
  EXPECT_EQ(largest_block(heavy, split), 30.0);
  EXPECT_EQ(split, (std::vector<std::int64_t>{0, 3, 4, 8}));
  EXPECT_THROW(balanced_bounds(heavy, 0), std::invalid_argument);
  EXPECT_THROW(balanced_bounds(heavy, 9), std::invalid_argument);
}

}  // namespace
}  // namespace manyworlds
