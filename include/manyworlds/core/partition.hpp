// Contiguous partitions of world ids over ranks: equal blocks, or blocks of balanced cost (pure arithmetic, no MPI).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace manyworlds {

// Half-open range [begin, end) of ids.
struct IdRange {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t size() const { return end - begin; }
  bool contains(std::int64_t id) const { return id >= begin && id < end; }
};

// The block of `count` ids owned by `part` of `parts`: the first count % parts
// blocks hold one id more. Works for any count >= 0 and parts >= 1.
IdRange block_of(std::int64_t count, int parts, int part);

// The part that owns `id` under block_of(count, parts, .).
int owner_of(std::int64_t count, int parts, std::int64_t id);

// Contiguous blocks of ids [0, costs.size()) for `parts` parts (1 <= parts <= costs.size()) that
// balance the summed cost: returns parts + 1 bounds, part p owning [bounds[p], bounds[p + 1]), every
// part at least one id. The largest block's cost is the smallest possible for contiguous blocks,
// to 2^-60 of the total: bisection on that cost, each candidate checked by greedy filling. Pure
// arithmetic in a fixed order, so every caller gets the same bounds for the same costs. Negative or
// NaN costs count as 0. Throws std::invalid_argument unless 1 <= parts <= costs.size().
std::vector<std::int64_t> balanced_bounds(std::span<const double> costs, int parts);

// The largest block's cost over the mean block cost (1 = perfect balance).
double imbalance_of(std::span<const double> costs, std::span<const std::int64_t> bounds);

}  // namespace manyworlds
