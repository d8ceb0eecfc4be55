// A Collectives decorator that measures the wall-clock time spent inside collective operations.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "manyworlds/core/collectives.hpp"

namespace manyworlds {

// Forwards every operation to `inner` and adds the time it took (transfer plus waiting for the
// other ranks) to seconds(), and one to calls(). `inner` must outlive this object.
class TimedCollectives final : public Collectives {
  template <class Operation>
  auto timed(Operation&& operation) {
    const auto start = std::chrono::steady_clock::now();
    auto result = operation();
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++calls_;
    return result;
  }

 public:
  explicit TimedCollectives(Collectives& inner) : inner_(&inner) {}

  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  std::vector<std::byte> gather_bytes(std::span<const std::byte> local) override {
    return timed([&] { return inner_->gather_bytes(local); });
  }
  std::vector<std::byte> allgather_bytes(std::span<const std::byte> local) override {
    return timed([&] { return inner_->allgather_bytes(local); });
  }
  void broadcast_bytes(std::vector<std::byte>& bytes) override {
    timed([&] {
      inner_->broadcast_bytes(bytes);
      return 0;
    });
  }
  void sum_int64(std::span<std::int64_t> values) override {
    timed([&] {
      inner_->sum_int64(values);
      return 0;
    });
  }
  void max_double(std::span<double> values) override {
    timed([&] {
      inner_->max_double(values);
      return 0;
    });
  }
  void max_uint8(std::span<std::uint8_t> values) override {
    timed([&] {
      inner_->max_uint8(values);
      return 0;
    });
  }
  std::int64_t exclusive_scan_int64(std::int64_t value) override {
    return timed([&] { return inner_->exclusive_scan_int64(value); });
  }
  void barrier() override {
    timed([&] {
      inner_->barrier();
      return 0;
    });
  }
  std::int64_t bytes_moved() const override { return inner_->bytes_moved(); }

  double seconds() const { return seconds_; }
  std::int64_t calls() const { return calls_; }

 private:
  Collectives* inner_;
  double seconds_ = 0;
  std::int64_t calls_ = 0;
};

}  // namespace manyworlds
