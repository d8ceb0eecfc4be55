// One world's parameters, drawn from the priors with the world's own random stream.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "manyworlds/world/priors.hpp"

namespace manyworlds {

struct CompetitorParams {
  int strategy = 0;
  double base_bid = 0;       // currency units per click before multipliers
  double quality = 1;        // quality score
  double bid_noise = 0;      // log-normal sigma of per-auction bid noise
  double daily_budget = 0;   // currency units
  double participation = 1;  // chance to enter an auction (before query competition and pacing)
};

struct CreativeParams {
  double effectiveness = 1;    // click-through multiplier, also part of the quality score
  double crisis_affinity = 1;  // extra click-through multiplier on crisis-segment users
  double fatigue_rate = 0;     // click-through / (1 + rate * impressions of this creative to the user)
};

struct WorldParams {
  std::uint32_t world_id = 0;
  int world_type = 0;
  int users = 0;
  std::vector<double> segment_share;  // per segment, sums to 1
  std::vector<double> device_share;   // per device, sums to 1
  double traffic = 1;                 // session-rate multiplier
  double bid_level = 1;               // market price level (multiplies competitors' bids)
  double reserve_price = 0;           // currency units per click
  double agent_quality = 1;
  double ctr_level = 1;
  double cvr_level = 1;
  double value_level = 1;
  double crisis_intent_boost = 1;
  std::array<double, 24> hour_weight{};  // sums to 1
  std::array<double, 7> day_weight{};    // mean 1
  int start_day_of_year = 0;
  int start_day_of_week = 0;  // 0 = Monday
  double seasonal_amplitude = 0;
  double delay_median_hours = 1;
  double delay_sigma = 1;
  double attribution_window_hours = 168;
  double agent_daily_budget = 0;  // currency units
  double reference_bid = 1;       // the advertiser's reference price per click
  std::vector<CompetitorParams> competitors;
  std::vector<CreativeParams> creatives;
  // The advertiser's (noisy) estimate of conversion value per click, by query type and device.
  std::vector<std::array<double, query_type_count>> value_per_click_estimate;  // [device][query]

  // Every parameter as one flat vector (for uniqueness checks and the output file).
  std::vector<double> flat() const;
};

// Draws world `world_id`'s parameters from the priors (stream purpose world_params).
WorldParams draw_world(const Priors& priors, std::uint64_t seed, std::uint32_t world_id);

// Expected queries in one episode of `world` (every query is an auction the agent may bid in), from
// its parameters alone: users x traffic x the segments' sessions per day and queries per session x
// the horizon. The estimate of a world's simulation cost before it has run.
double expected_queries(const Priors& priors, const WorldParams& world, double horizon_days);

// Seasonal traffic factor on a day of the year.
double seasonal_factor(const Priors& priors, const WorldParams& world, int day_of_year);

}  // namespace manyworlds
