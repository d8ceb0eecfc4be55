// A simulated ad market: its users, competitors and the episode loop of auctions, clicks and conversions.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "manyworlds/core/config.hpp"
#include "manyworlds/core/experience.hpp"
#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world_params.hpp"

namespace manyworlds {

struct User {
  std::uint8_t segment = 0;
  std::uint8_t device = 0;
  std::uint32_t tags = 0;     // bit t set: the user carries Priors::tags[t]
  float activity = 1;         // session-rate multiplier (gamma, mean 1)
};

// One bidder's place on the results page.
struct SlotOutcome {
  int bidder = 0;             // -1: the agent, otherwise the competitor index
  double bid = 0;
  double quality = 0;
  double price = 0;           // per click
  bool clicked = false;
};

// Everything about one auction, for observers (tests, event logs).
struct AuctionRecord {
  std::uint32_t episode = 0;
  std::uint32_t step = 0;
  double time_hours = 0;      // since the episode started
  int hour = 0;
  int day_of_week = 0;        // 0 = Monday
  int day_of_year = 0;
  std::uint32_t user = 0;
  int segment = 0;
  int device = 0;
  int query_type = 0;
  int creative = 0;
  double agent_bid = 0;
  double reserve_price = 0;
  int eligible_bidders = 0;   // bids at or above the reserve
  int agent_slot = 0;         // 1-based, 0 when the agent's ad was not shown
  double price = 0;           // agent's price per click (0 when not shown)
  bool clicked = false;
  double cost = 0;
  bool converted = false;     // a conversion happened (attributed or not)
  double delay_hours = 0;
  double conversion_value = 0;
  bool attributed = false;    // the conversion fell inside the attribution window
  double spend_after = 0;
  double budget = 0;
  int filled_slots = 0;
  std::array<SlotOutcome, 16> slots{};
};

class AuctionObserver {
 public:
  virtual ~AuctionObserver() = default;
  virtual void on_auction(const AuctionRecord& record) = 0;
};

struct EpisodeStats {
  std::int64_t queries = 0;            // auctions scheduled in the horizon
  std::int64_t decisions = 0;          // auctions the agent bid in (one Experience each)
  std::int64_t crisis_decisions = 0;
  std::int64_t impressions = 0;
  std::int64_t clicks = 0;
  std::int64_t conversions = 0;        // attributed
  std::int64_t crisis_conversions = 0;
  double spend = 0;
  double conversion_value = 0;
  double crisis_value = 0;
  double reward = 0;
  double budget = 0;
  // Expectations given each auction's outcome (slot, price): the ad's click-through times the
  // attributed conversion value it can bring, and times its price. Same objective as the realized
  // figures with far less noise; used to judge strategies on held-out worlds.
  double expected_value = 0;
  double expected_spend = 0;

  double expected_roas() const { return expected_spend > 0 ? expected_value / expected_spend : 0.0; }
  EpisodeStats& operator+=(const EpisodeStats& more);
};

class World {
 public:
  // `priors` must outlive the world. The population is drawn once, from the world's stream.
  World(const Priors& priors, WorldParams params, std::uint64_t seed, double horizon_days);

  const Priors& priors() const { return *priors_; }
  const WorldParams& params() const { return params_; }
  double horizon_hours() const { return horizon_hours_; }
  // Conversion probability of a click by a user of `segment` on `device` for query type `query`.
  double conversion_probability(int segment, int device, int query) const {
    return conversion_probability_[(static_cast<std::size_t>(segment) * priors_->devices.size() + device) *
                                       query_type_count + query];
  }
  // Expected attributed conversion value of a conversion by a user of `segment` (value x P(delay within window)).
  double expected_attributed_value(int segment) const { return expected_attributed_value_[segment]; }
  const std::vector<User>& users() const { return users_; }
  // Competitors' spend in the last episode (currency units).
  const std::vector<double>& competitor_spend() const { return competitor_spend_; }
  double competitor_budget(std::size_t competitor) const;

  // Runs one campaign horizon, appending one Experience per agent decision to `out`.
  // Throws RuntimeFailure if `out` would exceed `capacity`.
  EpisodeStats run_episode(std::uint32_t episode, BidPolicy& policy, std::vector<Experience>& out,
                           std::size_t capacity, AuctionObserver* observer = nullptr);

 private:
  struct QueryEvent {
    double time_hours;
    std::uint32_t user;
    std::uint32_t query_type;
  };
  struct PendingConversion {
    double time_hours;
    double value;
  };

  // The agent's slot (1-based; 0: not shown) and price per click had it bid `bid` with `quality`
  // in the auction ranked in candidates_ (its own entry there ignored).
  std::pair<int, double> placement(double bid, double quality) const;
  void draw_population();
  void precompute();
  void draw_schedule(std::uint32_t episode);
  int hour_of(double time_hours) const;
  int day_of_week_of(double time_hours) const;
  int day_of_year_of(double time_hours) const;

  const Priors* priors_;
  WorldParams params_;
  std::uint64_t seed_;
  double horizon_hours_;
  std::vector<User> users_;

  // Precomputed per world.
  std::vector<double> hour_cumulative_;          // session-time weights over the horizon's hours
  double expected_sessions_factor_ = 0;          // sum of those weights
  std::vector<std::array<double, query_type_count>> query_cumulative_;  // per segment
  std::vector<double> click_base_;               // [segment][device][query]
  std::vector<double> conversion_probability_;   // [segment][device][query]
  std::vector<double> log_value_median_;         // per segment
  std::vector<double> expected_attributed_value_; // per segment: E[value] x P(delay within the window)
  std::array<double, 24> hour_ctr_{};
  std::array<float, 24> hour_sin_{};
  std::array<float, 24> hour_cos_{};
  std::vector<float> log_value_per_click_;       // [device][query]: observation entry, log(estimate / reference bid)
  std::vector<double> competitor_bid_median_;    // [competitor][query]
  std::vector<double> competitor_entry_;         // [competitor][query]
  std::vector<double> competitor_budget_;        // per episode
  std::uint32_t urgency_mask_ = 0;

  // Reused between episodes (no allocation once warm).
  std::vector<QueryEvent> schedule_;
  std::vector<std::uint16_t> impressions_;       // [user][creative]
  std::vector<PendingConversion> pending_;       // min-heap on time
  std::vector<double> competitor_spend_;
  std::vector<SlotOutcome> candidates_;
};

// The worlds with ids id_base + [first, first + count): parameters drawn from the priors, populations built.
std::vector<World> make_worlds(const Priors& priors, std::uint64_t seed, double horizon_days, std::int64_t first,
                               std::int64_t count, std::uint32_t id_base = 0);

}  // namespace manyworlds
