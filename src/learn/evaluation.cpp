// Held-out evaluation of the learned policy and the baselines.
#include "manyworlds/learn/evaluation.hpp"

#include <limits>

#include "manyworlds/learn/baselines.hpp"

namespace manyworlds {

namespace {
constexpr double pacing_gain = 3.0;   // the pacing baseline's log-bid change per unit of pacing gap
constexpr double value_bid_roas = 1.5; // the value-proportional baseline bids value per click / this
}  // namespace

std::vector<std::string> evaluation_strategy_names() {
  return {"policy", "constant_bid", "value_proportional_bid", "pacing_only_bid"};
}

std::vector<std::unique_ptr<BidPolicy>> make_baselines(const PolicySection& policy) {
  std::vector<std::unique_ptr<BidPolicy>> baselines;
  baselines.push_back(std::make_unique<ConstantBid>());
  baselines.push_back(std::make_unique<ValueProportionalBid>(value_bid_roas, policy.max_abs_log_multiplier));
  baselines.push_back(std::make_unique<PacingOnlyBid>(pacing_gain, policy.max_abs_log_multiplier));
  return baselines;
}

std::vector<EpisodeStats> evaluate(std::span<World> worlds, std::span<BidPolicy* const> strategies,
                                   std::vector<Experience>& scratch, std::size_t capacity) {
  std::vector<EpisodeStats> outcomes;
  outcomes.reserve(strategies.size() * worlds.size());
  for (BidPolicy* strategy : strategies) {
    for (World& world : worlds) {
      scratch.clear();
      outcomes.push_back(world.run_episode(evaluation_episode, *strategy, scratch, capacity));
    }
  }
  return outcomes;
}

bool succeeds(const EpisodeStats& outcome, double robust_roas) {
  return outcome.expected_spend > 0 && outcome.expected_value >= robust_roas * outcome.expected_spend;
}

Robustness robustness(std::span<const EpisodeStats> outcomes, std::span<const int> world_types, int strategies,
                      int type_count, double robust_roas) {
  const std::size_t worlds = world_types.size();
  Robustness result;
  result.success_share.assign(strategies, 0.0);
  result.mean_return.assign(strategies, 0.0);
  result.success_share_by_type.assign(static_cast<std::size_t>(strategies) * type_count, 0.0);
  std::vector<double> type_worlds(type_count, 0.0);
  for (int type : world_types) type_worlds[type] += 1.0;
  for (int s = 0; s < strategies; ++s) {
    for (std::size_t w = 0; w < worlds; ++w) {
      const EpisodeStats& outcome = outcomes[s * worlds + w];
      const double success = succeeds(outcome, robust_roas) ? 1.0 : 0.0;
      result.success_share[s] += success;
      result.success_share_by_type[s * type_count + world_types[w]] += success;
      result.mean_return[s] += outcome.expected_value - outcome.expected_spend;
    }
    result.success_share[s] /= static_cast<double>(worlds);
    result.mean_return[s] /= static_cast<double>(worlds);
    for (int t = 0; t < type_count; ++t) {
      double& share = result.success_share_by_type[s * type_count + t];
      share = type_worlds[t] > 0 ? share / type_worlds[t] : std::numeric_limits<double>::quiet_NaN();
    }
  }
  return result;
}

}  // namespace manyworlds
