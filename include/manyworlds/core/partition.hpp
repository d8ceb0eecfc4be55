// Contiguous block partition of world ids over ranks (pure arithmetic, no MPI).
#pragma once

#include <cstdint>

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

}  // namespace manyworlds
