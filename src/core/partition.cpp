// Contiguous partitions of world ids over ranks: equal blocks and blocks of balanced cost.
#include "manyworlds/core/partition.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

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

namespace {

double clean(double cost) { return cost > 0 ? cost : 0.0; }  // NaN fails the comparison too

// Blocks from the left, each closed before it would exceed `capacity` or when every id left is
// needed to give each later part one; empty if more than `parts` blocks would be needed.
std::vector<std::int64_t> fill(std::span<const double> costs, int parts, double capacity) {
  const auto count = static_cast<std::int64_t>(costs.size());
  std::vector<std::int64_t> bounds{0};
  double load = 0;
  for (std::int64_t id = 0; id < count; ++id) {
    const auto part = static_cast<std::int64_t>(bounds.size()) - 1;
    const double cost = clean(costs[static_cast<std::size_t>(id)]);
    const bool started = id > bounds.back();
    if (started && (load + cost > capacity || count - id == parts - 1 - part)) {
      if (part + 1 == parts) return {};
      bounds.push_back(id);
      load = 0;
    }
    load += cost;
    if (load > capacity) return {};
  }
  bounds.push_back(count);
  return bounds;
}

}  // namespace

std::vector<std::int64_t> balanced_bounds(std::span<const double> costs, int parts) {
  if (parts < 1 || static_cast<std::size_t>(parts) > costs.size())
    throw std::invalid_argument("balanced_bounds: " + std::to_string(parts) + " parts for " +
                                std::to_string(costs.size()) + " ids");
  double total = 0;
  for (double cost : costs) total += clean(cost);
  double low = 0;
  double high = total;
  for (int step = 0; step < 60; ++step) {
    const double middle = low + (high - low) / 2;
    if (fill(costs, parts, middle).empty()) {
      low = middle;
    } else {
      high = middle;
    }
  }
  return fill(costs, parts, high);
}

double imbalance_of(std::span<const double> costs, std::span<const std::int64_t> bounds) {
  double total = 0;
  double largest = 0;
  for (std::size_t part = 0; part + 1 < bounds.size(); ++part) {
    double load = 0;
    for (std::int64_t id = bounds[part]; id < bounds[part + 1]; ++id)
      load += clean(costs[static_cast<std::size_t>(id)]);
    total += load;
    largest = std::max(largest, load);
  }
  const double parts = static_cast<double>(bounds.size() - 1);
  return total > 0 ? largest / (total / parts) : 1.0;
}

}  // namespace manyworlds
