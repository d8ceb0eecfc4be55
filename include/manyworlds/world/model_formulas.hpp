// The market model's formulas that more than one place evaluates (the world, drawing a world, calibration).
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>

#include "manyworlds/world/priors.hpp"

namespace manyworlds::model {

inline constexpr double two_pi = 2.0 * std::numbers::pi;

// Click-through multiplier of an hour of the day: 1 + amplitude cos(2 pi (hour - evening peak) / 24).
inline double hour_ctr_factor(const Priors& priors, int hour) {
  return 1.0 + priors.hour_ctr_amplitude * std::cos(two_pi * (hour - priors.evening_peak_hour) / 24.0);
}

// Chance that a click converts: segment cvr x (1 - device feature gap x segment feature dependence) x query
// effect x the world's cvr level, at most 1.
inline double conversion_probability(const Priors& priors, const SegmentPrior& segment, const DevicePrior& device,
                                     int query, double cvr_level) {
  return std::min(1.0, segment.cvr * (1.0 - device.feature_gap * segment.feature_dependence) *
                           priors.queries[query].cvr_multiplier * cvr_level);
}

// Standard normal distribution function Phi(z).
inline double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// Chance that a log-normal delay (median, sigma) is at most `window`: Phi((ln window - ln median) / sigma).
inline double share_within(double log_window, double log_median, double sigma) {
  return normal_cdf((log_window - log_median) / std::max(sigma, 1e-12));
}

// Mean of a log-normal variable: median x exp(sigma^2 / 2).
inline double lognormal_mean(double median, double sigma) { return median * std::exp(0.5 * sigma * sigma); }

}  // namespace manyworlds::model
