// Tests of the batched policy in lockstep worlds: bitwise the world-by-world experiences for every bid prior, mode and
// instruction set.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "../world/world_test_support.hpp"
#include "manyworlds/learn/inference_policy.hpp"
#include "manyworlds/world/lockstep.hpp"
#include "manyworlds/world/world.hpp"

namespace manyworlds {
namespace {

constexpr std::uint64_t lockstep_seed = 23;
constexpr double lockstep_horizon_days = 2.0;
constexpr std::size_t capacity = 1u << 22;

using testing_support::same_bytes;

// Initial parameters plus noise, so that the bid mean moves with the observation.
std::vector<double> lively_parameters(const PolicyModel& model) {
  Stream stream(lockstep_seed, Purpose::training, 0);
  const Eigen::VectorXd initial = model.initial_parameters(stream);
  std::vector<double> params(initial.data(), initial.data() + initial.size());
  for (double& p : params) p += stream.uniform(-0.2, 0.2);
  return params;
}

// Episodes 3 and 4 of every world, world by world through run_episode (one row at a time).
std::vector<Experience> world_by_world(InferencePolicy& policy) {
  std::vector<Experience> out;
  for (World& world : make_worlds(testing_support::default_priors(), lockstep_seed, lockstep_horizon_days, 0, 7))
    for (std::uint32_t episode : {3u, 4u}) world.run_episode(episode, policy, out, capacity);
  return out;
}

std::vector<Experience> in_lockstep(InferencePolicy& policy, std::size_t lanes) {
  std::vector<World> worlds =
      make_worlds(testing_support::default_priors(), lockstep_seed, lockstep_horizon_days, 0, 7);
  std::vector<Experience> out;
  Lockstep(lanes).run(worlds, 3, 2, policy, out, capacity,
                      [](std::size_t, const EpisodeStats&, std::span<Experience>) {});
  return out;
}

TEST(LockstepPolicy, BatchedDecisionsGiveTheWorldByWorldBytesForEveryPriorModeAndInstructionSet) {
  for (const BidPrior prior : {BidPrior::none, BidPrior::value, BidPrior::adaptive_pacing}) {
    PolicySection section;
    section.bid_prior = prior;
    const PolicyModel model(section, testing_support::default_priors().creatives);
    const std::vector<double> params = lively_parameters(model);
    for (const InferencePolicy::Mode mode : {InferencePolicy::Mode::sample, InferencePolicy::Mode::greedy}) {
      InferencePolicy one(model, params, mode, VectorIsa::sse2);
      const std::vector<Experience> expected = world_by_world(one);
      ASSERT_GT(expected.size(), 1000u);
      if (mode == InferencePolicy::Mode::sample) {  // the mean bid's counterfactual is priced apart from the action
        int differing = 0;
        for (const Experience& e : expected) differing += e.mean_expected_cost != e.expected_cost ? 1 : 0;
        EXPECT_GT(differing, 0) << to_string(prior);
      }
      for (VectorIsa isa : all_vector_isas) {
        if (!supported(isa)) continue;
        for (std::size_t lanes : {std::size_t{1}, std::size_t{5}, std::size_t{32}}) {
          InferencePolicy batched(model, params, mode, isa);
          EXPECT_TRUE(same_bytes(in_lockstep(batched, lanes), expected))
              << to_string(prior) << " " << to_string(isa) << " " << lanes << " lanes";
        }
      }
    }
  }
}

}  // namespace
}  // namespace manyworlds
