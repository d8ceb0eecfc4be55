// Normalised scores of strategies per world and bootstrap confidence intervals over worlds.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace manyworlds {

// 100 x (R - R_constant) / (R_hindsight - R_constant): 0 is the tuned constant bid, 100 the hindsight
// optimum of the world. The denominator is at least floor x |R_hindsight| (and positive), so a world
// where the constant bid is already near the optimum cannot blow a score up.
double normalised_score(double value, double constant, double hindsight, double floor);

// A mean and its percentile bootstrap 95% confidence interval.
struct Interval {
  double mean = 0;
  double low = 0;
  double high = 0;
};

// Resamples of a set of `worlds` worlds, drawn with replacement from one Philox stream: the same
// resamples serve every strategy, so intervals of differences are paired.
class Bootstrap {
 public:
  Bootstrap(std::uint64_t seed, std::size_t worlds, int samples);

  // Mean of values[w] over the worlds where `include` is true (nonzero entries; all when empty), with the 2.5% and
  // 97.5% percentiles of the resampled means (resamples without an included world are skipped);
  // NaN everywhere when no world is included.
  Interval mean(std::span<const double> values, std::span<const std::uint8_t> include = {}) const;

 private:
  std::size_t worlds_;
  std::vector<std::uint32_t> counts_;  // [sample][world]: how often the sample drew the world
  int samples_;
};

}  // namespace manyworlds
