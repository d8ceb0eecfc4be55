// Evaluation of bidding strategies on worlds never trained on: episodes, normalised scores, summaries.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "manyworlds/learn/baselines.hpp"
#include "manyworlds/learn/scores.hpp"
#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/world.hpp"

namespace manyworlds {

// The episode index every evaluation plays: all strategies and rounds meet the same users and
// auctions (common random numbers), and no training iteration ever plays it.
inline constexpr std::uint32_t evaluation_episode = 0x7fffffff;

// One evaluation episode of `strategy` on every world, in order. `scratch` holds the episodes'
// experiences (discarded).
std::vector<EpisodeStats> evaluate(std::span<World> worlds, BidPolicy& strategy, std::vector<Experience>& scratch,
                                   std::size_t capacity);

// Expected returns of every candidate on every world, [candidate][world].
std::vector<double> candidate_returns(std::span<World> worlds, const std::vector<BaselineSpec>& candidates,
                                      double max_abs_log_multiplier, std::vector<Experience>& scratch,
                                      std::size_t capacity);

// The strategies judged on the test worlds, in output order: the reported policy (the snapshot
// chosen on the validation worlds), the last iterate, the hindsight optimum, then the tuned
// baselines in BaselineFamily order.
enum class TestStrategy { policy = 0, final_policy = 1, hindsight = 2, first_baseline = 3 };
std::vector<std::string> test_strategy_names();
int test_strategy_of(BaselineFamily family);

// A strategy succeeds in a world when its expected ROAS (expected value / expected spend of the ads
// it won) reaches `robust_roas`; a world where it won nothing is not a success.
bool succeeds(const EpisodeStats& outcome, double robust_roas);

// How strategies did on one set of worlds, from their outcomes ([strategy][world]).
struct ScoreInputs {
  std::span<const EpisodeStats> outcomes;  // [strategy][world]
  int strategies = 0;
  std::span<const double> constant;   // [world]: the tuned constant bid's expected return (score 0)
  std::span<const double> hindsight;  // [world]: the hindsight optimum's expected return (score 100)
  std::span<const int> world_types;   // [world]
  int type_count = 0;
  int comparison = 0;   // strategy the paired differences are taken against
  double floor = 0.05;  // see normalised_score
  double robust_roas = 1;
};
struct ScoreSummary {
  std::vector<double> score;          // [strategy][world]
  std::vector<Interval> overall;      // [strategy]: mean normalised score, bootstrap 95% CI over worlds
  std::vector<Interval> by_type;      // [strategy][type]
  std::vector<Interval> versus;       // [strategy]: paired mean difference of scores to `comparison`
  std::vector<double> mean_return;    // [strategy]: mean expected return per world
  std::vector<double> success_share;  // [strategy]: share of worlds where it succeeds
};
ScoreSummary summarize(const ScoreInputs& inputs, const Bootstrap& bootstrap);

}  // namespace manyworlds
