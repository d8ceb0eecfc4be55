// Tests of the keyed permutation: a bijection for every size, keyed by seed, iteration and epoch.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "manyworlds/core/permutation.hpp"

namespace manyworlds {
namespace {

std::vector<std::uint64_t> images(const Permutation& permutation) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t i = 0; i < permutation.size(); ++i) out.push_back(permutation(i));
  return out;
}

TEST(Permutation, IsABijectionOfEverySize) {
  for (std::uint64_t size : {1u, 2u, 3u, 4u, 5u, 17u, 64u, 100u, 1000u, 4097u, 100003u}) {
    const std::vector<std::uint64_t> positions = images(Permutation(7, 1, 0, size));
    std::vector<char> seen(size, 0);
    for (std::uint64_t p : positions) {
      ASSERT_LT(p, size);
      EXPECT_EQ(seen[p], 0) << "size " << size << ": position " << p << " taken twice";
      seen[p] = 1;
    }
  }
}

TEST(Permutation, KeyedBySeedIterationAndEpochAndRepeatable) {
  const auto base = images(Permutation(7, 1, 0, 1000));
  EXPECT_EQ(base, images(Permutation(7, 1, 0, 1000)));
  EXPECT_NE(base, images(Permutation(8, 1, 0, 1000)));
  EXPECT_NE(base, images(Permutation(7, 2, 0, 1000)));
  EXPECT_NE(base, images(Permutation(7, 1, 1, 1000)));
  // A shuffle, not a near-identity: a random permutation has one fixed point on average.
  int fixed = 0;
  for (std::uint64_t i = 0; i < base.size(); ++i) fixed += base[i] == i ? 1 : 0;
  EXPECT_LT(fixed, 8);
}

TEST(Permutation, EveryPositionIsReachedEvenlyOverKeys) {
  // Where element 0 lands over 4000 keys: each of 8 positions about 500 times (chi-square, 7 dof,
  // 99.99th percentile 29.9).
  std::vector<int> counts(8, 0);
  for (std::uint32_t iteration = 0; iteration < 4000; ++iteration) ++counts[Permutation(3, iteration, 0, 8)(0)];
  double chi_square = 0;
  for (int c : counts) chi_square += (c - 500.0) * (c - 500.0) / 500.0;
  EXPECT_LT(chi_square, 29.9);
}

TEST(Permutation, RejectsBadArguments) {
  EXPECT_THROW(Permutation(1, 0, 0, 0), std::invalid_argument);
  EXPECT_THROW(Permutation(std::uint64_t{1} << 48, 0, 0, 10), std::invalid_argument);
  EXPECT_THROW(Permutation(1, 0, 0, 10)(10), std::out_of_range);
}

}  // namespace
}  // namespace manyworlds
