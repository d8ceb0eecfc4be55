// Tests of the episode loop: auction/price/budget/conversion invariants, coverage of every category, reproducibility.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/experience.hpp"
#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/observation.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world.hpp"
#include "manyworlds/world/world_params.hpp"
#include "world_test_support.hpp"

namespace manyworlds {
namespace {

using testing_support::default_priors;
using testing_support::default_priors_path;
using testing_support::NoisyConstantBid;
using testing_support::same_bytes;

// What an experience must agree with, copied from its auction's record.
struct RecordSummary {
  std::uint32_t step = 0;
  double time_hours = 0;
  int segment = 0, device = 0, query_type = 0, creative = 0, agent_slot = 0;
  double agent_bid = 0, cost = 0, conversion_value = 0, spend_before = 0;
  bool clicked = false, attributed = false;
};

// Checks every auction as it happens; counts violations and keeps the first few messages.
class InvariantChecker : public AuctionObserver {
 public:
  InvariantChecker(const Priors& priors, const World& world, double horizon_hours)
      : priors_(priors),
        world_(world),
        horizon_hours_(horizon_hours),
        competitor_clicked_spend_(world.params().competitors.size(), 0.0) {}

  void on_auction(const AuctionRecord& r) override {
    ++auctions;
    const double reserve = world_.params().reserve_price;
    const int competitors = static_cast<int>(world_.params().competitors.size());
    check(r.step == summaries.size(), "steps are consecutive from 0");
    check(r.time_hours >= last_time_ && r.time_hours < horizon_hours_, "time is ordered and inside the horizon");
    last_time_ = r.time_hours;
    check(r.hour == static_cast<int>(r.time_hours) % 24, "hour of day");
    check(r.reserve_price == reserve, "the world's reserve price");
    check(r.eligible_bidders <= competitors + 1, "at most every competitor and the agent are eligible");
    check(r.filled_slots == std::min(priors_.slots, r.eligible_bidders), "slots are filled while bidders remain");

    // Every slot: eligible bid, price between reserve and bid, GSP ordering and price.
    std::set<int> bidders;
    for (int k = 0; k < r.filled_slots; ++k) {
      const SlotOutcome& s = r.slots[static_cast<std::size_t>(k)];
      check(s.bidder >= -1 && s.bidder < competitors, "a bidder is the agent or a competitor");
      check(bidders.insert(s.bidder).second, "a bidder holds one slot");
      check(s.bid >= reserve, "every shown bid is at or above the reserve");
      check(s.price <= s.bid, "price never above the bid");
      check(s.price >= reserve, "price never below the reserve");
      ++slot_checks;
      if (k > 0) {
        const SlotOutcome& above = r.slots[static_cast<std::size_t>(k - 1)];
        check(above.bid * above.quality >= s.bid * s.quality, "slots ordered by bid x quality");
      }
      // GSP: price = min(bid, max(reserve, next score / own quality)). The next bidder is in the record unless
      // this is the last filled slot with more eligible bidders below it.
      const bool next_known = k + 1 < r.filled_slots || r.eligible_bidders == r.filled_slots;
      if (next_known) {
        const double next_score = k + 1 < r.filled_slots ? r.slots[static_cast<std::size_t>(k + 1)].bid *
                                                               r.slots[static_cast<std::size_t>(k + 1)].quality
                                                         : 0.0;
        const double expected = std::min(s.bid, std::max(reserve, next_score / s.quality));
        check(std::fabs(s.price - expected) <= 1e-12 * expected,
              "GSP price = max(reserve, next score / quality) capped at bid");
        ++gsp_checks;
      }
      if (s.bidder >= 0 && s.clicked) competitor_clicked_spend_[static_cast<std::size_t>(s.bidder)] += s.price;
    }

    // The agent.
    const double spend_before = last_spend_;
    check(r.spend_after == spend_before + r.cost, "spend accumulates the costs");
    last_spend_ = r.spend_after;
    check(r.agent_bid <= r.budget - spend_before + 1e-12, "the agent never bids more than its remaining budget");
    check(r.spend_after <= r.budget, "agent spend never above budget");
    if (r.agent_bid < reserve) check(r.agent_slot == 0, "a bid below the reserve is not shown");
    if (r.agent_slot > 0) {
      const SlotOutcome& mine = r.slots[static_cast<std::size_t>(r.agent_slot - 1)];
      check(r.agent_slot <= r.filled_slots && mine.bidder == -1, "the agent's slot holds the agent");
      check(mine.bid == r.agent_bid && mine.price == r.price, "the agent's slot carries its bid and price");
      check(r.price <= r.agent_bid && r.price >= reserve, "agent price between reserve and bid");
      ++shown;
    } else {
      check(bidders.count(-1) == 0, "an unshown agent holds no slot");
      check(r.price == 0 && !r.clicked, "no price and no click without a slot");
    }
    check(r.cost == (r.clicked ? r.price : 0.0), "pay per click: the cost is the price of a click");

    // Conversions: only after clicks, positive delay, attributed exactly when inside the window.
    if (r.converted) {
      ++conversions;
      check(r.clicked, "conversions only after clicks");
      check(r.delay_hours > 0, "conversion delay is positive");
      check(r.attributed == (r.delay_hours <= world_.params().attribution_window_hours),
            "attributed exactly when the delay is inside the attribution window");
      check(r.attributed ? r.conversion_value > 0 : r.conversion_value == 0, "only attributed conversions carry value");
      unattributed += r.attributed ? 0 : 1;
    } else {
      check(!r.attributed && r.conversion_value == 0 && r.delay_hours == 0, "no conversion, no value");
    }

    RecordSummary s;
    s.step = r.step;
    s.time_hours = r.time_hours;
    s.segment = r.segment;
    s.device = r.device;
    s.query_type = r.query_type;
    s.creative = r.creative;
    s.agent_slot = r.agent_slot;
    s.agent_bid = r.agent_bid;
    s.cost = r.cost;
    s.conversion_value = r.conversion_value;
    s.spend_before = spend_before;
    s.clicked = r.clicked;
    s.attributed = r.attributed;
    summaries.push_back(s);
    budget = r.budget;
  }

  void check(bool ok, const char* what) {
    ++checks;
    if (ok) return;
    ++violations;
    if (messages.size() < 5) messages.push_back(std::string(what) + " (step " + std::to_string(summaries.size()) + ")");
  }

  const std::vector<double>& competitor_clicked_spend() const { return competitor_clicked_spend_; }

  std::int64_t auctions = 0, checks = 0, violations = 0, slot_checks = 0, gsp_checks = 0, shown = 0, conversions = 0,
               unattributed = 0;
  double budget = 0;
  std::vector<std::string> messages;
  std::vector<RecordSummary> summaries;

 private:
  const Priors& priors_;
  const World& world_;
  double horizon_hours_;
  double last_time_ = 0;
  double last_spend_ = 0;
  std::vector<double> competitor_clicked_spend_;
};

TEST(EpisodeInvariants, HoldInEveryAuction) {
  const Priors& priors = default_priors();
  const double horizon_days = 7.0;
  // Three bidders: modest, aggressive (spends its budget early) and timid (often below the reserve).
  NoisyConstantBid modest(0.0f, 0.5f), aggressive(1.5f, 0.5f), timid(-1.6f, 0.8f);
  BidPolicy* policies[3] = {&modest, &aggressive, &timid};
  std::int64_t auctions = 0, slot_checks = 0, gsp_checks = 0, shown = 0, conversions = 0, unattributed = 0;
  int budget_bound = 0;
  std::vector<Experience> out;
  for (std::uint32_t w = 0; w < 36; ++w) {
    World world(priors, draw_world(priors, 4711, w), 4711, horizon_days);
    for (std::uint32_t episode = 0; episode < 2; ++episode) {
      SCOPED_TRACE("world " + std::to_string(w) + " episode " + std::to_string(episode));
      InvariantChecker checker(priors, world, horizon_days * 24);
      out.clear();
      const EpisodeStats stats = world.run_episode(episode, *policies[(w + episode) % 3], out, 1u << 20, &checker);
      std::string first_violations;
      for (const std::string& message : checker.messages) first_violations += message + "; ";
      EXPECT_EQ(checker.violations, 0) << first_violations;
      auctions += checker.auctions;
      slot_checks += checker.slot_checks;
      gsp_checks += checker.gsp_checks;
      shown += checker.shown;
      conversions += checker.conversions;
      unattributed += checker.unattributed;

      // Spend within budget, for the agent and for every competitor; competitor spend is exactly its clicks' prices.
      EXPECT_LE(stats.spend, stats.budget);
      EXPECT_DOUBLE_EQ(stats.budget, world.params().agent_daily_budget * horizon_days);
      if (stats.queries > stats.decisions) {  // stopped early: what is left cannot buy a click above the reserve
        ++budget_bound;
        EXPECT_LT(stats.budget - stats.spend, world.params().reserve_price);
      }
      ASSERT_EQ(world.competitor_spend().size(), world.params().competitors.size());
      for (std::size_t c = 0; c < world.competitor_spend().size(); ++c) {
        EXPECT_LE(world.competitor_spend()[c], world.competitor_budget(c)) << "competitor " << c;
        EXPECT_DOUBLE_EQ(world.competitor_budget(c), world.params().competitors[c].daily_budget * horizon_days);
        EXPECT_DOUBLE_EQ(world.competitor_spend()[c], checker.competitor_clicked_spend()[c]) << "competitor " << c;
      }

      // Experiences: one per auction, agreeing with the auction; rewards = value - cost; done only on the last.
      ASSERT_EQ(out.size(), checker.summaries.size());
      ASSERT_EQ(static_cast<std::int64_t>(out.size()), stats.decisions);
      std::int64_t clicks = 0, attributed = 0, crisis = 0;
      double reward = 0;
      double expected_reward = 0;
      for (std::size_t i = 0; i < out.size(); ++i) {
        const Experience& e = out[i];
        const RecordSummary& r = checker.summaries[i];
        ASSERT_EQ(e.step, static_cast<std::int32_t>(i));
        ASSERT_EQ(e.world, static_cast<std::int32_t>(w));
        ASSERT_EQ(e.episode, static_cast<std::int32_t>(episode));
        ASSERT_EQ(e.world_type, world.params().world_type);
        expected_reward += e.expected_reward;
        if (e.slot == 0) ASSERT_EQ(e.expected_reward, 0.0f) << "step " << i;  // not shown: nothing expected
        ASSERT_EQ(e.cost, static_cast<float>(r.cost));
        ASSERT_EQ(e.conversion_value, static_cast<float>(r.conversion_value));
        ASSERT_EQ(e.bid, static_cast<float>(r.agent_bid));
        ASSERT_EQ(e.time_hours, static_cast<float>(r.time_hours));
        ASSERT_EQ(e.done(), i + 1 == out.size()) << "step " << i;
        ASSERT_EQ(e.slot, r.agent_slot);
        ASSERT_EQ((e.flags & flag_won) != 0, r.agent_slot > 0);
        ASSERT_EQ((e.flags & flag_clicked) != 0, r.clicked);
        ASSERT_EQ((e.flags & flag_converted) != 0, r.attributed);
        ASSERT_EQ(e.crisis_truth(), r.segment == priors.crisis_segment());
        ASSERT_EQ(e.segment, r.segment);
        ASSERT_EQ(e.device, r.device);
        ASSERT_EQ(e.query_type, r.query_type);
        ASSERT_EQ(e.creative, r.creative);
        // The observation describes the auction the agent bid in.
        ASSERT_EQ(e.obs[obs::time_fraction], static_cast<float>(r.time_hours / (horizon_days * 24)));
        ASSERT_EQ(e.obs[obs::budget_remaining], static_cast<float>(1.0 - r.spend_before / stats.budget));
        for (int q = 0; q < query_type_count; ++q)
          ASSERT_EQ(e.obs[static_cast<std::size_t>(obs::query_brand + q)], q == r.query_type ? 1.0f : 0.0f);
        ASSERT_EQ(e.obs[obs::device_ios], r.device == priors.ios_device ? 1.0f : 0.0f);
        ASSERT_TRUE(std::isfinite(e.obs[obs::log_value_per_click]));
        ASSERT_GE(e.obs[obs::observed_roas], 0.0f);
        ASSERT_LE(e.obs[obs::observed_roas], 10.0f);
        clicks += r.clicked ? 1 : 0;
        attributed += r.attributed ? 1 : 0;
        crisis += e.crisis_truth() ? 1 : 0;
        reward += r.conversion_value - r.cost;
      }
      EXPECT_EQ(stats.clicks, clicks);
      EXPECT_EQ(stats.conversions, attributed);
      EXPECT_EQ(stats.crisis_decisions, crisis);
      EXPECT_NEAR(stats.reward, reward, 1e-9 * std::max(1.0, std::fabs(reward)));
      EXPECT_NEAR(stats.reward, stats.conversion_value - stats.spend, 1e-9 * std::max(1.0, stats.conversion_value));
      // The experiences' expected rewards add up to the episode's expected return (float rounding per step).
      const double expected_return = stats.expected_value - stats.expected_spend;
      EXPECT_NEAR(expected_reward, expected_return,
                  1e-5 * static_cast<double>(out.size()) + 1e-4 * std::fabs(expected_return));
    }
  }
  // The invariants were exercised, not vacuous: many slots, exact GSP prices, conversions outside the window,
  // and campaigns whose budget ran out.
  EXPECT_GT(auctions, 300000);
  EXPECT_GT(slot_checks, 600000);
  EXPECT_GT(gsp_checks, slot_checks / 2);
  EXPECT_GT(shown, 30000);
  EXPECT_GT(conversions, 200);
  EXPECT_GT(unattributed, 0);
  EXPECT_GE(budget_bound, 10);
  EXPECT_LT(budget_bound, 72);
}

TEST(EpisodeInvariants, TheCheckerCatchesBrokenAuctions) {
  // The invariant test above is only as good as its checker: hand-made records that break one rule each must
  // be caught, and a correct one must pass.
  const Priors& priors = default_priors();
  World world(priors, draw_world(priors, 4711, 0), 4711, 1.0);
  const double reserve = world.params().reserve_price;
  ASSERT_LT(reserve, 0.9);
  AuctionRecord good;
  good.time_hours = 1.5;
  good.hour = 1;
  good.reserve_price = reserve;
  good.eligible_bidders = 2;
  good.filled_slots = 2;
  good.slots[0] = {0, 2.0, 1.0, 1.0, false};       // pays the agent's score / own quality = 1.0
  good.slots[1] = {-1, 1.0, 1.0, reserve, false};  // last bidder: pays the reserve
  good.agent_slot = 2;
  good.agent_bid = 1.0;
  good.price = reserve;
  good.budget = 10.0;
  const auto violations = [&](const AuctionRecord& record) {
    InvariantChecker checker(priors, world, 24.0);
    checker.on_auction(record);
    return checker.violations;
  };
  EXPECT_EQ(violations(good), 0);
  AuctionRecord bad = good;
  bad.slots[0].price = 2.5;  // above the bid
  EXPECT_GT(violations(bad), 0);
  bad = good;
  bad.slots[0].price = 1.5;  // within [reserve, bid] but not the GSP price
  EXPECT_GT(violations(bad), 0);
  bad = good;
  bad.slots[1].price = bad.price = reserve / 2;  // below the reserve
  EXPECT_GT(violations(bad), 0);
  bad = good;
  bad.slots[0].bid = 0.9;  // ranked above a higher score
  bad.slots[0].price = 0.9;
  EXPECT_GT(violations(bad), 0);
  bad = good;
  bad.converted = true;  // a conversion without a click
  bad.delay_hours = 2.0;
  EXPECT_GT(violations(bad), 0);
  bad = good;
  bad.clicked = bad.slots[1].clicked = true;  // a click charged more than the price
  bad.cost = 1.0;
  bad.spend_after = 1.0;
  EXPECT_GT(violations(bad), 0);
  bad = good;
  bad.clicked = bad.slots[1].clicked = true;  // spend beyond the budget
  bad.cost = reserve;
  bad.budget = reserve / 2;
  bad.spend_after = reserve;
  EXPECT_GT(violations(bad), 0);
  bad = good;
  bad.clicked = bad.slots[1].clicked = true;  // attributed although the delay exceeds the window
  bad.cost = reserve;
  bad.spend_after = reserve;
  bad.converted = bad.attributed = true;
  bad.delay_hours = world.params().attribution_window_hours + 1;
  bad.conversion_value = 50;
  EXPECT_GT(violations(bad), 0);
  bad.delay_hours = 3.0;  // ... and the same conversion inside the window is fine
  EXPECT_EQ(violations(bad), 0);
}

TEST(EpisodeInvariants, DoneMarksTheEndOfEachEpisodeInASharedBuffer) {
  const Priors& priors = default_priors();
  World world(priors, draw_world(priors, 8, 1), 8, 2.0);
  NoisyConstantBid policy(0.0f, 0.3f);
  std::vector<Experience> out;
  const EpisodeStats first = world.run_episode(0, policy, out, 1u << 20);
  const std::size_t boundary = out.size();
  ASSERT_GT(boundary, 100u);
  const EpisodeStats second = world.run_episode(1, policy, out, 1u << 20);
  ASSERT_EQ(out.size(), static_cast<std::size_t>(first.decisions + second.decisions));
  for (std::size_t i = 0; i < out.size(); ++i)
    EXPECT_EQ(out[i].done(), i + 1 == boundary || i + 1 == out.size()) << "experience " << i;
  EXPECT_EQ(out[boundary].episode, 1);
  EXPECT_EQ(out[boundary].step, 0);
}

TEST(EpisodeInvariants, AFullBufferIsARuntimeFailure) {
  const Priors& priors = default_priors();
  World world(priors, draw_world(priors, 8, 2), 8, 1.0);
  NoisyConstantBid policy(0.0f, 0.3f);
  std::vector<Experience> out;
  try {
    world.run_episode(0, policy, out, 10);
    ADD_FAILURE() << "an episode of more than 10 decisions fitted into 10";
  } catch (const RuntimeFailure& error) {
    EXPECT_NE(std::string(error.what()).find("experience buffer full (10 experiences"), std::string::npos)
        << error.what();
  }
  EXPECT_EQ(out.size(), 10u);
}

TEST(EpisodeCoverage, EveryCategoryOccursAndIsExercised) {
  const Priors& priors = default_priors();
  struct Coverage : AuctionObserver {
    const Priors* priors = nullptr;
    const WorldParams* params = nullptr;
    std::vector<int> segment_clicks, segment_conversions, device_clicks, device_conversions, query_auctions,
        query_clicks, strategy_shown, strategy_clicks, agent_slot_shown, agent_slot_clicks, competitor_slot_clicks,
        creative_shown, hours, days;
    void on_auction(const AuctionRecord& r) override {
      ++query_auctions[static_cast<std::size_t>(r.query_type)];
      ++hours[static_cast<std::size_t>(r.hour)];
      ++days[static_cast<std::size_t>(r.day_of_week)];
      if (r.agent_slot > 0) {
        ++agent_slot_shown[static_cast<std::size_t>(r.agent_slot - 1)];
        ++creative_shown[static_cast<std::size_t>(r.creative)];
      }
      if (r.clicked) {
        ++segment_clicks[static_cast<std::size_t>(r.segment)];
        ++device_clicks[static_cast<std::size_t>(r.device)];
        ++query_clicks[static_cast<std::size_t>(r.query_type)];
        ++agent_slot_clicks[static_cast<std::size_t>(r.agent_slot - 1)];
      }
      if (r.attributed) {
        ++segment_conversions[static_cast<std::size_t>(r.segment)];
        ++device_conversions[static_cast<std::size_t>(r.device)];
      }
      for (int k = 0; k < r.filled_slots; ++k) {
        const SlotOutcome& s = r.slots[static_cast<std::size_t>(k)];
        if (s.bidder < 0) continue;
        const auto strategy =
            static_cast<std::size_t>(params->competitors[static_cast<std::size_t>(s.bidder)].strategy);
        ++strategy_shown[strategy];
        if (s.clicked) {
          ++strategy_clicks[strategy];
          ++competitor_slot_clicks[static_cast<std::size_t>(k)];
        }
      }
    }
  } coverage;
  coverage.priors = &priors;
  const std::size_t segments = priors.segments.size(), devices = priors.devices.size(),
                    strategies = priors.strategies.size(), slots = static_cast<std::size_t>(priors.slots);
  coverage.segment_clicks.assign(segments, 0);
  coverage.segment_conversions.assign(segments, 0);
  coverage.device_clicks.assign(devices, 0);
  coverage.device_conversions.assign(devices, 0);
  coverage.query_auctions.assign(query_type_count, 0);
  coverage.query_clicks.assign(query_type_count, 0);
  coverage.strategy_shown.assign(strategies, 0);
  coverage.strategy_clicks.assign(strategies, 0);
  coverage.agent_slot_shown.assign(slots, 0);
  coverage.agent_slot_clicks.assign(slots, 0);
  coverage.competitor_slot_clicks.assign(slots, 0);
  coverage.creative_shown.assign(static_cast<std::size_t>(priors.creatives), 0);
  coverage.hours.assign(24, 0);
  coverage.days.assign(7, 0);
  std::vector<int> type_clicks(priors.world_types.size(), 0);
  std::uint32_t tags_seen = 0;
  bool urgency_seen = false;

  NoisyConstantBid policy(0.2f, 0.6f);
  std::vector<Experience> out;
  for (std::uint32_t w = 0; w < 150; ++w) {
    World world(priors, draw_world(priors, 31, w), 31, 2.0);
    coverage.params = &world.params();
    out.clear();
    const EpisodeStats stats = world.run_episode(0, policy, out, 1u << 20, &coverage);
    type_clicks[static_cast<std::size_t>(world.params().world_type)] += static_cast<int>(stats.clicks);
    for (const Experience& e : out) {
      tags_seen |= e.tags;
      urgency_seen = urgency_seen || e.obs[obs::urgency_tag] == 1.0f;
    }
  }
  const auto all_positive = [](const std::vector<int>& counts, const char* what) {
    for (std::size_t i = 0; i < counts.size(); ++i) EXPECT_GT(counts[i], 0) << what << " " << i;
  };
  all_positive(type_clicks, "agent clicks in world type");
  all_positive(coverage.segment_clicks, "clicks of segment");
  all_positive(coverage.segment_conversions, "conversions of segment");
  all_positive(coverage.device_clicks, "clicks on device");
  all_positive(coverage.device_conversions, "conversions on device");
  all_positive(coverage.query_auctions, "auctions of query type");
  all_positive(coverage.query_clicks, "agent clicks on query type");
  all_positive(coverage.strategy_shown, "impressions of strategy");
  all_positive(coverage.strategy_clicks, "clicks of strategy");
  all_positive(coverage.agent_slot_shown, "agent impressions in slot");
  all_positive(coverage.agent_slot_clicks, "agent clicks in slot");
  all_positive(coverage.competitor_slot_clicks, "competitor clicks in slot");
  all_positive(coverage.creative_shown, "impressions of creative");
  all_positive(coverage.hours, "auctions in hour");
  all_positive(coverage.days, "auctions on weekday");
  EXPECT_EQ(tags_seen, (1u << priors.tags.size()) - 1) << "every tag is carried by some experience";
  EXPECT_TRUE(urgency_seen);
  // Position effects: the top slot's click-through beats the bottom one's for the agent.
  EXPECT_GT(static_cast<double>(coverage.agent_slot_clicks[0]) / coverage.agent_slot_shown[0],
            static_cast<double>(coverage.agent_slot_clicks[slots - 1]) / coverage.agent_slot_shown[slots - 1]);
}

// Runs (world, episode) on `world` and returns its experiences.
std::vector<Experience> run(World& world, std::uint32_t episode) {
  NoisyConstantBid policy(0.1f, 0.5f);
  std::vector<Experience> out;
  world.run_episode(episode, policy, out, 1u << 20);
  return out;
}

TEST(EpisodeReproducibility, SameAddressSameBytesWhateverRunsInBetween) {
  const Priors& priors = default_priors();
  const std::uint64_t seed = 123456789;
  const double horizon = 3.0;
  // Reference: fresh worlds, one episode each.
  World reference3(priors, draw_world(priors, seed, 3), seed, horizon);
  const std::vector<Experience> w3e0 = run(reference3, 0);
  World reference3b(priors, draw_world(priors, seed, 3), seed, horizon);
  const std::vector<Experience> w3e1 = run(reference3b, 1);
  ASSERT_GT(w3e0.size(), 1000u);

  // Same address, run again on a fresh world: bitwise identical.
  World again(priors, draw_world(priors, seed, 3), seed, horizon);
  EXPECT_TRUE(same_bytes(run(again, 0), w3e0));

  // Other worlds simulated in between, episodes in another order, the world object reused.
  World w5(priors, draw_world(priors, seed, 5), seed, horizon);
  World w4(priors, draw_world(priors, seed, 4), seed, horizon);
  World reused(priors, draw_world(priors, seed, 3), seed, horizon);
  (void)run(w5, 2);
  EXPECT_TRUE(same_bytes(run(reused, 1), w3e1));
  (void)run(w4, 0);
  (void)run(w5, 0);
  EXPECT_TRUE(same_bytes(run(reused, 0), w3e0));
  EXPECT_TRUE(same_bytes(run(reused, 1), w3e1));

  // Different episodes, worlds and seeds differ.
  EXPECT_FALSE(same_bytes(w3e0, w3e1));
  const std::vector<Experience> w4e0 = run(w4, 0);
  EXPECT_FALSE(same_bytes(w3e0, w4e0));
  World other_seed(priors, draw_world(priors, seed + 1, 3), seed + 1, horizon);
  EXPECT_FALSE(same_bytes(run(other_seed, 0), w3e0));
  // Episodes of one world differ in the traffic itself, not only in the ids stamped on the records.
  std::size_t differing_times = 0;
  for (std::size_t i = 0; i < std::min(w3e0.size(), w3e1.size()); ++i)
    differing_times += w3e0[i].time_hours != w3e1[i].time_hours ? 1 : 0;
  EXPECT_GT(differing_times, std::min(w3e0.size(), w3e1.size()) / 2);
}

TEST(EpisodeReproducibility, PopulationDependsOnlyOnSeedAndWorld) {
  const Priors& priors = default_priors();
  World a(priors, draw_world(priors, 77, 9), 77, 7.0);
  World b(priors, draw_world(priors, 77, 9), 77, 1.0);  // the horizon does not change who the users are
  World c(priors, draw_world(priors, 78, 9), 78, 7.0);
  ASSERT_EQ(a.users().size(), b.users().size());
  ASSERT_EQ(a.users().size(), static_cast<std::size_t>(a.params().users));
  bool differs = a.users().size() != c.users().size();
  for (std::size_t i = 0; i < a.users().size(); ++i) {
    EXPECT_EQ(a.users()[i].segment, b.users()[i].segment);
    EXPECT_EQ(a.users()[i].device, b.users()[i].device);
    EXPECT_EQ(a.users()[i].tags, b.users()[i].tags);
    EXPECT_EQ(a.users()[i].activity, b.users()[i].activity);
    if (i < c.users().size()) differs = differs || a.users()[i].activity != c.users()[i].activity;
  }
  EXPECT_TRUE(differs);
}

// A strategy that bids `acted` but reports `mean` as its deterministic bid, at every step or only at
// step `only` (elsewhere it bids and reports `mean`).
class SplitBid : public BidPolicy {
 public:
  SplitBid(float acted, float mean, int only) : acted_(acted), mean_(mean), only_(only) {}
  void begin_episode() override { step_ = 0; }
  Action act(const Observation&, int creatives, const DecisionNoise& noise) override {
    const bool split = step_++ == only_;
    Action action;
    action.log_bid_multiplier = split ? acted_ : mean_;
    action.mean_log_bid_multiplier = mean_;
    action.creative = std::min(creatives - 1, static_cast<int>(noise.uniform * creatives));
    return action;
  }

 private:
  float acted_;
  float mean_;
  int only_;
  int step_ = 0;
};

// One episode of world `w` under `priors` with a constant log bid multiplier `level` (no exploration).
std::vector<Experience> episode_under(const Priors& priors, std::uint32_t w, float level) {
  World world(priors, draw_world(priors, 31, w), 31, 2.0);
  NoisyConstantBid policy(level, 0.0f);
  std::vector<Experience> out;
  world.run_episode(0, policy, out, 1u << 20);
  return out;
}

TEST(EpisodeModelConstants, PacingSlopeComesFromThePriors) {
  // The documented default written out changes nothing; a steeper throttle changes the auctions of paced
  // competitors wherever one runs ahead of its schedule.
  const Priors& priors = default_priors();
  Priors explicit_default = priors;
  explicit_default.pacing_slope = 4.0;
  Priors steep = priors;
  steep.pacing_slope = 400.0;
  int differing = 0;
  for (std::uint32_t w = 0; w < 8; ++w) {
    const std::vector<Experience> usual = episode_under(priors, w, 0.3f);
    EXPECT_TRUE(same_bytes(episode_under(explicit_default, w, 0.3f), usual)) << "world " << w;
    differing += same_bytes(episode_under(steep, w, 0.3f), usual) ? 0 : 1;
  }
  EXPECT_GE(differing, 2);  // 3 of these 8 worlds have a paced competitor ahead of its schedule at some point
}

TEST(EpisodeModelConstants, TheWorldClampsBidsAtThePriorsMaximum) {
  Priors clamped = default_priors();
  clamped.max_log_bid_multiplier = 0.5;
  for (std::uint32_t w = 0; w < 3; ++w) {
    const double reference_bid = draw_world(clamped, 31, w).reference_bid;
    double largest_usual = 0;
    for (const Experience& e : episode_under(default_priors(), w, 2.0f))
      largest_usual = std::max(largest_usual, static_cast<double>(e.bid));
    double largest_clamped = 0;
    for (const Experience& e : episode_under(clamped, w, 2.0f))
      largest_clamped = std::max(largest_clamped, static_cast<double>(e.bid));
    EXPECT_NEAR(largest_usual / reference_bid, std::exp(2.0), 1e-5) << "world " << w;
    EXPECT_NEAR(largest_clamped / reference_bid, std::exp(0.5), 1e-5) << "world " << w;
  }
}

TEST(EpisodeCounterfactual, TheMeanBidsPriceIsWhatBiddingItWouldHaveEarned) {
  // Up to the split step both episodes are the same; at it, the world prices the same auction at
  // the mean bid, which must equal what bidding the mean there actually gives.
  const Priors& priors = testing_support::default_priors();
  std::vector<World> worlds = make_worlds(priors, 21, 1.0, 0, 4);
  std::vector<Experience> split_run;
  std::vector<Experience> mean_run;
  int compared = 0;
  int differing = 0;
  for (World& world : worlds) {
    for (int step : {0, 3, 17, 40}) {
      for (float acted : {-1.5f, 0.8f, 2.5f}) {
        SplitBid split(acted, 0.1f, step);
        SplitBid mean(0.1f, 0.1f, step);
        split_run.clear();
        mean_run.clear();
        world.run_episode(2, split, split_run, 1u << 20);
        world.run_episode(2, mean, mean_run, 1u << 20);
        ASSERT_GT(split_run.size(), static_cast<std::size_t>(step));
        const Experience& e = split_run[static_cast<std::size_t>(step)];
        const Experience& m = mean_run[static_cast<std::size_t>(step)];
        EXPECT_EQ(e.mean_expected_reward, m.expected_reward) << "world " << world.params().world_id << " step " << step;
        EXPECT_EQ(e.mean_expected_cost, m.expected_cost) << "world " << world.params().world_id << " step " << step;
        EXPECT_EQ(m.mean_expected_reward, m.expected_reward);
        ++compared;
        differing += e.expected_reward != m.expected_reward ? 1 : 0;
      }
    }
  }
  EXPECT_GT(differing, compared / 4) << "the acted bids changed the outcome often enough to test something";
}

}  // namespace
}  // namespace manyworlds
