// Tests of drawing world parameters: every world differs, ranges hold, and each world type shifts what it claims.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "manyworlds/core/experience.hpp"
#include "manyworlds/core/toml_reader.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world.hpp"
#include "manyworlds/world/world_params.hpp"
#include "world_test_support.hpp"

namespace manyworlds {
namespace {

using testing_support::default_priors;
using testing_support::default_priors_path;
using testing_support::ReferenceBid;

int type_index(const Priors& priors, const std::string& name) {
  for (std::size_t t = 0; t < priors.world_types.size(); ++t)
    if (priors.world_types[t].name == name) return static_cast<int>(t);
  ADD_FAILURE() << "no world type " << name;
  return -1;
}

double mean_of(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double sd_of(const std::vector<double>& values) {
  const double mean = mean_of(values);
  double sum = 0;
  for (double v : values) sum += (v - mean) * (v - mean);
  return std::sqrt(sum / static_cast<double>(values.size() - 1));
}

TEST(WorldParams, SeasonalAmplitudeIsCappedAtThePriorsMaximum) {
  Priors capped = default_priors();
  capped.max_seasonal_amplitude = 0.1;
  int at_cap = 0;
  for (std::uint32_t w = 0; w < 300; ++w) {
    const WorldParams usual = draw_world(default_priors(), 7, w);
    const WorldParams world = draw_world(capped, 7, w);
    EXPECT_EQ(world.seasonal_amplitude, std::min(usual.seasonal_amplitude, 0.1)) << "world " << w;
    at_cap += world.seasonal_amplitude == 0.1 ? 1 : 0;
  }
  EXPECT_GT(at_cap, 100);  // default amplitudes are uniform on [0, 0.25] and more in seasonal-peak worlds
}

TEST(WorldParams, NoTwoWorldsShareTheirParameterVector) {
  const Priors& priors = default_priors();
  std::set<std::vector<double>> seen;
  std::set<double> bid_levels;
  for (std::uint32_t w = 0; w < 1000; ++w) {
    const WorldParams world = draw_world(priors, 7, w);
    const std::vector<double> flat = world.flat();
    // Layout: type, users, segment and device shares, 16 scalars, 24 hour and 7 day weights,
    // 6 per competitor, 3 per creative, 4 query types per device.
    const std::size_t expected = 2 + priors.segments.size() + priors.devices.size() + 16 + 24 + 7 +
                                 6 * world.competitors.size() + 3 * world.creatives.size() +
                                 query_type_count * priors.devices.size();
    ASSERT_EQ(flat.size(), expected);
    EXPECT_TRUE(seen.insert(flat).second) << "world " << w << " repeats an earlier world's parameters";
    bid_levels.insert(world.bid_level);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(bid_levels.size(), 1000u);  // not just one differing entry: a continuous parameter differs everywhere
  // Held-out worlds (ids from validation_world_base) are new markets too.
  for (std::uint32_t w = 0; w < 200; ++w)
    EXPECT_TRUE(seen.insert(draw_world(priors, 7, validation_world_base + w).flat()).second) << "held-out world " << w;
}

TEST(WorldParams, DrawsDependOnlyOnSeedAndWorldId) {
  const Priors& priors = default_priors();
  const std::vector<double> first = draw_world(priors, 99, 12).flat();
  (void)draw_world(priors, 99, 13);  // drawing another world in between changes nothing
  EXPECT_EQ(draw_world(priors, 99, 12).flat(), first);
  EXPECT_EQ(draw_world(priors, 99, 12).world_id, 12u);
  EXPECT_NE(draw_world(priors, 100, 12).flat(), first);
  EXPECT_NE(draw_world(priors, 99, 11).flat(), first);
}

TEST(WorldParams, ParametersStayInsideThePriors) {
  const Priors& priors = default_priors();
  for (std::uint32_t w = 0; w < 1000; ++w) {
    const WorldParams p = draw_world(priors, 3, w);
    SCOPED_TRACE("world " + std::to_string(w));
    ASSERT_GE(p.world_type, 0);
    ASSERT_LT(p.world_type, static_cast<int>(priors.world_types.size()));
    EXPECT_GE(p.users, 500);
    EXPECT_LE(p.users, 2000);
    double sum = 0;
    for (double s : p.segment_share) {
      EXPECT_GT(s, 0.0);
      sum += s;
    }
    EXPECT_NEAR(sum, 1.0, 1e-12);
    sum = 0;
    for (double s : p.device_share) sum += s;
    EXPECT_NEAR(sum, 1.0, 1e-12);
    sum = 0;
    for (double h : p.hour_weight) sum += h;
    EXPECT_NEAR(sum, 1.0, 1e-12);
    sum = 0;
    for (double d : p.day_weight) sum += d;
    EXPECT_NEAR(sum, 7.0, 1e-12);
    EXPECT_GE(p.start_day_of_year, 0);
    EXPECT_LE(p.start_day_of_year, 364);
    EXPECT_GE(p.start_day_of_week, 0);
    EXPECT_LE(p.start_day_of_week, 6);
    EXPECT_GE(p.seasonal_amplitude, 0.0);
    EXPECT_LE(p.seasonal_amplitude, 0.95);
    EXPECT_GE(p.delay_sigma, 1.9);
    EXPECT_LE(p.delay_sigma, 2.3);
    EXPECT_DOUBLE_EQ(p.attribution_window_hours, 7 * 24.0);
    EXPECT_GT(p.reserve_price, 0.0);
    EXPECT_GT(p.agent_daily_budget, 0.0);
    EXPECT_GT(p.reference_bid, 0.0);
    const WorldTypePrior& type = priors.world_types[static_cast<std::size_t>(p.world_type)];
    const int base = static_cast<int>(p.competitors.size()) - (type.add_strategy >= 0 ? 1 : 0);
    EXPECT_GE(base, std::max(1, 3 + type.competitors_add));
    EXPECT_LE(base, 6 + type.competitors_add);
    for (const CompetitorParams& c : p.competitors) {
      EXPECT_GE(c.strategy, 0);
      EXPECT_LT(c.strategy, static_cast<int>(priors.strategies.size()));
      EXPECT_GE(c.bid_noise, 0.1);
      EXPECT_LE(c.bid_noise, 0.35);
      EXPECT_GT(c.participation, 0.0);
      EXPECT_LT(c.participation, 1.0);
      EXPECT_GT(c.base_bid, 0.0);
      EXPECT_GT(c.daily_budget, 0.0);
    }
    ASSERT_EQ(p.creatives.size(), 4u);
    for (const CreativeParams& c : p.creatives) {
      EXPECT_GE(c.fatigue_rate, 0.05);
      EXPECT_LE(c.fatigue_rate, 0.3);
    }
    ASSERT_EQ(p.value_per_click_estimate.size(), priors.devices.size());
    for (const auto& row : p.value_per_click_estimate)
      for (double v : row) EXPECT_GT(v, 0.0);
  }
}

TEST(WorldParams, WorldTypesAndStrategiesFollowTheirProbabilities) {
  const Priors& priors = default_priors();
  const int n = 6000;
  std::vector<double> types(priors.world_types.size(), 0.0);
  std::vector<double> strategies(priors.strategies.size(), 0.0);
  double competitors = 0;
  const int normal = type_index(priors, "normal");
  for (std::uint32_t w = 0; w < static_cast<std::uint32_t>(n); ++w) {
    const WorldParams p = draw_world(priors, 11, w);
    types[static_cast<std::size_t>(p.world_type)] += 1;
    if (p.world_type != normal) continue;  // other types add or switch strategies on purpose
    for (const CompetitorParams& c : p.competitors) {
      strategies[static_cast<std::size_t>(c.strategy)] += 1;
      competitors += 1;
    }
  }
  // Pearson chi-square against the configured probabilities; the 0.999 quantiles are 26.12 (df 8) and 20.52 (df 5).
  double chi_types = 0;
  for (std::size_t t = 0; t < types.size(); ++t) {
    EXPECT_GT(types[t], 0.0) << priors.world_types[t].name << " never drawn";
    const double expected = n * priors.world_types[t].probability;
    chi_types += (types[t] - expected) * (types[t] - expected) / expected;
  }
  ASSERT_EQ(types.size(), 9u);
  EXPECT_LT(chi_types, 26.12);
  double chi_strategies = 0;
  for (std::size_t s = 0; s < strategies.size(); ++s) {
    EXPECT_GT(strategies[s], 0.0) << priors.strategies[s].name << " never drawn";
    const double expected = competitors * priors.strategies[s].probability;
    chi_strategies += (strategies[s] - expected) * (strategies[s] - expected) / expected;
  }
  ASSERT_EQ(strategies.size(), 6u);
  EXPECT_LT(chi_strategies, 20.52);
}

// Per world type, the parameters that the type shifts, over many worlds.
struct TypeSample {
  std::vector<double> competitors, log_bid_level, log_reserve, log_value_level, log_cvr_level, crisis_share,
      seasonal_amplitude, traffic, crisis_intent, log_base_budget;
  int with_deep_pocket = 0;
  int deep_pocket_last = 0;
  double pulling_back = 0, competitor_total = 0;
  int worlds = 0;
};

TEST(WorldParams, WorldTypesShiftWhatTheyClaim) {
  const Priors& priors = default_priors();
  const int crisis = priors.crisis_segment();
  const int deep_pocket = priors.strategy_index("deep_pocket");
  const int pulling_back = priors.strategy_index("pulling_back");
  std::map<std::string, TypeSample> by_type;
  for (std::uint32_t w = 0; w < 8000; ++w) {
    const WorldParams p = draw_world(priors, 2024, w);
    TypeSample& s = by_type[priors.world_types[static_cast<std::size_t>(p.world_type)].name];
    ++s.worlds;
    s.competitors.push_back(static_cast<double>(p.competitors.size()));
    s.log_bid_level.push_back(std::log(p.bid_level));
    s.log_reserve.push_back(std::log(p.reserve_price));
    s.log_value_level.push_back(std::log(p.value_level));
    s.log_cvr_level.push_back(std::log(p.cvr_level));
    s.crisis_share.push_back(p.segment_share[static_cast<std::size_t>(crisis)]);
    s.seasonal_amplitude.push_back(p.seasonal_amplitude);
    s.traffic.push_back(p.traffic);
    s.crisis_intent.push_back(p.crisis_intent_boost);
    bool deep = false;
    for (const CompetitorParams& c : p.competitors) {
      deep = deep || c.strategy == deep_pocket;
      s.pulling_back += c.strategy == pulling_back ? 1 : 0;
      s.competitor_total += 1;
      // The drawn budget without the strategy's multiplier: lognormal(30, 0.5) x the type's competitor_budget.
      s.log_base_budget.push_back(
          std::log(c.daily_budget / priors.strategies[static_cast<std::size_t>(c.strategy)].budget_multiplier));
    }
    s.with_deep_pocket += deep ? 1 : 0;
    s.deep_pocket_last += p.competitors.back().strategy == deep_pocket ? 1 : 0;
  }
  ASSERT_EQ(by_type.size(), 9u);
  const TypeSample& normal = by_type["normal"];

  // Shifts of a log-normal parameter: the difference of mean logs is log(multiplier), with standard error
  // sigma * sqrt(1/n1 + 1/n2) (sigma: the prior's log sd). Tolerance: 5 standard errors.
  const auto expect_log_shift = [&](const TypeSample& type, const std::vector<double> TypeSample::*field,
                                    double multiplier, double sigma, const char* what) {
    const double se = sigma * std::sqrt(1.0 / static_cast<double>((type.*field).size()) +
                                        1.0 / static_cast<double>((normal.*field).size()));
    EXPECT_NEAR(mean_of(type.*field) - mean_of(normal.*field), std::log(multiplier), 5 * se) << what;
  };
  // Competitor counts: U{3..6} (mean 4.5, sd 1.118) plus the type's competitors_add, at least 1.
  // Standard error of a type's mean with ~800 worlds: 0.04; tolerance 0.25 (> 5 SE).
  const TypeSample& high = by_type["high_competition"];
  const TypeSample& low = by_type["low_competition"];
  EXPECT_NEAR(mean_of(normal.competitors), 4.5, 0.25);
  EXPECT_NEAR(mean_of(high.competitors), 7.5, 0.25);
  EXPECT_NEAR(mean_of(low.competitors), 2.5, 0.25);  // max(1, U{3..6} - 2) = U{1..4}
  expect_log_shift(high, &TypeSample::log_bid_level, 1.2, 0.2, "high_competition bid_level");
  expect_log_shift(low, &TypeSample::log_bid_level, 0.8, 0.2, "low_competition bid_level");
  EXPECT_GT(mean_of(high.log_bid_level), mean_of(low.log_bid_level) + 0.3);

  // Crisis surge: the crisis share's Dirichlet mean becomes 0.1 * 1.8 / (1 + 0.1 * 0.8) = 0.1667 (from 0.10);
  // a world's share has sd sqrt(p (1 - p) / 401) = 0.019, so the mean over ~640 worlds has SE 0.0008 (tolerance 0.005).
  const TypeSample& surge = by_type["crisis_surge"];
  EXPECT_NEAR(mean_of(normal.crisis_share), 0.10, 0.005);
  EXPECT_NEAR(mean_of(surge.crisis_share), 0.18 / 1.08, 0.005);
  EXPECT_NEAR(mean_of(surge.crisis_intent), 1.4, 1e-9);
  EXPECT_NEAR(mean_of(normal.crisis_intent), 1.0, 1e-9);

  // Economic downturn: value level x 0.75 (log sd 0.1), conversion level x 0.8 (log sd 0.15), traffic 0.9.
  const TypeSample& downturn = by_type["economic_downturn"];
  expect_log_shift(downturn, &TypeSample::log_value_level, 0.75, 0.1, "economic_downturn value_level");
  expect_log_shift(downturn, &TypeSample::log_cvr_level, 0.8, 0.15, "economic_downturn cvr_level");
  EXPECT_NEAR(mean_of(downturn.traffic), 0.9, 1e-9);

  // New entrant: every such world has a deep-pocket competitor (the added, last one); among normal worlds only
  // those that drew one (1 - 0.95^k for k competitors: about 21%).
  const TypeSample& entrant = by_type["new_entrant"];
  EXPECT_EQ(entrant.with_deep_pocket, entrant.worlds);
  EXPECT_EQ(entrant.deep_pocket_last, entrant.worlds);
  EXPECT_NEAR(mean_of(entrant.competitors), 5.5, 0.25);
  EXPECT_NEAR(static_cast<double>(normal.with_deep_pocket) / normal.worlds, 0.21, 0.05);

  // Competitor pull-back: each competitor switches to pulling_back with probability 0.6, the others drew it with
  // probability 0.05: share 0.62 (binomial SE over ~2800 competitors: 0.009; tolerance 0.05). Normal worlds: 0.05.
  const TypeSample& pull_back = by_type["competitor_pull_back"];
  EXPECT_NEAR(pull_back.pulling_back / pull_back.competitor_total, 0.6 + 0.4 * 0.05, 0.05);
  EXPECT_NEAR(normal.pulling_back / normal.competitor_total, 0.05, 0.015);

  // Seasonal peak: traffic x 1.4, seasonal amplitude U(0, 0.25) + 0.2 (mean 0.325 against 0.125; sd 0.072, so
  // SE 0.003 over ~800 worlds; tolerance 0.02), conversion level x 1.1.
  const TypeSample& peak = by_type["seasonal_peak"];
  EXPECT_NEAR(mean_of(peak.traffic), 1.4, 1e-9);
  EXPECT_NEAR(mean_of(normal.traffic), 1.0, 1e-9);
  EXPECT_NEAR(mean_of(peak.seasonal_amplitude), 0.325, 0.02);
  EXPECT_NEAR(mean_of(normal.seasonal_amplitude), 0.125, 0.02);
  expect_log_shift(peak, &TypeSample::log_cvr_level, 1.1, 0.15, "seasonal_peak cvr_level");

  // Price war: bid level x 1.5, reserve x 0.7 (log sd 0.3), competitor budgets x 1.3 (log sd 0.5).
  const TypeSample& war = by_type["price_war"];
  expect_log_shift(war, &TypeSample::log_bid_level, 1.5, 0.2, "price_war bid_level");
  expect_log_shift(war, &TypeSample::log_reserve, 0.7, 0.3, "price_war reserve");
  expect_log_shift(war, &TypeSample::log_base_budget, 1.3, 0.5, "price_war competitor budget");
  // Types that do not touch a parameter leave it alone (same test, multiplier 1).
  expect_log_shift(by_type["new_entrant"], &TypeSample::log_bid_level, 1.0, 0.2, "new_entrant bid_level");
  expect_log_shift(surge, &TypeSample::log_value_level, 1.0, 0.1, "crisis_surge value_level");
  EXPECT_GT(sd_of(normal.log_bid_level), 0.15);  // the per-world draw really varies (sd 0.2)
}

TEST(WorldParams, SeasonalPeakWorldsSeeMoreQueriesPerUser) {
  // Realised traffic: queries scheduled per user over a 7-day horizon, pooled over 40 worlds of each type.
  // Expected ratio 1.4 (traffic) x 1 (the seasonal cosine averages out over uniform start days). A world's
  // queries per user vary by about 25% (seasonality, hour noise, activity), so the pooled ratio has a
  // standard error of about 1.4 * 0.25 * sqrt(2 / 40) = 0.08: the band [1.15, 1.7] is 3 SE below and 3.7 above.
  const Priors& priors = default_priors();
  const int peak = type_index(priors, "seasonal_peak");
  const int normal = type_index(priors, "normal");
  double queries[2] = {0, 0};
  double users[2] = {0, 0};
  int worlds[2] = {0, 0};
  ReferenceBid policy;
  std::vector<Experience> out;
  for (std::uint32_t w = 0; worlds[0] < 40 || worlds[1] < 40; ++w) {
    WorldParams params = draw_world(priors, 555, w);
    const int slot = params.world_type == peak ? 0 : params.world_type == normal ? 1 : -1;
    if (slot < 0 || worlds[slot] >= 40) continue;
    params.agent_daily_budget = 1e-3;  // the schedule does not depend on the agent: stop its auctions at once
    World world(priors, std::move(params), 555, 7.0);
    out.clear();
    const EpisodeStats stats = world.run_episode(0, policy, out, 1u << 20);
    queries[slot] += static_cast<double>(stats.queries);
    users[slot] += static_cast<double>(world.users().size());
    ++worlds[slot];
  }
  const double ratio = (queries[0] / users[0]) / (queries[1] / users[1]);
  EXPECT_GT(ratio, 1.15);
  EXPECT_LT(ratio, 1.7);
}

TEST(WorldParams, PriorsEditsReachTheWorlds) {
  // No model constant hides in the code: editing the priors text changes what worlds are drawn.
  std::string text = read_text_file(default_priors_path);
  const auto replace = [&](const std::string& from, const std::string& to) {
    const std::size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  };
  replace("users = { dist = \"uniform_int\", low = 500, high = 2000 }", "users = 777");
  replace("count = { dist = \"uniform_int\", low = 3, high = 6 }", "count = 2");
  replace("reserve_price = { dist = \"lognormal\", median = 0.25, sigma = 0.3 }", "reserve_price = 0.125");
  replace("count = 4\n", "count = 6\n");
  replace("attribution_window_days = 7", "attribution_window_days = 3");
  const Priors edited = parse_priors(text, "edited.toml");
  for (std::uint32_t w = 0; w < 50; ++w) {
    const WorldParams p = draw_world(edited, 1, w);
    EXPECT_EQ(p.users, 777);
    const WorldTypePrior& type = edited.world_types[static_cast<std::size_t>(p.world_type)];
    EXPECT_EQ(static_cast<int>(p.competitors.size()),
              std::max(1, 2 + type.competitors_add) + (type.add_strategy >= 0 ? 1 : 0));
    EXPECT_DOUBLE_EQ(p.reserve_price, 0.125 * type.reserve);
    EXPECT_EQ(p.creatives.size(), 6u);
    EXPECT_DOUBLE_EQ(p.attribution_window_hours, 72.0);
  }
}

}  // namespace
}  // namespace manyworlds
