// The keyed Feistel permutation with cycle walking.
#include "manyworlds/core/permutation.hpp"

#include <bit>
#include <stdexcept>
#include <string>

#include "manyworlds/core/random.hpp"

namespace manyworlds {

namespace {

constexpr int rounds = 6;
constexpr std::uint64_t max_size = std::uint64_t{1} << 62;

}  // namespace

Permutation::Permutation(std::uint64_t seed, std::uint32_t iteration, std::uint32_t epoch, std::uint64_t size)
    : iteration_(iteration), epoch_(epoch), size_(size) {
  if (size == 0 || size > max_size)
    throw std::invalid_argument("Permutation: size must be in 1 .. 2^62, got " + std::to_string(size));
  if (seed > max_seed) throw std::invalid_argument("Permutation: seed above 2^48 - 1: " + std::to_string(seed));
  key_[0] = static_cast<std::uint32_t>(seed & 0xffffffffu);
  key_[1] =
      static_cast<std::uint32_t>((seed >> 32) & 0xffffu) | (static_cast<std::uint32_t>(Purpose::minibatch_order) << 16);
  const auto bits = static_cast<int>(std::bit_width(size - 1));
  half_bits_ = bits <= 2 ? 1 : (bits + 1) / 2;
  half_mask_ = (std::uint64_t{1} << half_bits_) - 1;
}

std::uint64_t Permutation::feistel(std::uint64_t value) const {
  std::uint64_t left = value >> half_bits_;
  std::uint64_t right = value & half_mask_;
  for (std::uint32_t round = 0; round < rounds; ++round) {
    const r123::Philox4x32::ctr_type counter{{static_cast<std::uint32_t>(right),
                                              static_cast<std::uint32_t>(right >> 32), round | (epoch_ << 8),
                                              iteration_}};
    const r123::Philox4x32::key_type key{{key_[0], key_[1]}};
    const auto block = r123::Philox4x32()(counter, key);
    const std::uint64_t mixed = (static_cast<std::uint64_t>(block.v[1]) << 32) | block.v[0];
    const std::uint64_t next = left ^ (mixed & half_mask_);
    left = right;
    right = next;
  }
  return (left << half_bits_) | right;
}

std::uint64_t Permutation::operator()(std::uint64_t index) const {
  if (index >= size_)
    throw std::out_of_range("Permutation: index " + std::to_string(index) + " outside [0, " + std::to_string(size_) +
                            ")");
  std::uint64_t value = index;
  do {
    value = feistel(value);
  } while (value >= size_);
  return value;
}

}  // namespace manyworlds
