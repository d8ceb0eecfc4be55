// Fitting the priors from an event log: sufficient statistics, the fits, jackknife errors, the new priors file.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "manyworlds/calibrate/event_log.hpp"
#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/priors.hpp"

namespace manyworlds {

// A click's conversion follow-up: its cell and log(min(attribution window, followup_hours)).
struct ClickFollowup {
  std::uint32_t cell = 0;  // (segment * devices + device) * query_type_count + query
  double log_window = 0;
};

// An attributed conversion: log(delay) and the log of its click's follow-up window (the truncation point).
struct DelayObservation {
  double log_delay = 0;
  double log_window = 0;
};

// Sufficient statistics of the worlds of one jackknife group.
struct GroupStatistics {
  std::array<double, 24> session_starts{};  // sessions starting in each clock hour
  std::array<double, 24> exposure_hours{};  // hours of observation of each clock hour
  std::vector<double> impressions;          // per cell
  std::vector<double> expected_clicks;      // per cell: sum over impressions of the known CTR factors
  std::vector<double> clicks;               // per cell
  std::vector<double> conversions;          // per cell, attributed
  std::vector<ClickFollowup> followups;     // one per click
  std::vector<DelayObservation> delays;     // one per attributed conversion
  double prices = 0;                        // clicks with a price, and the sums of log(price) and its square
  double log_price_sum = 0;
  double log_price_square_sum = 0;

  void resize(std::size_t cells);
  void add(const GroupStatistics& more);
};

// What one world contributes to the segment-share and click-through fits.
struct WorldStatistics {
  int group = 0;                        // jackknife group
  std::vector<double> users;            // distinct users seen, per segment
  std::vector<double> sessions;         // their sessions (see EventStatistics::add_session), per segment
  std::vector<double> expected_clicks;  // per cell: sum over impressions of the known CTR factors
  std::vector<double> clicks;           // per cell
};

// Streams event rows into the statistics of the fit. Rows must come grouped by world, then episode, in
// time order (as the simulator writes them); add() throws an InputError naming source:line otherwise.
class EventStatistics {
 public:
  EventStatistics(const Priors& base, std::string source, int jackknife_groups = 20);
  void add(const EventRow& row, std::int64_t line);
  // Closes the last world; call once after the last row. The hour profile counts the whole days of each episode
  // and its final day only if the episode reached the horizon (its last row is in the longest episode's last hour):
  // a day cut short by a spent budget would bias the profile, since the budget runs out sooner on busy days.
  void finish();

  const std::string& source() const { return source_; }
  const Priors& base() const { return *base_; }
  const std::vector<GroupStatistics>& groups() const { return groups_; }
  const std::vector<WorldStatistics>& worlds() const { return worlds_; }
  std::int64_t rows() const { return rows_; }
  std::int64_t episodes() const { return episodes_; }
  double longest_episode_hours() const { return longest_episode_hours_; }

 private:
  struct UserState {
    int segment = 0;
    int device = 0;
    std::int64_t episode = -1;  // serial number of the episode of last_query
    double last_query = 0;
    double sessions = 0;
    std::vector<std::pair<int, std::uint32_t>> impressions;  // (creative, count) in the current episode
  };

  [[noreturn]] void fail(std::int64_t line, const std::string& reason) const;
  struct FinalDay {
    int group = 0;
    double day = 0;       // index of the episode's last day
    double last_row = 0;  // time_hours of the episode's last row
    std::array<double, 24> session_starts{};
  };

  void check_order(const EventRow& row, std::int64_t line);
  void start_episode(const EventRow& row);
  void advance_day(const EventRow& row);
  void close_episode();
  void add_final_days();
  void close_world();
  UserState& user_of(const EventRow& row, std::int64_t line);
  void add_session(const EventRow& row, UserState& user);
  void add_impression(const EventRow& row, UserState& user);
  double fatigue_factor(std::uint32_t previous_impressions);

  const Priors* base_;
  std::string source_;
  std::size_t cells_;
  // Known CTR factors from the base priors.
  std::array<double, 24> hour_ctr_{};
  double ctr_constant_ = 1;     // E[world ctr level] x E[creative effectiveness]
  double crisis_affinity_ = 1;  // E[creative crisis affinity]
  double log_attribution_window_ = 0;
  std::vector<double> fatigue_rates_;    // draws of the creatives' fatigue rate
  std::vector<double> fatigue_factors_;  // E[1 / (1 + rate n)] by n, grown on demand

  std::vector<GroupStatistics> groups_;
  std::vector<WorldStatistics> worlds_;
  std::int64_t rows_ = 0;
  std::int64_t episodes_ = 0;
  double longest_episode_hours_ = 0;
  std::vector<FinalDay> final_days_;

  // Position in the stream.
  bool started_ = false;
  std::uint32_t world_ = 0;
  std::uint32_t episode_ = 0;
  double last_time_ = 0;
  double day_ = 0;                       // day of the episode being read
  std::array<double, 24> day_starts_{};  // its session starts by clock hour
  std::unordered_set<std::uint32_t> finished_worlds_;
  std::unordered_set<std::uint32_t> finished_episodes_;
  std::unordered_map<std::uint64_t, UserState> users_;
};

// Model-level estimates, or their standard errors (same layout).
struct CalibrationFit {
  std::vector<double> observed_share;  // mean over worlds of each segment's share of users, unseen ones included
  std::vector<double> share;  // segments.*.share: the prior mean that, through the world types, gives observed_share
  std::array<double, 24> hour_profile{};                  // time.hour_profile (mean 1)
  std::vector<double> segment_ctr;                        // segments.*.ctr_multiplier
  std::vector<double> device_ctr;                         // devices.*.ctr_multiplier
  std::array<double, query_type_count> base_ctr{};        // queries.*.base_ctr
  std::vector<double> segment_cvr;                        // segments.*.cvr
  std::vector<double> feature_gap;                        // devices.*.feature_gap
  std::array<double, query_type_count> cvr_multiplier{};  // queries.*.cvr_multiplier
  double delay_log_mean = 0;      // log-normal fit of attributed delays (window-truncated): mean of ln(hours)
  double delay_log_sd = 0;        // ... and sd of ln(hours)
  double delay_median_hours = 0;  // median of the worlds' delay medians = exp(delay_log_mean)
  double delay_sigma_rms = 0;     // sqrt(E[delay_sigma^2]) over worlds
  double price_log_mean = 0;      // log-normal fit of prices per click: mean of ln(price)
  double price_log_sd = 0;

  // Calls f(double&) for every number, in a fixed order (used to flatten for the jackknife).
  template <class F>
  void for_each(F&& f) {
    for (auto* list : {&observed_share, &share, &segment_ctr, &device_ctr, &segment_cvr, &feature_gap})
      for (double& x : *list) f(x);
    for (double& x : hour_profile) f(x);
    for (double& x : base_ctr) f(x);
    for (double& x : cvr_multiplier) f(x);
    for (double* x :
         {&delay_log_mean, &delay_log_sd, &delay_median_hours, &delay_sigma_rms, &price_log_mean, &price_log_sd})
      f(*x);
  }
};

// How much data went into the fit.
struct CalibrationCounts {
  std::int64_t rows = 0;
  std::int64_t worlds = 0;
  std::int64_t episodes = 0;
  int jackknife_groups = 0;  // groups of worlds the standard errors come from (0: none)
  double users = 0;
  double sessions = 0;
  double impressions = 0;
  double clicks = 0;
  double conversions = 0;  // attributed
  std::vector<double> segment_users, segment_sessions, segment_clicks, segment_conversions;
  std::vector<double> device_clicks, device_conversions;
};

struct CalibrationOptions {
  std::int64_t reference_worlds = 800;  // worlds of each reference simulation of the price level
  double reference_max_days = 1;        // their horizon: the log's longest episode, at most this
  std::uint64_t reference_seed = 20260101;
  int price_simulations = 3;       // reference simulations at most (the second measures the elasticity)
  double price_tolerance = 0.002;  // stop when |log(observed / simulated geometric mean price)| is below
};

struct CalibrationResult {
  CalibrationFit fit;
  CalibrationFit se;  // jackknife standard errors over groups of worlds (NaN: not available)
  CalibrationCounts counts;
  int feature_gap_reference = 0;     // device whose feature_gap is the base's (the smallest base gap)
  Distribution delay_median_hours;   // conversions.delay_median_hours as written
  Distribution delay_sigma;          // conversions.delay_sigma as written
  Distribution competitor_base_bid;  // competitors.base_bid as written
  double base_bid_scale = 1;         // its median / the base priors' median
  double base_bid_scale_se = 0;      // standard error of that ratio
  double price_elasticity = 1;       // d log(simulated price) / d log(base_bid median), measured
  double price_residual = 0;         // log(observed / simulated median price) at the last reference simulation
  int price_simulations = 0;         // reference simulations run
  std::vector<std::string> summary;  // what was fitted, one line each (the priors file's comment header)
  std::string priors_text;           // the complete calibrated priors file
};

// The model-level fit, its jackknife standard errors and the delay distributions (no price level, no text).
// InputError (naming the log) when the log cannot support every fitted entry.
CalibrationResult fit_event_statistics(const EventStatistics& data);

// `distribution` with every value it produces multiplied by `factor` (uniform_int becomes uniform).
// InputError starting with `key` (e.g. "FILE: 'section.key'") for a beta distribution, which cannot be rescaled.
Distribution scaled_distribution(const Distribution& distribution, double factor, const std::string& key);

// Standard error of a statistic from its delete-a-group jackknife replicates (NaN with fewer than 2).
double jackknife_standard_error(const std::vector<double>& replicates);

// Fits the priors to the statistics and writes the calibrated priors text (the base priors with the fitted
// entries replaced, a comment header listing them). The price level comes from reference simulations of the
// calibrated priors with `reference_bidder` as the advertiser. InputError when the log cannot support a fit.
CalibrationResult calibrate(const EventStatistics& data, const CalibrationOptions& options,
                            BidPolicy& reference_bidder);

}  // namespace manyworlds
