// Tests of lockstep worlds: bitwise the experiences and statistics of world-by-world episodes, stateful strategies per
// lane, capacity.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/world/lockstep.hpp"
#include "manyworlds/world/observation.hpp"
#include "manyworlds/world/world.hpp"
#include "manyworlds/world/world_params.hpp"
#include "world_test_support.hpp"

namespace manyworlds {
namespace {

using testing_support::default_priors;
using testing_support::same_bytes;

constexpr std::uint64_t seed = 17;
constexpr double horizon_days = 2.0;

// A strategy that keeps state within an episode (as the hindsight-optimal and adaptive-pacing
// bidders do): it paces on what it has seen since begin_episode(), and reset is required, so a
// strategy shared between worlds or not reset would bid differently.
class PacingMemory : public BidPolicy {
 public:
  void begin_episode() override {
    decisions_ = 0;
    pacing_sum_ = 0.0f;
  }
  Action act(const Observation& obs, int creatives, const DecisionNoise& noise) override {
    ++decisions_;
    pacing_sum_ += obs[obs::pacing_gap];
    const float mean_gap = pacing_sum_ / static_cast<float>(decisions_);
    Action action;
    action.mean_log_bid_multiplier = -2.0f * mean_gap;  // the mean bid's counterfactual is priced too
    action.log_bid_multiplier = action.mean_log_bid_multiplier + 0.2f * static_cast<float>(noise.normal);
    action.creative = static_cast<int>(decisions_ % static_cast<std::uint64_t>(creatives));
    action.log_prob = static_cast<float>(decisions_);
    return action;
  }

 private:
  std::uint64_t decisions_ = 0;
  float pacing_sum_ = 0.0f;
};

std::vector<World> test_worlds(std::int64_t count) {
  return make_worlds(default_priors(), seed, horizon_days, 0, count);
}

bool same_stats(const EpisodeStats& a, const EpisodeStats& b) {
  return a.queries == b.queries && a.decisions == b.decisions && a.crisis_decisions == b.crisis_decisions &&
         a.impressions == b.impressions && a.clicks == b.clicks && a.conversions == b.conversions &&
         a.crisis_conversions == b.crisis_conversions && a.spend == b.spend &&
         a.conversion_value == b.conversion_value && a.crisis_value == b.crisis_value && a.reward == b.reward &&
         a.budget == b.budget && a.expected_value == b.expected_value && a.expected_spend == b.expected_spend;
}

TEST(Lockstep, StatefulStrategiesPerLaneGiveTheWorldByWorldBytes) {
  const int episodes = 2;
  const std::uint32_t first_episode = 5;
  std::vector<World> sequential_worlds = test_worlds(11);
  std::vector<Experience> expected;
  std::vector<std::vector<EpisodeStats>> expected_stats(sequential_worlds.size());
  PacingMemory one;
  for (std::size_t w = 0; w < sequential_worlds.size(); ++w)
    for (int e = 0; e < episodes; ++e)
      expected_stats[w].push_back(
          sequential_worlds[w].run_episode(first_episode + static_cast<std::uint32_t>(e), one, expected, 1u << 22));
  ASSERT_GT(expected.size(), 1000u);

  for (std::size_t lanes : {std::size_t{1}, std::size_t{3}, std::size_t{16}}) {
    std::vector<World> worlds = test_worlds(11);
    std::vector<std::unique_ptr<PacingMemory>> strategies;
    std::vector<BidPolicy*> per_lane;
    for (std::size_t l = 0; l < lanes; ++l) {
      strategies.push_back(std::make_unique<PacingMemory>());
      per_lane.push_back(strategies.back().get());
    }
    PerLanePolicies policy(per_lane);
    Lockstep lockstep(lanes);
    std::vector<Experience> out;
    std::vector<std::vector<EpisodeStats>> stats(worlds.size());
    std::vector<std::size_t> hook_rows;
    lockstep.run(worlds, first_episode, episodes, policy, out, 1u << 22,
                 [&](std::size_t w, const EpisodeStats& s, std::span<Experience> rows) {
                   stats[w].push_back(s);
                   ASSERT_FALSE(rows.empty());
                   EXPECT_TRUE(rows.back().done());
                   EXPECT_EQ(rows.front().world, static_cast<std::int32_t>(w));
                   EXPECT_EQ(rows.front().episode, static_cast<std::int32_t>(first_episode + stats[w].size() - 1));
                   hook_rows.push_back(rows.size());
                 });
    EXPECT_TRUE(same_bytes(out, expected)) << lanes << " lanes";
    for (std::size_t w = 0; w < worlds.size(); ++w) {
      ASSERT_EQ(stats[w].size(), static_cast<std::size_t>(episodes));
      for (int e = 0; e < episodes; ++e)
        EXPECT_TRUE(same_stats(stats[w][e], expected_stats[w][e])) << lanes << " lanes";
    }
    // A second run of the same object (warm buffers) on later episodes matches, too.
    std::vector<Experience> again;
    lockstep.run(worlds, first_episode, episodes, policy, again, 1u << 22,
                 [](std::size_t, const EpisodeStats&, std::span<Experience>) {});
    EXPECT_TRUE(same_bytes(again, expected)) << lanes << " lanes, second run";
  }
}

TEST(Lockstep, AppendsAfterWhatTheBufferHolds) {
  std::vector<World> worlds = test_worlds(3);
  testing_support::NoisyConstantBid bid(0.1f, 0.3f);
  std::vector<Experience> expected(7);
  for (World& world : test_worlds(3)) world.run_episode(0, bid, expected, 1u << 22);
  PerLanePolicies policy({&bid, &bid});  // stateless: one object may serve every lane
  Lockstep lockstep(2);
  std::vector<Experience> out(7);
  lockstep.run(worlds, 0, 1, policy, out, 1u << 22, [](std::size_t, const EpisodeStats&, std::span<Experience>) {});
  EXPECT_TRUE(same_bytes(out, expected));
}

TEST(Lockstep, AFullBufferIsTheSameRuntimeFailureAsWorldByWorld) {
  testing_support::NoisyConstantBid bid(0.0f, 0.2f);
  std::vector<Experience> probe;
  std::size_t total = 0;
  for (World& world : test_worlds(4)) {
    probe.clear();
    total += static_cast<std::size_t>(world.run_episode(0, bid, probe, 1u << 22).decisions);
  }
  PerLanePolicies policy({&bid, &bid, &bid});
  const auto run = [&](std::size_t capacity) {
    std::vector<World> worlds = test_worlds(4);
    Lockstep lockstep(3);
    std::vector<Experience> out;
    lockstep.run(worlds, 0, 1, policy, out, capacity, [](std::size_t, const EpisodeStats&, std::span<Experience>) {});
    return out.size();
  };
  EXPECT_EQ(run(total), total);  // exactly full is fine
  try {
    run(total - 1);
    FAIL() << "no failure with a buffer one row too small";
  } catch (const RuntimeFailure& failure) {
    EXPECT_NE(std::string(failure.what()).find("experience buffer full (" + std::to_string(total - 1)),
              std::string::npos)
        << failure.what();
  }
}

}  // namespace
}  // namespace manyworlds
