// keep_freed_memory: a block freed and allocated again reuses its pages instead of faulting new ones in.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstddef>
#include <memory>

#include "manyworlds/app/allocator.hpp"

namespace manyworlds {
namespace {

constexpr std::size_t block_bytes = std::size_t{16} << 20;  // the size of the sampler's per-iteration buffers
constexpr std::size_t page_bytes = 4096;

long minor_faults() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) ADD_FAILURE() << "getrusage failed";
  return usage.ru_minflt;
}

// Page faults taken while allocating a block, writing one byte per page and freeing it.
long faults_of_one_block() {
  const long before = minor_faults();
  {
    const std::unique_ptr<char[]> block(new char[block_bytes]);
    volatile char* bytes = block.get();
    for (std::size_t i = 0; i < block_bytes; i += page_bytes) bytes[i] = 1;
  }
  return minor_faults() - before;
}

// ctest runs each test in its own process (gtest_discover_tests), so malloc starts from its defaults.
// With them, the first block is mmapped and unmapped, and the second comes from a heap that must grow:
// both fault in all 4,096 pages. Kept memory faults them in once.
TEST(Allocator, AFreedBlockIsReusedWithoutFaultingItsPagesAgain) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator replaces glibc's malloc, whose settings these are";
#endif
  ASSERT_TRUE(keep_freed_memory());
  const long first = faults_of_one_block();
  const long second = faults_of_one_block();
  EXPECT_LT(second, 64) << "pages faulted in again after the block was freed (first block: " << first << ")";
}

}  // namespace
}  // namespace manyworlds
