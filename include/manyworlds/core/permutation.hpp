// A keyed pseudo-random permutation of [0, n): any element's image in O(1), without the whole order.
#pragma once

#include <cstdint>

namespace manyworlds {

// A random permutation of [0, size) addressed by (seed, iteration, epoch): a balanced Feistel network
// of six Philox4x32-10 rounds (Purpose::minibatch_order) on the smallest even-bit domain 4^h >= size,
// restricted to [0, size) by cycle walking (a value that lands outside is permuted again), so it is
// a bijection of [0, size). Any rank finds the position of any element by itself, in O(1) expected
// time (fewer than four walks on average), so a batch spread over ranks needs no shared order.
class Permutation {
 public:
  // Throws std::invalid_argument if size is 0 or above 2^62, or the seed above max_seed.
  Permutation(std::uint64_t seed, std::uint32_t iteration, std::uint32_t epoch, std::uint64_t size);

  std::uint64_t size() const { return size_; }
  // The position of `index` (< size()) in the permuted order.
  std::uint64_t operator()(std::uint64_t index) const;

 private:
  std::uint64_t feistel(std::uint64_t value) const;

  std::uint32_t key_[2];
  std::uint32_t iteration_;
  std::uint32_t epoch_;
  std::uint64_t size_;
  int half_bits_;
  std::uint64_t half_mask_;
};

}  // namespace manyworlds
