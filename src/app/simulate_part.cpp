// The simulate and classify parts of an iteration: episodes of a rank's worlds, values, advantages, event types.
#include <algorithm>

#include "manyworlds/app/iteration_parts.hpp"
#include "manyworlds/learn/gae.hpp"
#include "manyworlds/learn/inference_policy.hpp"

namespace manyworlds {

SimulatePart::SimulatePart(const JobConfig& config, const PolicyModel& model, std::size_t lanes)
    : config_(config),
      model_(model),
      capacity_(static_cast<std::size_t>(config.run.max_experiences_per_rank)),
      lockstep_(std::max<std::size_t>(1, lanes)) {}

void SimulatePart::reserve(std::size_t experiences) { experiences_.reserve(std::min(experiences, capacity_)); }

SimulatePart::Result SimulatePart::run(int iteration, std::span<World> worlds, const std::vector<double>& parameters) {
  InferencePolicy policy(model_, parameters, InferencePolicy::Mode::sample);
  experiences_.clear();
  const int episodes = config_.run.episodes_per_iteration;
  Result result;
  result.summaries.resize(worlds.size());
  std::vector<std::int64_t> rows(worlds.size(), 0);
  const auto finish_episode = [&](std::size_t w, const EpisodeStats& stats, std::span<Experience> episode) {
    result.summaries[w].stats += stats;
    rows[w] += static_cast<std::int64_t>(episode.size());
    if (episode.empty()) return;
    value_scratch_.resize(episode.size());
    policy.values(episode.data(), episode.size(), value_scratch_.data());
    for (std::size_t i = 0; i < episode.size(); ++i) episode[i].value_estimate = value_scratch_[i];
    const RewardSpec reward{config_.world.reward,       config_.ppo.reward_scale, config_.ppo.lagrangian,
                            config_.ppo.counterfactual, config_.ppo.budget_price, stats.budget};
    compute_gae(episode, config_.ppo.gamma, config_.ppo.gae_lambda, reward);
  };
  lockstep_.run(worlds, static_cast<std::uint32_t>(iteration * episodes), episodes, policy, experiences_, capacity_,
                finish_episode);
  std::int64_t begin = 0;
  for (std::size_t w = 0; w < worlds.size(); ++w) {
    const std::int64_t end = begin + rows[w];
    for (auto i = static_cast<std::size_t>(begin); i < static_cast<std::size_t>(end); ++i)
      result.summaries[w].log_multiplier_sum += experiences_[i].log_bid_multiplier;
    result.slices.push_back({worlds[w].params().world_id, begin, end});
    begin = end;
  }
  return result;
}

ClassifyPart::ClassifyPart(const JobConfig& config, const Priors& priors)
    : typer_(config.sampling.events, priors.tags) {}

IdentificationCounts ClassifyPart::run(std::span<Experience> experiences, Collectives& collectives) const {
  return typer_.classify(experiences, collectives);
}

}  // namespace manyworlds
