// Normalised scores and the paired percentile bootstrap over worlds.
#include "manyworlds/learn/scores.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "manyworlds/core/random.hpp"

namespace manyworlds {

double normalised_score(double value, double constant, double hindsight, double floor) {
  const double scale = std::max({hindsight - constant, floor * std::fabs(hindsight), 1e-12});
  return 100.0 * (value - constant) / scale;
}

Bootstrap::Bootstrap(std::uint64_t seed, std::size_t worlds, int samples)
    : worlds_(worlds), counts_(worlds * static_cast<std::size_t>(samples), 0), samples_(samples) {
  for (int s = 0; s < samples; ++s) {
    Stream stream(seed, Purpose::bootstrap, 0, static_cast<std::uint32_t>(s));
    std::uint32_t* counts = counts_.data() + static_cast<std::size_t>(s) * worlds;
    for (std::size_t draw = 0; draw < worlds; ++draw) ++counts[stream.below(static_cast<std::uint32_t>(worlds))];
  }
}

Interval Bootstrap::mean(std::span<const double> values, std::span<const std::uint8_t> include) const {
  const auto included = [&](std::size_t w) { return include.empty() || include[w] != 0; };
  Interval result;
  double sum = 0;
  std::size_t count = 0;
  for (std::size_t w = 0; w < worlds_; ++w) {
    if (!included(w)) continue;
    sum += values[w];
    ++count;
  }
  if (count == 0) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return {nan, nan, nan};
  }
  result.mean = sum / static_cast<double>(count);
  std::vector<double> means;
  means.reserve(static_cast<std::size_t>(samples_));
  for (int s = 0; s < samples_; ++s) {
    const std::uint32_t* counts = counts_.data() + static_cast<std::size_t>(s) * worlds_;
    double total = 0;
    double weight = 0;
    for (std::size_t w = 0; w < worlds_; ++w) {
      if (!included(w) || counts[w] == 0) continue;
      total += counts[w] * values[w];
      weight += counts[w];
    }
    if (weight > 0) means.push_back(total / weight);
  }
  std::sort(means.begin(), means.end());
  const auto percentile = [&](double p) {
    const double position = p * static_cast<double>(means.size() - 1);
    const auto below = static_cast<std::size_t>(position);
    const std::size_t above = std::min(below + 1, means.size() - 1);
    return means[below] + (position - static_cast<double>(below)) * (means[above] - means[below]);
  };
  result.low = percentile(0.025);
  result.high = percentile(0.975);
  return result;
}

}  // namespace manyworlds
