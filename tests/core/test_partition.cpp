// Tests of the contiguous block partition of world ids over ranks.
#include <gtest/gtest.h>

#include "manyworlds/core/partition.hpp"

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
