// Statistical checks of default-priors worlds: crisis shares, click/conversion rates, prices, delays, world types, iOS.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <vector>

#include "manyworlds/core/experience.hpp"
#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world.hpp"
#include "manyworlds/world/world_params.hpp"

namespace manyworlds {
namespace {

const char* const priors_path = MANYWORLDS_SOURCE_DIR "/jobs/priors/default.toml";

// An exploring constant bidder: log multiplier `level` + `spread` x N(0,1), creative uniform over the world's creatives.
class NoisyConstantBid : public BidPolicy {
 public:
  NoisyConstantBid(float level, float spread) : level_(level), spread_(spread) {}
  Action act(const Observation&, int creatives, const DecisionNoise& noise) override {
    Action action;
    action.log_bid_multiplier = level_ + spread_ * static_cast<float>(noise.normal);
    action.creative = std::min(creatives - 1, static_cast<int>(noise.uniform * creatives));
    return action;
  }

 private:
  float level_;
  float spread_;
};

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

// Everything the market-level checks need, tallied from every auction of every world's first episode.
struct MarketTally : AuctionObserver {
  const Priors* priors = nullptr;
  const WorldParams* world = nullptr;
  std::int64_t users = 0, crisis_users = 0;
  std::vector<std::int64_t> impressions_by_position, clicks_by_position;  // all bidders
  std::int64_t agent_clicks = 0, agent_conversions = 0;
  double value = 0, crisis_value = 0;                  // attributed conversion value of the agent
  std::int64_t within_hour = 0, beyond_day = 0, beyond_window = 0;
  std::vector<double> prices;                          // price per click of every click, every bidder
  // Crisis users' clicks and conversions by device (the iOS effect, pooled over default worlds).
  std::vector<std::int64_t> crisis_clicks_by_device, crisis_conversions_by_device;

  void on_auction(const AuctionRecord& r) override {
    for (int k = 0; k < r.filled_slots; ++k) {
      ++impressions_by_position[static_cast<std::size_t>(k)];
      if (r.slots[static_cast<std::size_t>(k)].clicked) {
        ++clicks_by_position[static_cast<std::size_t>(k)];
        prices.push_back(r.slots[static_cast<std::size_t>(k)].price);
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

// Number of default-priors worlds the market statistics pool (7-day episodes, one each).
constexpr std::uint32_t market_worlds = 300;
constexpr std::uint64_t market_seed = 20240611;

class WorldStatistics : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    priors_ = new Priors(load_priors(priors_path));
    tally_ = new MarketTally();
    MarketTally& t = *tally_;
    t.priors = priors_;
    t.impressions_by_position.assign(static_cast<std::size_t>(priors_->slots), 0);
    t.clicks_by_position.assign(static_cast<std::size_t>(priors_->slots), 0);
    t.crisis_clicks_by_device.assign(priors_->devices.size(), 0);
    t.crisis_conversions_by_device.assign(priors_->devices.size(), 0);
    NoisyConstantBid policy(0.0f, 0.3f);
    std::vector<Experience> out;
    for (std::uint32_t w = 0; w < market_worlds; ++w) {
      World world(*priors_, draw_world(*priors_, market_seed, w), market_seed, 7.0);
      for (const User& user : world.users()) {
        ++t.users;
        t.crisis_users += user.segment == priors_->crisis_segment() ? 1 : 0;
      }
      out.clear();
      world.run_episode(0, policy, out, 1u << 20, &t);
    }
  }
  static void TearDownTestSuite() {
    delete tally_;
    delete priors_;
  }
  static Priors* priors_;
  static MarketTally* tally_;
};
Priors* WorldStatistics::priors_ = nullptr;
MarketTally* WorldStatistics::tally_ = nullptr;

TEST_F(WorldStatistics, Explore) {
  const MarketTally& t = *tally_;
  std::printf("users %lld crisis share %.4f\n", (long long)t.users, double(t.crisis_users) / double(t.users));
  std::printf("value share %.4f (value %.0f)\n", t.crisis_value / t.value, t.value);
  std::int64_t imp = 0, clk = 0;
  for (std::size_t k = 0; k < t.impressions_by_position.size(); ++k) {
    imp += t.impressions_by_position[k];
    clk += t.clicks_by_position[k];
    std::printf("pos %zu ctr %.4f (%lld)\n", k, double(t.clicks_by_position[k]) / double(t.impressions_by_position[k]),
                (long long)t.impressions_by_position[k]);
  }
  std::printf("ctr %.4f cvr %.4f clicks %lld conv %lld\n", double(clk) / double(imp),
              double(t.agent_conversions) / double(t.agent_clicks), (long long)t.agent_clicks,
              (long long)t.agent_conversions);
  std::printf("hour %.4f day %.4f window %.4f\n", double(t.within_hour) / double(t.agent_conversions),
              double(t.beyond_day) / double(t.agent_conversions), double(t.beyond_window) / double(t.agent_conversions));
  const Moments p = moments_of(t.prices);
  std::vector<double> logs;
  for (double x : t.prices) logs.push_back(std::log(x));
  const Moments l = moments_of(logs);
  std::printf("prices n %zu mean %.4f median %.4f skew %.4f | log mean %.4f median %.4f sd %.4f skew %.4f\n",
              t.prices.size(), p.mean, p.median, p.skewness, l.mean, l.median, l.sd, l.skewness);
  for (std::size_t d = 0; d < t.crisis_clicks_by_device.size(); ++d)
    std::printf("device %zu crisis clicks %lld conv %lld cvr %.4f\n", d, (long long)t.crisis_clicks_by_device[d],
                (long long)t.crisis_conversions_by_device[d],
                double(t.crisis_conversions_by_device[d]) / double(t.crisis_clicks_by_device[d]));
}

}  // namespace
}  // namespace manyworlds
