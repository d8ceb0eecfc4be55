// glibc malloc settings that keep freed memory mapped for reuse (mallopt).
#include "manyworlds/app/allocator.hpp"

#include <malloc.h>

#include <limits>

namespace manyworlds {

bool keep_freed_memory() {
  constexpr int largest_heap_block = 32 << 20;  // glibc's limit for M_MMAP_THRESHOLD on 64-bit
  const bool heap_blocks = mallopt(M_MMAP_THRESHOLD, largest_heap_block) == 1;
  const bool kept_top = mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max()) == 1;
  return heap_blocks && kept_top;
}

}  // namespace manyworlds
