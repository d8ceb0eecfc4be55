// The small set of collective operations the sampler and the run loop need (transport-free interface).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

namespace manyworlds {

// Collective operations over the ranks of one run. Every rank must call each
// operation in the same order. Rank 0 is the root. Implementations count the
// payload bytes that cross between ranks (see bytes_moved()).
class Collectives {
 public:
  virtual ~Collectives() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Root receives the concatenation of every rank's bytes in rank order; others receive nothing.
  virtual std::vector<std::byte> gather_bytes(std::span<const std::byte> local) = 0;
  // Root's bytes are copied to every rank (non-roots' input is replaced).
  virtual void broadcast_bytes(std::vector<std::byte>& bytes) = 0;
  // Every rank receives the concatenation of every rank's bytes in rank order.
  virtual std::vector<std::byte> allgather_bytes(std::span<const std::byte> local) = 0;
  // Element-wise exact integer sum over ranks, result on every rank.
  virtual void sum_int64(std::span<std::int64_t> values) = 0;
  // Element-wise maximum over ranks, result on every rank.
  virtual void max_double(std::span<double> values) = 0;
  virtual void max_uint8(std::span<std::uint8_t> values) = 0;
  // Sum of `value` over the ranks below this one.
  virtual std::int64_t exclusive_scan_int64(std::int64_t value) = 0;
  virtual void barrier() = 0;

  // Payload bytes this rank has sent or received in collectives so far.
  virtual std::int64_t bytes_moved() const = 0;

  bool is_root() const { return rank() == 0; }

  // ---- typed helpers for trivially copyable records ----
  template <class T>
  std::vector<T> gather(std::span<const T> local) {
    static_assert(std::is_trivially_copyable_v<T>);
    return from_bytes<T>(gather_bytes(std::as_bytes(local)));
  }
  template <class T>
  std::vector<T> gather(const std::vector<T>& local) {
    return gather(std::span<const T>(local));
  }
  template <class T>
  std::vector<T> allgather(const std::vector<T>& local) {
    static_assert(std::is_trivially_copyable_v<T>);
    return from_bytes<T>(allgather_bytes(std::as_bytes(std::span<const T>(local))));
  }
  template <class T>
  void broadcast(std::vector<T>& values) {
    static_assert(std::is_trivially_copyable_v<T>);
    std::vector<std::byte> bytes;
    if (is_root()) bytes = to_bytes(std::span<const T>(values));
    broadcast_bytes(bytes);
    values = from_bytes<T>(bytes);
  }
  template <class T>
  void broadcast(T& value) {
    std::vector<T> values{value};
    broadcast(values);
    value = values.at(0);
  }
  std::int64_t sum(std::int64_t value) {
    sum_int64(std::span<std::int64_t>(&value, 1));
    return value;
  }

  template <class T>
  static std::vector<std::byte> to_bytes(std::span<const T> values) {
    const auto bytes = std::as_bytes(values);
    return {bytes.begin(), bytes.end()};
  }
  template <class T>
  static std::vector<T> from_bytes(const std::vector<std::byte>& bytes) {
    std::vector<T> values(bytes.size() / sizeof(T));
    if (!values.empty()) std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
    return values;
  }
};

// The one-rank implementation: every operation is local. Used where a run has one
// process and by unit tests of the sampler's arithmetic; multi-rank runs use MpiCollectives.
class SerialCollectives final : public Collectives {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::vector<std::byte> gather_bytes(std::span<const std::byte> local) override {
    return {local.begin(), local.end()};
  }
  std::vector<std::byte> allgather_bytes(std::span<const std::byte> local) override {
    return {local.begin(), local.end()};
  }
  void broadcast_bytes(std::vector<std::byte>&) override {}
  void sum_int64(std::span<std::int64_t>) override {}
  void max_double(std::span<double>) override {}
  void max_uint8(std::span<std::uint8_t>) override {}
  std::int64_t exclusive_scan_int64(std::int64_t) override { return 0; }
  void barrier() override {}
  std::int64_t bytes_moved() const override { return 0; }
};

}  // namespace manyworlds
