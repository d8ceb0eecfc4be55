// A streaming 64-bit checksum (FNV-1a) for telling damaged checkpoint and output bytes from intact ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace manyworlds {

// FNV-1a over a byte stream: feeding the same bytes in any split gives the same value, so a
// checksum can be carried on from a saved value() as more bytes arrive. It finds accidental damage
// (flipped, lost or swapped bytes), not deliberate forgery.
class Checksum {
 public:
  static constexpr std::uint64_t initial = 14695981039346656037ull;

  explicit Checksum(std::uint64_t value = initial) : value_(value) {}

  void add(std::span<const std::byte> bytes) {
    for (const std::byte b : bytes) value_ = (value_ ^ static_cast<std::uint64_t>(b)) * prime;
  }
  void add(const std::string& text) { add(std::as_bytes(std::span<const char>(text.data(), text.size()))); }

  std::uint64_t value() const { return value_; }

 private:
  static constexpr std::uint64_t prime = 1099511628211ull;
  std::uint64_t value_;
};

// 16 lower-case hex digits.
std::string hex64(std::uint64_t value);

}  // namespace manyworlds
