// Statistical checks of default-priors worlds: crisis shares, click/conversion rates, price shape, delays, iOS effect.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <vector>

#include "manyworlds/core/experience.hpp"
#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world.hpp"
#include "manyworlds/world/world_params.hpp"
#include "world_test_support.hpp"

namespace manyworlds {
namespace {

using testing_support::default_priors;
using testing_support::default_priors_path;
using testing_support::NoisyConstantBid;

struct Moments {
  double mean = 0, median = 0, sd = 0, skewness = 0;
};

Moments moments_of(std::vector<double> values) {
  Moments m;
  const double n = static_cast<double>(values.size());
  m.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double m2 = 0, m3 = 0;
  for (double v : values) {
    const double d = v - m.mean;
    m2 += d * d;
    m3 += d * d * d;
  }
  m2 /= n;
  m3 /= n;
  m.sd = std::sqrt(m2);
  m.skewness = m3 / (m2 * m.sd);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2), values.end());
  m.median = values[values.size() / 2];
  return m;
}

// Bowley's quartile skewness (Q3 + Q1 - 2 Q2) / (Q3 - Q1) of sorted values: the body's asymmetry, robust to the tails.
double quartile_skewness(const std::vector<double>& sorted) {
  const std::size_t n = sorted.size();
  const double q1 = sorted[n / 4], q2 = sorted[n / 2], q3 = sorted[3 * n / 4];
  return (q3 + q1 - 2 * q2) / (q3 - q1);
}

// Everything the market-level checks need, tallied from every auction of every world's first episode.
struct MarketTally : AuctionObserver {
  const Priors* priors = nullptr;
  std::vector<std::int64_t> impressions_by_position, clicks_by_position;  // all bidders
  std::int64_t agent_clicks = 0, agent_conversions = 0;
  double value = 0, crisis_value = 0;  // attributed conversion value of the agent
  std::int64_t within_hour = 0, beyond_day = 0, beyond_window = 0;
  std::vector<double> prices;              // price per click of every click, every bidder
  std::int64_t prices_at_reserve = 0;      // ... of which exactly the reserve price
  std::vector<double> competitive_prices;  // ... and those set by the next bidder (above the reserve)
  // Crisis users' clicks and conversions by device (the iOS effect, pooled over default worlds).
  std::vector<std::int64_t> crisis_clicks_by_device, crisis_conversions_by_device;

  void on_auction(const AuctionRecord& r) override {
    for (int k = 0; k < r.filled_slots; ++k) {
      ++impressions_by_position[static_cast<std::size_t>(k)];
      if (r.slots[static_cast<std::size_t>(k)].clicked) {
        ++clicks_by_position[static_cast<std::size_t>(k)];
        prices.push_back(r.slots[static_cast<std::size_t>(k)].price);
        if (r.slots[static_cast<std::size_t>(k)].price == r.reserve_price) {
          ++prices_at_reserve;
        } else {
          competitive_prices.push_back(r.slots[static_cast<std::size_t>(k)].price);
        }
      }
    }
    const bool crisis = r.segment == priors->crisis_segment();
    if (r.clicked) {
      ++agent_clicks;
      if (crisis) ++crisis_clicks_by_device[static_cast<std::size_t>(r.device)];
    }
    if (r.converted) {
      ++agent_conversions;
      if (crisis) ++crisis_conversions_by_device[static_cast<std::size_t>(r.device)];
      within_hour += r.delay_hours <= 1.0 ? 1 : 0;
      beyond_day += r.delay_hours > 24.0 ? 1 : 0;
      beyond_window += r.attributed ? 0 : 1;
    }
    value += r.conversion_value;
    if (crisis) crisis_value += r.conversion_value;
  }
};

// The market statistics pool the first 7-day episode of 400 default-priors worlds (about 1 s). Every
// tolerance below is derived from the spread measured between worlds: a statistic is a ratio of sums over
// worlds, whose standard error (SE) is sqrt(sum_w (num_w - R den_w)^2) / sum_w den_w. In a pilot run of 300
// worlds (three seeds) the SEs were: crisis value share 0.014, CTR 0.0003, CVR 0.001, conversions within an
// hour 0.011, beyond a day 0.009; at 400 worlds they shrink by sqrt(3/4). Each band is wider than 5 SE around
// the value the priors imply, so the checks fail only when the model, not chance, moves.
constexpr std::uint32_t market_worlds = 400;
constexpr std::uint64_t market_seed = 20240611;

class WorldStatistics : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    priors_ = &default_priors();
    tally_ = std::make_unique<MarketTally>();
    MarketTally& t = *tally_;
    t.priors = priors_;
    t.impressions_by_position.assign(static_cast<std::size_t>(priors_->slots), 0);
    t.clicks_by_position.assign(static_cast<std::size_t>(priors_->slots), 0);
    t.crisis_clicks_by_device.assign(priors_->devices.size(), 0);
    t.crisis_conversions_by_device.assign(priors_->devices.size(), 0);
    NoisyConstantBid policy(0.0f, 0.3f);  // the reference bid, explored a little
    std::vector<Experience> out;
    for (std::uint32_t w = 0; w < market_worlds; ++w) {
      World world(*priors_, draw_world(*priors_, market_seed, w), market_seed, 7.0);
      out.clear();
      world.run_episode(0, policy, out, 1u << 20, &t);
    }
    std::sort(t.prices.begin(), t.prices.end());
  }
  static void TearDownTestSuite() { tally_.reset(); }
  static inline const Priors* priors_ = nullptr;
  static inline std::unique_ptr<MarketTally> tally_;
};

double ratio(std::int64_t part, std::int64_t whole) { return static_cast<double>(part) / static_cast<double>(whole); }

TEST_F(WorldStatistics, CrisisParentsAreATenthOfUsers) {
  // Users of 2000 worlds (populations only: cheap). Expected share: 0.92 x 0.10 + 0.08 x 0.1667 (crisis-surge
  // worlds) = 0.1053. A world's share has sd about 0.024 (Dirichlet spread plus the surge worlds), so the mean
  // over 2000 worlds has SE 0.0005: the band [0.09, 0.11] is 9 SE either side.
  std::int64_t users = 0, crisis = 0;
  for (std::uint32_t w = 0; w < 2000; ++w) {
    const World world(*priors_, draw_world(*priors_, market_seed, w), market_seed, 1.0);
    for (const User& user : world.users()) {
      ++users;
      crisis += user.segment == priors_->crisis_segment() ? 1 : 0;
    }
  }
  const double share = ratio(crisis, users);
  std::printf("crisis parents: %.4f of %lld users (band 0.09-0.11)\n", share, static_cast<long long>(users));
  EXPECT_GT(share, 0.09);
  EXPECT_LT(share, 0.11);
}

TEST_F(WorldStatistics, CrisisParentsBringAboutHalfTheConversionValue) {
  // Attributed conversion value of the agent's clicks. SE about 0.012 over 400 worlds: band [0.40, 0.60].
  const MarketTally& t = *tally_;
  ASSERT_GT(t.value, 0.0);
  const double share = t.crisis_value / t.value;
  std::printf("crisis value share: %.4f (band 0.40-0.60)\n", share);
  EXPECT_GT(share, 0.40);
  EXPECT_LT(share, 0.60);
  // ... from about a tenth of the users: value per crisis user is several times the rest's.
  EXPECT_GT(share, 3 * 0.11);
}

TEST_F(WorldStatistics, ClickThroughIsInTheLowSingleDigitPercent) {
  // Every impression of every bidder (agent and competitors). SE about 0.0003: band [1%, 5%].
  const MarketTally& t = *tally_;
  std::int64_t impressions = 0, clicks = 0;
  for (std::size_t k = 0; k < t.impressions_by_position.size(); ++k) {
    impressions += t.impressions_by_position[k];
    clicks += t.clicks_by_position[k];
    std::printf("slot %zu: CTR %.4f over %lld impressions\n", k + 1,
                ratio(t.clicks_by_position[k], t.impressions_by_position[k]),
                static_cast<long long>(t.impressions_by_position[k]));
  }
  const double ctr = ratio(clicks, impressions);
  std::printf("CTR per impression: %.4f (band 0.01-0.05)\n", ctr);
  EXPECT_GT(ctr, 0.01);
  EXPECT_LT(ctr, 0.05);
  // Position effects: click-through falls from slot to slot (each slot has > 1e6 impressions: SE < 2e-4).
  for (std::size_t k = 1; k < t.impressions_by_position.size(); ++k)
    EXPECT_LT(ratio(t.clicks_by_position[k], t.impressions_by_position[k]) + 0.003,
              ratio(t.clicks_by_position[k - 1], t.impressions_by_position[k - 1]))
        << "slot " << k + 1;
}

TEST_F(WorldStatistics, ConversionRateIsInTheSingleDigitPercent) {
  // Conversions (attributed or not) per agent click. SE about 0.001: band [1%, 9%].
  const MarketTally& t = *tally_;
  ASSERT_GT(t.agent_clicks, 10000);
  const double cvr = ratio(t.agent_conversions, t.agent_clicks);
  std::printf("CVR per click: %.4f over %lld clicks (band 0.01-0.09)\n", cvr, static_cast<long long>(t.agent_clicks));
  EXPECT_GT(cvr, 0.01);
  EXPECT_LT(cvr, 0.09);
}

TEST_F(WorldStatistics, ClearingPricesAreRightSkewedAndLogNormalLike) {
  // Price per click of every click of every bidder (~2.2e5 clicks). A skewness is dominated by variation between
  // worlds, not by sqrt(6/n): the bands come from six independent sets of 400 worlds (seeds 20240611 and 1-5,
  // before this test was fixed to one), whose spread gives the SE of each statistic:
  //  - all prices: mean / median 1.088-1.101, moment skewness 1.13-1.46 (sd 0.12); bands > 1.05 and > 0.5.
  //  - GSP prices the last filled slot at the reserve: 11.7%-13.0% of clicks pay exactly the reserve, a point mass
  //    in the lower tail that makes the log of *all* prices left-skewed (-0.53 to -0.66; reported, not a band).
  //  - the competitively set prices (above the reserve, ~87%) are log-normal-like: skewness of their log
  //    -0.07 to -0.19 (sd 0.045; band |.| < 0.35) and quartile skewness of their log -0.003 to -0.027
  //    (sd 0.009; band |.| < 0.06), while the prices themselves stay right-skewed (moment skewness 1.37-1.74,
  //    band > 0.5; quartile skewness 0.13-0.155, band > 0.08).
  const MarketTally& t = *tally_;
  ASSERT_GT(t.prices.size(), 100000u);
  const Moments price = moments_of(t.prices);
  std::vector<double> logs, above, log_above;
  for (double p : t.prices) logs.push_back(std::log(p));
  const double at_reserve = ratio(t.prices_at_reserve, static_cast<std::int64_t>(t.prices.size()));
  for (double p : t.competitive_prices) {
    above.push_back(p);
    log_above.push_back(std::log(p));
  }
  const Moments log_price = moments_of(logs);
  const Moments competitive = moments_of(above);
  const Moments log_competitive = moments_of(log_above);
  std::sort(above.begin(), above.end());
  std::sort(log_above.begin(), log_above.end());
  std::printf("price per click: mean %.4f median %.4f skewness %.3f; %.3f at the reserve; log price skewness %.3f\n",
              price.mean, price.median, price.skewness, at_reserve, log_price.skewness);
  std::printf(
      "prices above the reserve: skewness %.3f, quartile skewness %.3f; of their log: skewness %.3f, "
      "quartile skewness %.3f\n",
      competitive.skewness, quartile_skewness(above), log_competitive.skewness, quartile_skewness(log_above));
  EXPECT_GT(price.mean, 1.05 * price.median);
  EXPECT_GT(price.skewness, 0.5);
  EXPECT_GT(at_reserve, 0.05);
  EXPECT_LT(at_reserve, 0.25);
  EXPECT_GT(competitive.skewness, 0.5);
  EXPECT_GT(quartile_skewness(above), 0.08);
  EXPECT_LT(std::fabs(log_competitive.skewness), 0.35);
  EXPECT_LT(std::fabs(quartile_skewness(log_above)), 0.06);
  // The upper tail is long: the 99th percentile is about 3 x the median (2.9-3.3 over the six sets).
  EXPECT_GT(t.prices[t.prices.size() * 99 / 100], 2.5 * price.median);
}

TEST_F(WorldStatistics, AboutAThirdOfConversionsWithinAnHourAndALongTail) {
  // Delays are log-normal with a median of about 2.5 h and log sd 1.9-2.3: P(delay <= 1 h) = Phi(-0.92/2.1)
  // = 0.33 and P(delay > 24 h) = 1 - Phi(2.26/2.1) = 0.14. SEs about 0.010 and 0.008 over 400 worlds:
  // bands [0.25, 0.42] and >= 0.08, and some conversions fall beyond the 7-day attribution window (2%).
  const MarketTally& t = *tally_;
  ASSERT_GT(t.agent_conversions, 1000);
  const double hour = ratio(t.within_hour, t.agent_conversions);
  const double day = ratio(t.beyond_day, t.agent_conversions);
  const double window = ratio(t.beyond_window, t.agent_conversions);
  std::printf(
      "conversion delays: %.4f within 1 h (band 0.25-0.42), %.4f beyond 24 h (>= 0.08), %.4f beyond the window\n", hour,
      day, window);
  EXPECT_GT(hour, 0.25);
  EXPECT_LT(hour, 0.42);
  EXPECT_GE(day, 0.08);
  EXPECT_GT(window, 0.0);
  EXPECT_LT(window, day);
}

TEST_F(WorldStatistics, IosLowersConversionOfFeatureDependentUsers) {
  // Default worlds: crisis parents (feature dependence 0.8) on iOS (feature gap 0.45) convert at
  // 1 - 0.45 x 0.8 = 0.64 times the android rate. Over 400 worlds there are ~9000 crisis clicks per device and
  // ~350-450 conversions each, so the ratio has SE about 0.05: band [0.45, 0.85] (> 3 SE; the pilot run gave 0.73).
  const MarketTally& t = *tally_;
  const std::size_t ios = static_cast<std::size_t>(priors_->ios_device);
  std::size_t android = 0;
  for (std::size_t d = 0; d < priors_->devices.size(); ++d)
    if (priors_->devices[d].name == "android") android = d;
  ASSERT_NE(android, ios);
  const double pooled = ratio(t.crisis_conversions_by_device[ios], t.crisis_clicks_by_device[ios]) /
                        ratio(t.crisis_conversions_by_device[android], t.crisis_clicks_by_device[android]);
  std::printf("crisis CVR iOS / android (default worlds): %.3f (band 0.45-0.85)\n", pooled);
  EXPECT_GT(pooled, 0.45);
  EXPECT_LT(pooled, 0.85);

  // A sharper measurement: worlds whose users are all crisis parents, half on iOS and half on android, with
  // conversion levels x 4 (all probabilities stay far below 1, so the ratio is unchanged), an agent that wins
  // the top slot nearly always and a budget that never binds. The iOS / android ratio of conversions per click
  // estimates 0.64 with relative SE sqrt(1/n_ios + 1/n_android): with > 2000 iOS and ~3000 android
  // conversions that is 0.029, i.e. SE 0.019 on the ratio; band 0.64 +- 0.07 (3.7 SE).
  std::int64_t clicks[2] = {0, 0}, conversions[2] = {0, 0};
  struct DeviceTally : AuctionObserver {
    std::size_t ios = 0, android = 0;
    std::int64_t* clicks = nullptr;
    std::int64_t* conversions = nullptr;
    void on_auction(const AuctionRecord& r) override {
      const auto device = static_cast<std::size_t>(r.device);
      const int side = device == ios ? 0 : device == android ? 1 : -1;
      if (side < 0 || !r.clicked) return;
      ++clicks[side];
      conversions[side] += r.converted ? 1 : 0;
    }
  } tally;
  tally.ios = ios;
  tally.android = android;
  tally.clicks = clicks;
  tally.conversions = conversions;
  NoisyConstantBid winner(2.5f, 0.1f);
  std::vector<Experience> out;
  for (std::uint32_t w = 0; w < 28; ++w) {
    WorldParams params = draw_world(*priors_, market_seed + 1, w);
    std::fill(params.segment_share.begin(), params.segment_share.end(), 0.0);
    params.segment_share[static_cast<std::size_t>(priors_->crisis_segment())] = 1.0;
    std::fill(params.device_share.begin(), params.device_share.end(), 0.0);
    params.device_share[ios] = 0.5;
    params.device_share[android] = 0.5;
    params.cvr_level *= 4.0;
    params.agent_daily_budget = 1e9;
    World world(*priors_, std::move(params), market_seed + 1, 7.0);
    out.clear();
    world.run_episode(0, winner, out, 1u << 22, &tally);
  }
  ASSERT_GT(conversions[0], 2000);
  ASSERT_GT(conversions[1], 2000);
  const double sharp = ratio(conversions[0], clicks[0]) / ratio(conversions[1], clicks[1]);
  std::printf("crisis CVR iOS / android (all-crisis worlds): %.4f over %lld + %lld conversions (band 0.57-0.71)\n",
              sharp, static_cast<long long>(conversions[0]), static_cast<long long>(conversions[1]));
  EXPECT_NEAR(sharp, 1.0 - 0.45 * 0.8, 0.07);
}

}  // namespace
}  // namespace manyworlds
