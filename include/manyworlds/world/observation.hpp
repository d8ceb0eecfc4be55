// Named positions of the agent's observation vector (documented in docs/world-model.md).
#pragma once

#include "manyworlds/core/experience.hpp"

namespace manyworlds::obs {

inline constexpr int time_fraction = 0;     // share of the campaign horizon elapsed, [0, 1]
inline constexpr int budget_remaining = 1;  // share of the episode budget left, [0, 1]
inline constexpr int pacing_gap = 2;        // share of budget spent - share of time elapsed
inline constexpr int hour_sin = 3;          // sin(2 pi hour / 24)
inline constexpr int hour_cos = 4;          // cos(2 pi hour / 24)
inline constexpr int weekend = 5;           // 1 on Saturday and Sunday
inline constexpr int query_brand = 6;       // one-hot query type (4 entries)
inline constexpr int query_generic = 7;
inline constexpr int query_competitor_brand = 8;
inline constexpr int query_crisis_intent = 9;
inline constexpr int device_ios = 10;           // 1 if the user is on iOS
inline constexpr int urgency_tag = 11;          // 1 if the user carries a visible urgency tag
inline constexpr int log_value_per_click = 12;  // log(advertiser's expected value per click / reference bid)
inline constexpr int recent_ctr = 13;           // 10 x click-through of the agent's recent impressions
inline constexpr int observed_roas = 14;    // observed conversion value / spend so far (delayed), clipped to [0, 10]
inline constexpr int log_last_price = 15;   // log(last clearing price / reference bid), 0 before the first win
inline constexpr int pacing_pressure = 16;  // log(1 + mu): the pacing dual variable (PacingDual) of the spend so far

static_assert(pacing_pressure + 1 == obs_dim);

}  // namespace manyworlds::obs
