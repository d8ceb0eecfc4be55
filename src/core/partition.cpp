// Contiguous block partition of world ids over ranks.
#include "manyworlds/core/partition.hpp"

namespace manyworlds {

IdRange block_of(std::int64_t count, int parts, int part) {
  const std::int64_t base = count / parts;
  const std::int64_t extra = count % parts;
  const std::int64_t begin = part * base + (part < extra ? part : extra);
  const std::int64_t size = base + (part < extra ? 1 : 0);
  return {begin, begin + size};
}

int owner_of(std::int64_t count, int parts, std::int64_t id) {
  const std::int64_t base = count / parts;
  const std::int64_t extra = count % parts;
  const std::int64_t big_blocks_end = extra * (base + 1);
  if (id < big_blocks_end) return static_cast<int>(id / (base + 1));
  return static_cast<int>(extra + (id - big_blocks_end) / base);
}

}  // namespace manyworlds
