// Fixed workloads for callgrind (scripts/instructions-per-decision): world episodes and AuctionGym auctions.
#include <Eigen/Core>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "manyworlds/core/experience.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/core/vector_isa.hpp"
#include "manyworlds/learn/inference_policy.hpp"
#include "manyworlds/learn/policy_model.hpp"
#include "manyworlds/scenarios/auctiongym/scenario.hpp"
#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/lockstep.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world.hpp"
#include "manyworlds/world/world_params.hpp"

namespace manyworlds {
namespace {

constexpr double horizon_days = 7.0;  // the default job's campaign horizon
constexpr std::uint64_t seed = 1;

// The reference bid with the decision's noise, creative by the decision's uniform (as in bench_world.cpp).
class TrivialPolicy : public BidPolicy {
 public:
  Action act(const Observation&, int creatives, const DecisionNoise& noise) override {
    Action action;
    action.log_bid_multiplier = 0.3f * static_cast<float>(noise.normal);
    action.creative = static_cast<int>(noise.uniform * creatives);
    return action;
  }
};

struct Options {
  bool auctiongym = false;  // the AuctionGym scenario instead of the world
  bool learned = true;
  bool lockstep = false;  // all worlds in lockstep (the learned policy batched)
  std::size_t lanes = Lockstep::default_lanes;
  std::uint32_t worlds = 16;
  std::uint32_t episodes = 2;
  std::int64_t auctions = 100000;
  VectorIsa isa = best_vector_isa();
};

// The measured regions (callgrind --toggle-collect='*profiled_*'): every world runs
// `episodes` episodes; returns the number of decisions.
[[gnu::noinline]] std::int64_t profiled_episodes(std::vector<World>& worlds, BidPolicy& policy, std::uint32_t episodes,
                                                 std::vector<Experience>& out) {
  std::int64_t decisions = 0;
  for (std::uint32_t e = 0; e < episodes; ++e) {
    for (World& world : worlds) {
      out.clear();
      decisions += world.run_episode(e, policy, out, out.capacity()).decisions;
    }
  }
  return decisions;
}

// The same episodes in lockstep, the policy deciding each step's decisions as one batch.
[[gnu::noinline]] std::int64_t profiled_lockstep(std::vector<World>& worlds, BatchBidPolicy& policy,
                                                 std::uint32_t episodes, std::size_t lanes,
                                                 std::vector<Experience>& out) {
  std::int64_t decisions = 0;
  Lockstep lockstep(lanes);
  for (std::uint32_t e = 0; e < episodes; ++e) {
    out.clear();
    lockstep.run(worlds, e, 1, policy, out, out.capacity(),
                 [&](std::size_t, const EpisodeStats& stats, std::span<Experience>) { decisions += stats.decisions; });
  }
  return decisions;
}

// The measured region for the AuctionGym scenario: auctions [0, count) of round 0.
[[gnu::noinline]] std::int64_t profiled_auctions(const auctiongym::Simulator& simulator, std::int64_t count,
                                                 auctiongym::RoundStats& stats) {
  simulator.simulate(0, {0, count}, stats);
  return stats.auctions;
}

int run_auctiongym(const Options& options) {
  const auctiongym::Scenario scenario =
      auctiongym::load_scenario(MANYWORLDS_SOURCE_DIR "/jobs/auctiongym-sp-oracle.toml");
  const auctiongym::Simulator simulator(scenario, auctiongym::make_catalogue(scenario), options.isa);
  auctiongym::RoundStats stats(scenario.bidders);
  const std::int64_t auctions = profiled_auctions(simulator, options.auctions, stats);
  std::printf("auctions %lld (%s)\n", static_cast<long long>(auctions), to_string(options.isa));
  return 0;
}

int run(const Options& options) {
  if (options.auctiongym) return run_auctiongym(options);
  const Priors priors = load_priors(MANYWORLDS_SOURCE_DIR "/jobs/priors/default.toml");
  std::vector<World> worlds = make_worlds(priors, seed, horizon_days, 0, options.worlds);
  PolicySection section;
  section.hidden = {32, 32};
  section.value_hidden = {32, 32};
  const PolicyModel model(section, 4);
  Stream stream(seed, Purpose::training, 0);
  const Eigen::VectorXd parameters = model.initial_parameters(stream);
  InferencePolicy learned(model,
                          std::span<const double>(parameters.data(), static_cast<std::size_t>(parameters.size())),
                          InferencePolicy::Mode::sample, options.isa);
  TrivialPolicy trivial;
  std::vector<Experience> out;
  out.reserve(std::size_t{1} << 22);
  BidPolicy& policy = options.learned ? static_cast<BidPolicy&>(learned) : trivial;
  PerLanePolicies per_lane(std::vector<BidPolicy*>(options.lanes, &trivial));
  BatchBidPolicy& batch_policy = options.learned ? static_cast<BatchBidPolicy&>(learned) : per_lane;
  const std::int64_t decisions = options.lockstep
                                     ? profiled_lockstep(worlds, batch_policy, options.episodes, options.lanes, out)
                                     : profiled_episodes(worlds, policy, options.episodes, out);
  std::printf("decisions %lld (%s)\n", static_cast<long long>(decisions), to_string(options.isa));
  return 0;
}

}  // namespace
}  // namespace manyworlds

int main(int argc, char** argv) {
  manyworlds::Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool value = i + 1 < argc;
    if (arg == "world")
      options.auctiongym = false;
    else if (arg == "auctiongym")
      options.auctiongym = true;
    else if (arg == "--trivial")
      options.learned = false;
    else if (arg == "--lockstep")
      options.lockstep = true;
    else if (arg == "--lanes" && value)
      options.lanes = static_cast<std::size_t>(std::atoi(argv[++i]));
    else if (arg == "--worlds" && value)
      options.worlds = static_cast<std::uint32_t>(std::atoi(argv[++i]));
    else if (arg == "--episodes" && value)
      options.episodes = static_cast<std::uint32_t>(std::atoi(argv[++i]));
    else if (arg == "--auctions" && value)
      options.auctions = std::atoll(argv[++i]);
    else if (arg == "--isa" && value && manyworlds::parse_vector_isa(argv[i + 1]))
      options.isa = *manyworlds::parse_vector_isa(argv[++i]);
    else {
      std::fprintf(
          stderr,
          "usage: %s world [--trivial] [--lockstep [--lanes N]] [--worlds N] [--episodes N] [--isa sse2|avx2|avx512]\n"
          "       %s auctiongym [--auctions N] [--isa sse2|avx2|avx512]\n",
          argv[0], argv[0]);
      return 2;
    }
  }
  if (!manyworlds::supported(options.isa)) {
    std::fprintf(stderr, "this CPU does not support %s\n", manyworlds::to_string(options.isa));
    return 2;
  }
  return manyworlds::run(options);
}
