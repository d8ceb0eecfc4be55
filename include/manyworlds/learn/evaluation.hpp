// Evaluation of bidding strategies on held-out worlds, and the robustness criterion.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "manyworlds/core/config.hpp"
#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/world.hpp"

namespace manyworlds {

// The episode index every evaluation uses: all strategies and rounds meet the same users and
// auctions (common random numbers), so their differences are not noise between episodes.
inline constexpr std::uint32_t evaluation_episode = 0;

// Names of the evaluated strategies, in output order: the learned policy first, then the baselines.
std::vector<std::string> evaluation_strategy_names();

// The baselines, in the order of evaluation_strategy_names() after the policy.
std::vector<std::unique_ptr<BidPolicy>> make_baselines(const PolicySection& policy);

// Runs one evaluation episode of every strategy on every world; the result is strategy-major
// ([strategy][world]). `scratch` holds the episodes' experiences (discarded).
std::vector<EpisodeStats> evaluate(std::span<World> worlds, std::span<BidPolicy* const> strategies,
                                   std::vector<Experience>& scratch, std::size_t capacity);

// A strategy succeeds in a world when its expected ROAS (expected value / expected spend of the ads
// it won, see EpisodeStats) reaches `robust_roas`; a world where it won nothing is not a success.
bool succeeds(const EpisodeStats& outcome, double robust_roas);

// From all held-out outcomes ([strategy][world]) and the worlds' types: the share of worlds where
// each strategy succeeds ([strategy]) and the same per world type ([strategy][type]; NaN for a
// type without worlds).
struct Robustness {
  std::vector<double> success_share;
  std::vector<double> success_share_by_type;
  std::vector<double> mean_return;   // [strategy]: mean expected return (expected value - expected spend)
};
Robustness robustness(std::span<const EpisodeStats> outcomes, std::span<const int> world_types, int strategies,
                      int type_count, double robust_roas);

}  // namespace manyworlds
