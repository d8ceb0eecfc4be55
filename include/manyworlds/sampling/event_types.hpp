// Assigning event types (crisis / regular) to experiences, and measuring that against ground truth.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "manyworlds/core/collectives.hpp"
#include "manyworlds/core/config.hpp"
#include "manyworlds/core/experience.hpp"

namespace manyworlds {

// Confusion counts of the identification against the simulator's ground truth (all ranks).
struct IdentificationCounts {
  std::int64_t true_positive = 0;
  std::int64_t false_positive = 0;
  std::int64_t false_negative = 0;
  std::int64_t true_negative = 0;

  double precision() const;  // 1 when nothing was identified
  double recall() const;     // 1 when there is nothing to find
};

class EventTyper {
 public:
  // `tag_vocabulary` is the priors' tag list; every keyword must be in it (InputError otherwise).
  EventTyper(const EventTypeSection& config, const std::vector<std::string>& tag_vocabulary);

  // Sets event_type of every local experience; collective (the value percentile spans all ranks).
  IdentificationCounts classify(std::span<Experience> experiences, Collectives& collectives) const;

  std::uint32_t keyword_mask() const { return keyword_mask_; }

 private:
  EventTypeSection config_;
  std::uint32_t keyword_mask_ = 0;
};

// The smallest conversion value v such that at least `percentile`% of all experiences (over
// all ranks) have conversion_value <= v. Exact: bisection on the float bit patterns with
// integer counts (32 rounds of an 8-byte sum), identical for any number of ranks.
float global_value_percentile(std::span<const Experience> experiences, double percentile, Collectives& collectives);

}  // namespace manyworlds
