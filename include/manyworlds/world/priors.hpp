// The priors: every distribution a world is drawn from, read from a TOML data file.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "manyworlds/core/random.hpp"
#include "manyworlds/world/pacing.hpp"

namespace manyworlds {

class TomlTable;

// Query types are a fixed vocabulary (the observation one-hot encodes them).
enum class QueryType : std::uint8_t { brand = 0, generic = 1, competitor_brand = 2, crisis_intent = 3 };
inline constexpr int query_type_count = 4;
inline constexpr std::array<const char*, query_type_count> query_type_names{"brand", "generic", "competitor_brand",
                                                                            "crisis_intent"};
inline constexpr int max_tags = 32;  // tag bits in Experience::tags
inline constexpr int max_segments = 16;
inline constexpr int max_devices = 8;
inline constexpr int max_creatives = 16;

// A scalar distribution: a number in the file is a constant, a table names its kind.
struct Distribution {
  enum class Kind : int { constant, uniform, uniform_int, normal, lognormal, beta, gamma };
  Kind kind = Kind::constant;
  double a = 0;  // constant: value; uniform(_int): low; normal: mean; lognormal: median; beta: mean; gamma: mean
  double b = 0;  // uniform(_int): high; normal: sd; lognormal: sigma; beta: concentration; gamma: shape

  double sample(Stream& stream) const;
  double mean() const;
  double min() const;  // smallest value the distribution can produce
  double max() const;  // largest value the distribution can produce
};

struct SegmentPrior {
  std::string name;
  bool crisis = false;                               // the rare, valuable segment the sampler tells apart
  double share = 0;                                  // mean share of users
  double sessions_per_day = 0;                       // mean sessions per user per day
  double queries_per_session = 1;                    // mean queries per session (>= 1)
  std::array<double, query_type_count> query_mix{};  // probabilities by QueryType
  double ctr_multiplier = 1;
  double cvr = 0;                 // conversion probability per click before device/query effects
  double feature_dependence = 0;  // how much a device's feature gap lowers this segment's conversion
  double value_median = 0;        // conversion value, log-normal (currency units)
  double value_sigma = 0;
  std::vector<double> tag_probability;  // per entry of Priors::tags: chance a user carries it
};

struct DevicePrior {
  std::string name;
  double share = 0;  // mean share of users
  double ctr_multiplier = 1;
  double feature_gap = 0;  // conversion loss for feature-dependent users (iOS: a weaker feature)
};

struct QueryPrior {
  double base_ctr = 0;  // click-through in slot 1 before other effects
  double cvr_multiplier = 1;
  double competition = 1;  // multiplies competitors' chance to enter the auction
  std::vector<int> tags;   // indices into Priors::tags that every query of this type carries
};

struct StrategyPrior {
  std::string name;
  double probability = 0;
  double bid_multiplier = 1;
  std::array<double, query_type_count> query_multipliers{1, 1, 1, 1};
  double budget_multiplier = 1;
  bool paced = false;            // throttles when spending ahead of an even schedule
  double bid_trend_per_day = 0;  // log-bid change per day (negative: pulling back)
};

// How a world type shifts the parameters drawn for a world (all multipliers default to 1).
struct WorldTypePrior {
  std::string name;
  double probability = 0;
  double traffic = 1;
  double bid_level = 1;
  double reserve = 1;
  double ctr = 1;
  double cvr = 1;
  double value = 1;
  double crisis_share = 1;   // multiplies the crisis segment's share (then renormalised)
  double crisis_intent = 1;  // multiplies crisis-intent queries in every segment's mix
  double competitor_budget = 1;
  double seasonal_amplitude_add = 0;
  int competitors_add = 0;
  int add_strategy = -1;     // index of a strategy: one more competitor using it
  int switch_strategy = -1;  // index of a strategy some competitors switch to
  double switch_share = 0;   // ... this share of them
};

struct Priors {
  std::string file;  // where they were read from
  std::string text;  // the full text, stored in the output

  std::vector<std::string> tags;  // tag vocabulary (<= 32)
  std::vector<int> urgency_tags;  // indices of tags the observation's urgency flag looks for

  Distribution users;
  double activity_shape = 2;           // gamma shape of per-user activity (mean 1)
  double segment_concentration = 300;  // Dirichlet concentration of a world's segment mix
  double device_concentration = 80;
  double query_gap_min_minutes = 0.5;  // queries of one session follow each other after a uniform gap in
  double query_gap_max_minutes = 3.0;  // [min, max) minutes; calibration splits sessions at the max
  std::vector<SegmentPrior> segments;
  std::vector<DevicePrior> devices;
  int ios_device = -1;  // index of the device named "ios"
  std::array<QueryPrior, query_type_count> queries{};

  std::array<double, 24> hour_profile{};
  double hour_noise = 0.1;
  std::array<double, 7> day_of_week_profile{};  // Monday first
  Distribution start_day_of_year;
  Distribution seasonal_amplitude;
  double max_seasonal_amplitude = 0.95;  // a world's amplitude, world type added, is clamped to [0, this]
  double seasonal_peak_day = 250;
  double hour_ctr_amplitude = 0.15;
  double evening_peak_hour = 20;

  int slots = 4;
  std::vector<double> position_ctr;
  Distribution reserve_price;
  Distribution bid_level;
  Distribution agent_quality;
  Distribution ctr_level;

  Distribution competitor_count;
  Distribution competitor_base_bid;
  Distribution competitor_quality;
  Distribution competitor_bid_noise;
  Distribution competitor_daily_budget;
  Distribution competitor_participation;
  double pacing_slope = 4.0;  // entry chance x max(0, 1 - slope x) for a paced competitor x ahead
  std::vector<StrategyPrior> strategies;

  int creatives = 4;
  Distribution creative_effectiveness;
  Distribution creative_crisis_affinity;
  Distribution creative_fatigue_rate;

  Distribution delay_median_hours;
  Distribution delay_sigma;
  double attribution_window_days = 7;
  Distribution cvr_level;
  Distribution value_level;

  Distribution agent_daily_budget;
  double value_estimate_noise = 0.2;   // log-normal error of the advertiser's value-per-click estimates
  PacingSignal pacing_signal;          // the observation's pacing pressure (see PacingDual)
  double max_log_bid_multiplier = 10;  // the world clamps every action's log bid multiplier to +-this

  std::vector<WorldTypePrior> world_types;

  int crisis_segment() const;  // index of the segment flagged crisis
  int strategy_index(const std::string& name) const;
};

// Parses and validates priors text; problems are InputErrors naming file, line and key.
Priors parse_priors(const std::string& text, const std::string& file);
Priors load_priors(const std::string& path);

}  // namespace manyworlds
