// The constant, value-proportional and pacing-only baselines, and the tuning grids of every baseline.
#include "manyworlds/learn/baselines.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "manyworlds/learn/references.hpp"
#include "manyworlds/world/observation.hpp"

namespace manyworlds {
namespace {

float checked_bound(double max_abs_log_multiplier) {
  if (!(max_abs_log_multiplier > 0.0)) {
    throw std::invalid_argument("a baseline's max_abs_log_multiplier must be positive, got " +
                                std::to_string(max_abs_log_multiplier));
  }
  return static_cast<float>(max_abs_log_multiplier);
}

void add_grid(std::vector<BaselineSpec>& out, BaselineFamily family, const std::vector<double>& a,
              const std::vector<double>& b) {
  for (double x : a)
    for (double y : b) out.push_back({family, x, y});
}

}  // namespace

int choose_creative(CreativeChoice choice, int creatives, const DecisionNoise& noise) {
  if (choice == CreativeChoice::first) return 0;
  return std::min(creatives - 1, static_cast<int>(noise.uniform * creatives));
}

ConstantBid::ConstantBid(float log_multiplier, CreativeChoice choice)
    : log_multiplier_(log_multiplier), choice_(choice) {}

Action ConstantBid::act(const Observation&, int creatives, const DecisionNoise& noise) {
  return {log_multiplier_, choose_creative(choice_, creatives, noise), 0.0f};
}

ValueProportionalBid::ValueProportionalBid(double log_offset, double max_abs_log_multiplier)
    : log_offset_(static_cast<float>(log_offset)), bound_(checked_bound(max_abs_log_multiplier)) {}

Action ValueProportionalBid::act(const Observation& obs, int creatives, const DecisionNoise& noise) {
  const float x = obs[obs::log_value_per_click] + log_offset_;
  return {std::clamp(x, -bound_, bound_), choose_creative(CreativeChoice::rotate, creatives, noise), 0.0f};
}

PacingOnlyBid::PacingOnlyBid(double log_multiplier, double gain, double max_abs_log_multiplier)
    : log_multiplier_(static_cast<float>(log_multiplier)),
      gain_(static_cast<float>(gain)),
      bound_(checked_bound(max_abs_log_multiplier)) {
  if (!(gain >= 0.0)) throw std::invalid_argument("PacingOnlyBid needs gain >= 0, got " + std::to_string(gain));
}

Action PacingOnlyBid::act(const Observation& obs, int creatives, const DecisionNoise& noise) {
  const float x = log_multiplier_ - gain_ * obs[obs::pacing_gap];
  return {std::clamp(x, -bound_, bound_), choose_creative(CreativeChoice::rotate, creatives, noise), 0.0f};
}

const char* to_string(BaselineFamily family) {
  switch (family) {
    case BaselineFamily::constant_bid:
      return "constant_bid";
    case BaselineFamily::value_proportional_bid:
      return "value_proportional_bid";
    case BaselineFamily::pacing_only_bid:
      return "pacing_only_bid";
    case BaselineFamily::adaptive_pacing:
      return "adaptive_pacing";
  }
  return "?";
}

std::vector<BaselineSpec> baseline_candidates() {
  std::vector<BaselineSpec> out;
  add_grid(out, BaselineFamily::constant_bid, {-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5}, {0.0});
  add_grid(out, BaselineFamily::value_proportional_bid, {-2.0, -1.75, -1.5, -1.25, -1.0, -0.75, -0.5, -0.25, 0.0},
           {0.0});
  add_grid(out, BaselineFamily::pacing_only_bid, {-0.5, -0.25, 0.0, 0.25}, {1.0, 2.0, 4.0, 8.0});
  add_grid(out, BaselineFamily::adaptive_pacing, {-1.0, -0.75, -0.5, -0.25, 0.0}, {2.0, 5.0, 10.0, 20.0, 50.0});
  return out;
}

std::unique_ptr<BidPolicy> make_baseline(const BaselineSpec& spec, double max_abs_log_multiplier) {
  switch (spec.family) {
    case BaselineFamily::constant_bid:
      return std::make_unique<ConstantBid>(static_cast<float>(spec.a), CreativeChoice::rotate);
    case BaselineFamily::value_proportional_bid:
      return std::make_unique<ValueProportionalBid>(spec.a, max_abs_log_multiplier);
    case BaselineFamily::pacing_only_bid:
      return std::make_unique<PacingOnlyBid>(spec.a, spec.b, max_abs_log_multiplier);
    case BaselineFamily::adaptive_pacing: {
      AdaptivePacingSettings settings;
      settings.offset = spec.a;
      settings.step = spec.b;
      return std::make_unique<AdaptivePacingBid>(settings, max_abs_log_multiplier);
    }
  }
  throw std::invalid_argument("unknown baseline family");
}

std::vector<BaselineSpec> best_per_family(const std::vector<BaselineSpec>& candidates,
                                          const std::vector<double>& total_return) {
  std::vector<BaselineSpec> best(baseline_families);
  std::vector<double> best_return(baseline_families, -HUGE_VAL);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto family = static_cast<std::size_t>(candidates[i].family);
    if (total_return[i] > best_return[family]) {
      best_return[family] = total_return[i];
      best[family] = candidates[i];
    }
  }
  return best;
}

std::string describe(const BaselineSpec& spec) {
  char text[160];
  switch (spec.family) {
    case BaselineFamily::constant_bid:
      std::snprintf(text, sizeof text, "constant_bid(log multiplier %+.2f)", spec.a);
      break;
    case BaselineFamily::value_proportional_bid:
      std::snprintf(text, sizeof text, "value_proportional_bid(log offset %+.2f)", spec.a);
      break;
    case BaselineFamily::pacing_only_bid:
      std::snprintf(text, sizeof text, "pacing_only_bid(log multiplier %+.2f, gain %.3g)", spec.a, spec.b);
      break;
    case BaselineFamily::adaptive_pacing:
      std::snprintf(text, sizeof text, "adaptive_pacing(offset %+.2f, step %.3g)", spec.a, spec.b);
      break;
  }
  return text;
}

}  // namespace manyworlds
