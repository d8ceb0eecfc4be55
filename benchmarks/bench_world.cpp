// Benchmarks of the world on default-priors worlds: decisions per second per core, one at a time and in lockstep.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "manyworlds/core/config.hpp"
#include "manyworlds/core/experience.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/learn/inference_policy.hpp"
#include "manyworlds/learn/policy_model.hpp"
#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/lockstep.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world.hpp"
#include "manyworlds/world/world_params.hpp"

namespace manyworlds {
namespace {

constexpr double horizon_days = 7.0;  // the default job's campaign horizon
constexpr std::uint32_t world_count = 64;
constexpr std::uint64_t seed = 1;

// Default-priors worlds, built once (construction and population draws are not timed).
struct Worlds {
  Priors priors = load_priors(MANYWORLDS_SOURCE_DIR "/jobs/priors/default.toml");
  std::vector<World> worlds = make_worlds(priors, seed, horizon_days, 0, world_count);
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

// An experience buffer as big as the run's, its pages already touched (as after the first iteration).
std::vector<Experience> warm_buffer() {
  std::vector<Experience> out(std::size_t{1} << 21);
  out.clear();
  return out;
}

// One iteration = one episode of every world, world after world, every experience appended to one
// buffer (as `manyworlds run` does). Reported:
//   items_per_second = agent decisions per second (one Experience each);
//   auctions         = auctions run per second: every decision is one auction and the loop runs no auction
//                      without the agent (it stops when the budget is spent), so it equals the decision rate;
//   impressions      = agent impressions per second (auctions where the agent's ad was shown);
//   episodes         = 7-day episodes per second.
void run_episodes(benchmark::State& state, BidPolicy& policy) {
  Worlds& worlds = shared_worlds();
  std::vector<Experience> out = warm_buffer();
  std::int64_t decisions = 0, impressions = 0, episodes = 0;
  std::uint32_t episode = 0;
  for (auto _ : state) {
    out.clear();
    for (World& world : worlds.worlds) {
      const EpisodeStats stats = world.run_episode(episode, policy, out, out.capacity());
      decisions += stats.decisions;
      impressions += stats.impressions;
      ++episodes;
    }
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
BENCHMARK(BM_WorldEpisode_TrivialPolicy)->Unit(benchmark::kMillisecond)->MinTime(3.0);

// The learned policy (float32 MLP, hidden [32, 32], 4 creatives) from initial parameters.
InferencePolicy learned_policy(VectorIsa isa) {
  PolicySection section;
  section.hidden = {32, 32};
  section.value_hidden = {32, 32};
  const PolicyModel model(section, 4);
  Stream stream(seed, Purpose::training, 0);
  const Eigen::VectorXd parameters = model.initial_parameters(stream);
  return InferencePolicy(model, std::span<const double>(parameters.data(), static_cast<std::size_t>(parameters.size())),
                         InferencePolicy::Mode::sample, isa);
}

// The learned policy one decision at a time (BidPolicy::act), world by world, on the instruction
// set given as the argument (0 sse2, 1 avx2, 2 avx512; identical results).
void BM_WorldEpisode_InferencePolicy(benchmark::State& state) {
  const auto isa = static_cast<VectorIsa>(state.range(0));
  if (!supported(isa)) {
    state.SkipWithError("this CPU does not support the instruction set");
    return;
  }
  InferencePolicy policy = learned_policy(isa);
  run_episodes(state, policy);
  state.SetLabel(to_string(isa));
}
BENCHMARK(BM_WorldEpisode_InferencePolicy)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->MinTime(3.0);

// What `manyworlds run` does: all 64 worlds in lockstep (Lockstep::default_lanes at a time), the
// learned policy deciding each step's decisions as one batch on the instruction set given as the
// argument (0 sse2, 1 avx2, 2 avx512; identical results). One iteration = one episode of every
// world; items_per_second = decisions per second on one core.
void BM_WorldLockstep_InferencePolicy(benchmark::State& state) {
  const auto isa = static_cast<VectorIsa>(state.range(0));
  if (!supported(isa)) {
    state.SkipWithError("this CPU does not support the instruction set");
    return;
  }
  Worlds& worlds = shared_worlds();
  InferencePolicy policy = learned_policy(isa);
  Lockstep lockstep(static_cast<std::size_t>(state.range(1)));
  std::vector<Experience> out = warm_buffer();
  std::int64_t decisions = 0;
  std::uint32_t episode = 0;
  for (auto _ : state) {
    out.clear();
    lockstep.run(worlds.worlds, episode++, 1, policy, out, out.capacity(),
                 [&](std::size_t, const EpisodeStats& stats, std::span<Experience>) { decisions += stats.decisions; });
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(decisions);
  state.SetLabel(to_string(isa));
}
// The lockstep machinery alone: the trivial policy through PerLanePolicies; argument: lanes.
void BM_WorldLockstep_TrivialPolicy(benchmark::State& state) {
  Worlds& worlds = shared_worlds();
  TrivialPolicy trivial;
  const auto lanes = static_cast<std::size_t>(state.range(0));
  PerLanePolicies policy(std::vector<BidPolicy*>(lanes, &trivial));
  Lockstep lockstep(lanes);
  std::vector<Experience> out = warm_buffer();
  std::int64_t decisions = 0;
  std::uint32_t episode = 0;
  for (auto _ : state) {
    out.clear();
    lockstep.run(worlds.worlds, episode++, 1, policy, out, out.capacity(),
                 [&](std::size_t, const EpisodeStats& stats, std::span<Experience>) { decisions += stats.decisions; });
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(decisions);
}
BENCHMARK(BM_WorldLockstep_TrivialPolicy)
    ->Arg(1)
    ->Arg(4)
    ->Arg(8)
    ->Arg(16)
    ->Arg(32)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);

BENCHMARK(BM_WorldLockstep_InferencePolicy)
    ->ArgsProduct({{0, 1, 2}, {4, 8, 16, 32}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);

}  // namespace
}  // namespace manyworlds
