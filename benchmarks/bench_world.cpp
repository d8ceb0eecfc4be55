// Benchmarks of World::run_episode on default-priors worlds: agent decisions, auctions and episodes per second per core.
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "manyworlds/core/config.hpp"
#include "manyworlds/core/experience.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/learn/inference_policy.hpp"
#include "manyworlds/learn/policy_model.hpp"
#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world.hpp"
#include "manyworlds/world/world_params.hpp"

namespace manyworlds {
namespace {

constexpr double horizon_days = 7.0;   // the default job's campaign horizon
constexpr std::uint32_t world_count = 16;
constexpr std::uint64_t seed = 1;

// Default-priors worlds, built once (construction and population draws are not timed).
struct Worlds {
  Priors priors = load_priors(MANYWORLDS_SOURCE_DIR "/jobs/priors/default.toml");
  std::vector<std::unique_ptr<World>> worlds;
  Worlds() {
    for (std::uint32_t w = 0; w < world_count; ++w)
      worlds.push_back(std::make_unique<World>(priors, draw_world(priors, seed, w), seed, horizon_days));
  }
};

Worlds& shared_worlds() {
  static Worlds worlds;
  return worlds;
}

// The reference bid with the decision's noise, creative by the decision's uniform: the cheapest sensible policy.
class TrivialPolicy : public BidPolicy {
 public:
  Action act(const Observation&, int creatives, const DecisionNoise& noise) override {
    Action action;
    action.log_bid_multiplier = 0.3f * static_cast<float>(noise.normal);
    action.creative = static_cast<int>(noise.uniform * creatives);
    return action;
  }
};

// Runs one episode per iteration, cycling through the worlds and episode numbers. Reported:
//   items_per_second = agent decisions per second (one Experience each);
//   auctions         = auctions run per second: every decision is one auction and the loop runs no auction
//                      without the agent (it stops when the budget is spent), so it equals the decision rate;
//   impressions      = agent impressions per second (auctions where the agent's ad was shown);
//   episodes         = 7-day episodes per second.
void run_episodes(benchmark::State& state, BidPolicy& policy) {
  Worlds& worlds = shared_worlds();
  std::vector<Experience> out;
  out.reserve(1u << 20);
  std::int64_t decisions = 0, impressions = 0, episodes = 0;
  std::uint32_t episode = 0;
  for (auto _ : state) {
    World& world = *worlds.worlds[episode % world_count];
    out.clear();
    const EpisodeStats stats = world.run_episode(episode / world_count, policy, out, out.capacity());
    decisions += stats.decisions;
    impressions += stats.impressions;
    ++episodes;
    ++episode;
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(decisions);
  state.counters["auctions"] = benchmark::Counter(static_cast<double>(decisions), benchmark::Counter::kIsRate);
  state.counters["impressions"] = benchmark::Counter(static_cast<double>(impressions), benchmark::Counter::kIsRate);
  state.counters["episodes"] = benchmark::Counter(static_cast<double>(episodes), benchmark::Counter::kIsRate);
  state.counters["decisions_per_episode"] =
      benchmark::Counter(static_cast<double>(decisions) / static_cast<double>(std::max<std::int64_t>(1, episodes)));
}

void BM_WorldEpisode_TrivialPolicy(benchmark::State& state) {
  TrivialPolicy policy;
  run_episodes(state, policy);
}
BENCHMARK(BM_WorldEpisode_TrivialPolicy)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The learned policy's hot path: InferencePolicy (float32 MLP, hidden [32, 32], 4 creatives) from initial parameters.
void BM_WorldEpisode_InferencePolicy(benchmark::State& state) {
  PolicySection section;
  section.hidden = {32, 32};
  section.value_hidden = {32, 32};
  const PolicyModel model(section, 4);
  Stream stream(seed, Purpose::training, 0);
  const Eigen::VectorXd parameters = model.initial_parameters(stream);
  InferencePolicy policy(model, std::span<const double>(parameters.data(), static_cast<std::size_t>(parameters.size())),
                         InferencePolicy::Mode::sample);
  run_episodes(state, policy);
}
BENCHMARK(BM_WorldEpisode_InferencePolicy)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
}  // namespace manyworlds
