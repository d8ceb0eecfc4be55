// A simulated ad market: its users, competitors and the episode loop of auctions, clicks and conversions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "manyworlds/core/config.hpp"
#include "manyworlds/core/experience.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/pacing.hpp"
#include "manyworlds/world/priors.hpp"
#include "manyworlds/world/world_params.hpp"

namespace manyworlds {

struct User {
  std::uint8_t segment = 0;
  std::uint8_t device = 0;
  std::uint32_t tags = 0;  // bit t set: the user carries Priors::tags[t]
  float activity = 1;      // session-rate multiplier (gamma, mean 1)
};

// One bidder's place on the results page.
struct SlotOutcome {
  int bidder = 0;  // -1: the agent, otherwise the competitor index
  double bid = 0;
  double quality = 0;
  double price = 0;  // per click
  bool clicked = false;
};

// Everything about one auction, for observers (tests, event logs).
struct AuctionRecord {
  std::uint32_t episode = 0;
  std::uint32_t step = 0;
  double time_hours = 0;  // since the episode started
  int hour = 0;
  int day_of_week = 0;  // 0 = Monday
  int day_of_year = 0;
  std::uint32_t user = 0;
  int segment = 0;
  int device = 0;
  int query_type = 0;
  int creative = 0;
  double agent_bid = 0;
  double reserve_price = 0;
  int eligible_bidders = 0;  // bids at or above the reserve
  int agent_slot = 0;        // 1-based, 0 when the agent's ad was not shown
  double price = 0;          // agent's price per click (0 when not shown)
  bool clicked = false;
  double cost = 0;
  bool converted = false;  // a conversion happened (attributed or not)
  double delay_hours = 0;
  double conversion_value = 0;
  bool attributed = false;  // the conversion fell inside the attribution window
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
  std::int64_t queries = 0;    // auctions scheduled in the horizon
  std::int64_t decisions = 0;  // auctions the agent bid in (one Experience each)
  std::int64_t crisis_decisions = 0;
  std::int64_t impressions = 0;
  std::int64_t clicks = 0;
  std::int64_t conversions = 0;  // attributed
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
                                       query_type_count +
                                   query];
  }
  // Expected attributed conversion value of a conversion by a user of `segment` (value x P(delay within window)).
  double expected_attributed_value(int segment) const { return expected_attributed_value_[segment]; }
  const std::vector<User>& users() const { return users_; }
  int creatives() const { return static_cast<int>(params_.creatives.size()); }
  // Competitors' spend in the last episode (currency units).
  const std::vector<double>& competitor_spend() const { return competitor_spend_; }
  double competitor_budget(std::size_t competitor) const;

  // Runs one campaign horizon, appending one Experience per agent decision to `out`.
  // Throws RuntimeFailure if `out` would exceed `capacity`.
  EpisodeStats run_episode(std::uint32_t episode, BidPolicy& policy, std::vector<Experience>& out, std::size_t capacity,
                           AuctionObserver* observer = nullptr);

  // The same episode one decision at a time, so that many worlds can be stepped in lockstep
  // (world/lockstep.hpp). run_episode is exactly:
  //   begin_episode(episode, out); policy.begin_episode();
  //   while (Experience* e = next_decision(out, capacity))
  //     complete_decision(policy.act(e->obs, creatives(), decision_noise()), *e, observer);
  //   return end_episode(out);
  // The random streams are addressed by (world, episode, step), so results do not depend on what
  // other worlds do in between.
  void begin_episode(std::uint32_t episode, const std::vector<Experience>& out);
  // Delivers due conversions and, unless the schedule or the budget is exhausted, appends the next
  // decision's Experience with its observation filled in and draws its noise; nullptr at the end.
  // Throws RuntimeFailure if `out` would exceed `capacity`.
  Experience* next_decision(std::vector<Experience>& out, std::size_t capacity);
  // The exploration noise of the decision next_decision returned last.
  const DecisionNoise& decision_noise() const { return decision_.noise; }
  // Runs that decision's auction with `action` (clicks, conversions) and fills in the rest of `e`.
  void complete_decision(const Action& action, Experience& e, AuctionObserver* observer = nullptr);
  // Marks the episode's last experience as done; returns the episode's statistics.
  EpisodeStats end_episode(std::vector<Experience>& out);

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
  // An auction's draws (about 20 words) and a user's schedule (about 50) come from blocks computed
  // together: stream_blocks_ at a time, 4, or 8 where one pass of philox_blocks computes 8 (AVX-512)
  // for the price of 4; a decision's noise from the first block of its step's action stream,
  // computed for noise_steps steps at once.
  using AuctionStream = BasicStream<8>;
  using ScheduleStream = BasicStream<8>;
  static constexpr int noise_steps = 8;

  // A competitor's per-query figures and strategy, gathered for the auction loop.
  struct Bidder {
    std::array<double, query_type_count> bid_median{};
    std::array<double, query_type_count> entry{};
    double bid_noise = 0;
    double bid_trend_per_day = 0;
    double quality = 0;
    double budget = 0;  // per episode
    bool paced = false;
  };
  // The running state of the episode being stepped.
  struct EpisodeState {
    std::uint32_t episode = 0;
    std::uint32_t step = 0;  // index of the next schedule entry
    std::size_t first = 0;   // index in `out` of the episode's first experience
    double budget = 0;
    double spend = 0;
    double observed_value = 0;  // attributed conversion value delivered so far
    float recent_ctr = 0;
    float log_last_price = 0;
    PacingDual pacing{PacingSignal{}};  // the observation's pacing pressure
    EpisodeStats stats;
  };
  // What next_decision worked out for the pending decision.
  struct PendingDecision {
    DecisionNoise noise;
    double time_fraction = 0;
    double remaining = 0;  // budget left before this auction
    int hour = 0;
    int day_of_week = 0;
  };
  // The agent's result in one auction.
  struct AuctionResult {
    int agent_slot = 0;  // 1-based, 0 when not shown
    double price = 0;    // per click
    int filled = 0;
  };
  // The same auction at the strategy's deterministic bid (Experience::mean_expected_reward).
  struct MeanBidOutcome {
    double ctr = 0;    // the ad's click-through in the slot that bid gets (0 when not shown)
    double price = 0;  // per click
  };
  struct AgentOutcome {
    bool clicked = false;
    bool converted = false;
    bool attributed = false;
    double cost = 0;
    double value = 0;
    double delay = 0;
    double expected_ctr = 0;  // the shown ad's click-through (0 when not shown)
  };

  // The agent's slot (1-based; 0: not shown) and price per click had it bid `bid` with `quality`
  // in the auction ranked in candidates_ (its own entry there ignored).
  std::pair<int, double> placement(double bid, double quality) const;
  void draw_population();
  void precompute();
  void precompute_schedule_tables();
  void precompute_response_tables();
  void precompute_bidders();
  void draw_schedule(std::uint32_t episode);
  void sort_schedule();
  int hour_of(double time_hours) const;
  int day_of_week_of(double time_hours) const;
  int day_of_year_of(double time_hours) const;

  void deliver_conversions(double time_hours);
  void observe(const QueryEvent& event, Observation& o);
  void draw_noise();
  AuctionResult run_auction(const QueryEvent& event, double agent_bid, double agent_quality, std::size_t cell);
  void rank_candidates();
  AgentOutcome agent_outcome(const QueryEvent& event, int creative, const AuctionResult& auction, std::size_t cell);
  double click_through(const QueryEvent& event, int creative, int slot, std::size_t cell) const;
  MeanBidOutcome mean_bid_outcome(const QueryEvent& event, const Action& action, float log_multiplier,
                                  double agent_quality, int creative, const AuctionResult& auction,
                                  std::size_t cell) const;
  void write_experience(Experience& e, const QueryEvent& event, const Action& action, int creative, double agent_bid,
                        const AuctionResult& auction, const AgentOutcome& outcome, const MeanBidOutcome& mean,
                        std::size_t cell);
  void notify(AuctionObserver& observer, const QueryEvent& event, int creative, double agent_bid,
              const AuctionResult& auction, const AgentOutcome& outcome) const;

  const Priors* priors_;
  WorldParams params_;
  std::uint64_t seed_;
  double horizon_hours_;
  int crisis_segment_;
  double log_reference_bid_;
  float max_log_multiplier_;  // every action's log bid multiplier is clamped to +-this (the priors' key)
  int stream_blocks_;         // blocks per refill of the auction and schedule streams
  std::vector<User> users_;

  // Precomputed per world.
  std::vector<double> hour_cumulative_;                                 // session-time weights over the horizon's hours
  double expected_sessions_factor_ = 0;                                 // sum of those weights
  std::vector<std::array<double, query_type_count>> query_cumulative_;  // per segment
  std::vector<double> click_base_;                                      // [segment][device][query]
  std::vector<double> conversion_probability_;                          // [segment][device][query]
  std::vector<double> log_value_median_;                                // per segment
  std::vector<double> expected_attributed_value_;  // per segment: E[value] x P(delay within the window)
  std::array<double, 24> hour_ctr_{};
  std::array<float, 24> hour_sin_{};
  std::array<float, 24> hour_cos_{};
  std::vector<float> log_value_per_click_;  // [device][query]: observation entry, log(estimate / reference bid)
  std::vector<Bidder> bidders_;             // per competitor
  std::array<std::uint32_t, query_type_count> query_tags_{};  // tag bits every query of a type carries
  std::uint32_t urgency_mask_ = 0;

  // Reused between episodes (no allocation once warm).
  std::vector<QueryEvent> schedule_;
  std::optional<std::uint32_t> scheduled_episode_;  // the episode schedule_ belongs to
  std::vector<QueryEvent> drawn_;                   // the schedule in the order it is drawn
  std::vector<std::size_t> hour_starts_;            // sort_schedule's hour buckets
  std::vector<std::size_t> hour_fill_;
  std::vector<std::uint16_t> impressions_;  // [user][creative]
  std::vector<PendingConversion> pending_;  // min-heap on time
  std::vector<double> competitor_spend_;
  std::vector<SlotOutcome> candidates_;
  EpisodeState state_;
  PendingDecision decision_;
  AuctionStream auction_stream_;
  Stream action_stream_;
  // The first block of the action stream of steps [noise_first_, noise_end_), computed together.
  std::array<std::uint32_t, std::size_t{4} * noise_steps> noise_words_{};
  std::uint32_t noise_first_ = 0;
  std::uint32_t noise_end_ = 0;
};

// Throws the RuntimeFailure of an experience buffer that would exceed `capacity` rows.
[[noreturn]] void throw_buffer_full(std::size_t capacity);

// The worlds with ids id_base + [first, first + count): parameters drawn from the priors, populations built.
std::vector<World> make_worlds(const Priors& priors, std::uint64_t seed, double horizon_days, std::int64_t first,
                               std::int64_t count, std::uint32_t id_base = 0);

}  // namespace manyworlds
