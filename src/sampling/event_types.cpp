// Event typing by ground truth, metadata keywords and an exact global value percentile.
#include "manyworlds/sampling/event_types.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "manyworlds/core/errors.hpp"

namespace manyworlds {

double IdentificationCounts::precision() const {
  const std::int64_t identified = true_positive + false_positive;
  return identified == 0 ? 1.0 : static_cast<double>(true_positive) / static_cast<double>(identified);
}

double IdentificationCounts::recall() const {
  const std::int64_t actual = true_positive + false_negative;
  return actual == 0 ? 1.0 : static_cast<double>(true_positive) / static_cast<double>(actual);
}

EventTyper::EventTyper(const EventTypeSection& config, const std::vector<std::string>& tag_vocabulary)
    : config_(config) {
  for (const std::string& keyword : config.keywords) {
    const auto found = std::find(tag_vocabulary.begin(), tag_vocabulary.end(), keyword);
    if (found == tag_vocabulary.end()) {
      std::string known;
      for (const std::string& tag : tag_vocabulary) known += (known.empty() ? "" : ", ") + tag;
      throw InputError("'sampling.events.keywords' names '" + keyword +
                       "', which is not a tag of the priors file; known tags: " + known);
    }
    keyword_mask_ |= 1u << (found - tag_vocabulary.begin());
  }
}

float global_value_percentile(std::span<const Experience> experiences, double percentile, Collectives& collectives) {
  const std::int64_t total = collectives.sum(static_cast<std::int64_t>(experiences.size()));
  if (total == 0) return 0.0f;
  // Rank (1-based) of the order statistic that is the percentile. Dividing last keeps it exact for
  // whole percentiles (percentile / 100 first makes 14% of 50 come out as 7.000000000000001).
  const auto wanted =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(percentile * static_cast<double>(total) / 100.0)));
  // The values contiguous (the bisection reads them ~31 times; Experience records are 128 bytes).
  std::vector<float> values(experiences.size());
  for (std::size_t i = 0; i < experiences.size(); ++i) values[i] = experiences[i].conversion_value;
  // Non-negative floats order like their bit patterns: bisect on [0, +inf bits].
  std::uint32_t low = 0;
  std::uint32_t high = std::bit_cast<std::uint32_t>(std::numeric_limits<float>::infinity());
  while (low < high) {
    const std::uint32_t middle = low + (high - low) / 2;
    const float candidate = std::bit_cast<float>(middle);
    std::int64_t at_most = 0;
    for (const float value : values) at_most += value <= candidate ? 1 : 0;
    if (collectives.sum(at_most) >= wanted) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  return std::bit_cast<float>(low);
}

IdentificationCounts EventTyper::classify(std::span<Experience> experiences, Collectives& collectives) const {
  const bool needs_threshold = std::find(config_.precedence.begin(), config_.precedence.end(),
                                         EventSource::value_percentile) != config_.precedence.end();
  const float threshold =
      needs_threshold ? global_value_percentile(experiences, config_.value_percentile, collectives) : 0.0f;

  std::int64_t counts[4] = {0, 0, 0, 0};  // tp, fp, fn, tn
  for (Experience& e : experiences) {
    bool crisis = false;
    for (EventSource source : config_.precedence) {
      if (source == EventSource::ground_truth) {  // decides both ways
        crisis = e.crisis_truth();
        break;
      }
      if (source == EventSource::keywords && (e.tags & keyword_mask_) != 0) {
        crisis = true;
        break;
      }
      if (source == EventSource::value_percentile && e.conversion_value > threshold) {
        crisis = true;
        break;
      }
    }
    e.event_type = static_cast<std::uint8_t>(crisis ? EventType::crisis : EventType::regular);
    const bool truth = e.crisis_truth();
    ++counts[crisis ? (truth ? 0 : 1) : (truth ? 2 : 3)];
  }
  collectives.sum_int64(counts);
  return {counts[0], counts[1], counts[2], counts[3]};
}

}  // namespace manyworlds
