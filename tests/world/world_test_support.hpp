// Shared by the world, calibration and learn tests: the default priors, byte comparison of experiences, the reference
// bidder and an exploring constant bidder.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "manyworlds/core/experience.hpp"
#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/priors.hpp"

namespace manyworlds::testing_support {

inline const std::string default_priors_path = MANYWORLDS_SOURCE_DIR "/jobs/priors/default.toml";

// The repository's default priors, parsed once per test executable.
inline const Priors& default_priors() {
  static const Priors priors = load_priors(default_priors_path);
  return priors;
}

// Whether two runs wrote the same experiences, byte for byte.
inline bool same_bytes(const std::vector<Experience>& a, const std::vector<Experience>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(Experience)) == 0;
}

// The reference bid (log multiplier 0) and the first creative at every decision: a fixed bidder for
// tests of the model alone (learn/'s ConstantBid with its defaults, which tests below learn/ cannot include).
class ReferenceBid : public BidPolicy {
 public:
  Action act(const Observation&, int, const DecisionNoise&) override { return {0.0f, 0, 0.0f}; }
};

// A constant log bid multiplier `level` plus `spread` x the decision's normal noise; the creative
// uniform from the decision's uniform noise. Stateless: a decision depends only on its noise.
class NoisyConstantBid : public BidPolicy {
 public:
  NoisyConstantBid(float level, float spread) : level_(level), spread_(spread) {}
  Action act(const Observation&, int creatives, const DecisionNoise& noise) override {
    Action action;
    action.log_bid_multiplier = level_ + spread_ * static_cast<float>(noise.normal);
    action.creative = std::min(creatives - 1, static_cast<int>(noise.uniform * creatives));
    action.log_prob = -0.5f * static_cast<float>(noise.normal * noise.normal);
    return action;
  }

 private:
  float level_;
  float spread_;
};

}  // namespace manyworlds::testing_support
