// Held-out evaluation: episodes of strategies, baseline tuning returns, normalised-score summaries.
#include "manyworlds/learn/evaluation.hpp"

#include "manyworlds/learn/references.hpp"

namespace manyworlds {

std::vector<EpisodeStats> evaluate(std::span<World> worlds, BidPolicy& strategy, std::vector<Experience>& scratch,
                                   std::size_t capacity) {
  std::vector<EpisodeStats> outcomes;
  outcomes.reserve(worlds.size());
  for (World& world : worlds) {
    scratch.clear();
    outcomes.push_back(world.run_episode(evaluation_episode, strategy, scratch, capacity));
  }
  return outcomes;
}

std::vector<double> candidate_returns(std::span<World> worlds, const std::vector<BaselineSpec>& candidates,
                                      double max_abs_log_multiplier, std::vector<Experience>& scratch,
                                      std::size_t capacity) {
  std::vector<double> returns;
  returns.reserve(candidates.size() * worlds.size());
  for (const BaselineSpec& spec : candidates) {
    const auto baseline = make_baseline(spec, max_abs_log_multiplier);
    for (const EpisodeStats& outcome : evaluate(worlds, *baseline, scratch, capacity))
      returns.push_back(expected_return(outcome));
  }
  return returns;
}

std::vector<std::string> test_strategy_names() {
  std::vector<std::string> names{"policy", "final_policy", "hindsight"};
  for (int f = 0; f < baseline_families; ++f) names.emplace_back(to_string(static_cast<BaselineFamily>(f)));
  return names;
}

int test_strategy_of(BaselineFamily family) {
  return static_cast<int>(TestStrategy::first_baseline) + static_cast<int>(family);
}

bool succeeds(const EpisodeStats& outcome, double robust_roas) {
  return outcome.expected_spend > 0 && outcome.expected_value >= robust_roas * outcome.expected_spend;
}

ScoreSummary summarize(const ScoreInputs& inputs, const Bootstrap& bootstrap) {
  const std::size_t worlds = inputs.constant.size();
  const auto strategies = static_cast<std::size_t>(inputs.strategies);
  ScoreSummary summary;
  summary.score.resize(strategies * worlds);
  summary.mean_return.assign(strategies, 0.0);
  summary.success_share.assign(strategies, 0.0);
  for (std::size_t s = 0; s < strategies; ++s) {
    for (std::size_t w = 0; w < worlds; ++w) {
      const EpisodeStats& outcome = inputs.outcomes[s * worlds + w];
      summary.score[s * worlds + w] =
          normalised_score(expected_return(outcome), inputs.constant[w], inputs.hindsight[w], inputs.floor);
      summary.mean_return[s] += expected_return(outcome) / static_cast<double>(worlds);
      summary.success_share[s] += succeeds(outcome, inputs.robust_roas) ? 1.0 / static_cast<double>(worlds) : 0.0;
    }
  }
  const auto scores_of = [&](std::size_t s) {
    return std::span<const double>(summary.score).subspan(s * worlds, worlds);
  };
  const std::span<const double> reference = scores_of(static_cast<std::size_t>(inputs.comparison));
  std::vector<double> difference(worlds);
  std::vector<std::uint8_t> include(worlds);
  for (std::size_t s = 0; s < strategies; ++s) {
    summary.overall.push_back(bootstrap.mean(scores_of(s)));
    for (std::size_t w = 0; w < worlds; ++w) difference[w] = scores_of(s)[w] - reference[w];
    summary.versus.push_back(bootstrap.mean(difference));
    for (int t = 0; t < inputs.type_count; ++t) {
      for (std::size_t w = 0; w < worlds; ++w) include[w] = inputs.world_types[w] == t ? 1 : 0;
      summary.by_type.push_back(bootstrap.mean(scores_of(s), include));
    }
  }
  return summary;
}

}  // namespace manyworlds
