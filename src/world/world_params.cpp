// Drawing one world's parameters from the priors, world type effects included.
#include "manyworlds/world/world_params.hpp"

#include <algorithm>
#include <cmath>

#include "manyworlds/world/model_formulas.hpp"

namespace manyworlds {

namespace {

int draw_index(Stream& stream, const std::vector<double>& probabilities) {
  std::vector<double> cumulative(probabilities.size());
  double total = 0;
  for (std::size_t i = 0; i < probabilities.size(); ++i) cumulative[i] = total += probabilities[i];
  return static_cast<int>(stream.categorical_cdf(cumulative));
}

CompetitorParams draw_competitor(const Priors& priors, Stream& stream, int strategy, double budget_multiplier) {
  CompetitorParams competitor;
  competitor.strategy = strategy;
  competitor.base_bid = priors.competitor_base_bid.sample(stream);
  competitor.quality = priors.competitor_quality.sample(stream);
  competitor.bid_noise = priors.competitor_bid_noise.sample(stream);
  competitor.daily_budget =
      priors.competitor_daily_budget.sample(stream) * budget_multiplier * priors.strategies[strategy].budget_multiplier;
  competitor.participation = priors.competitor_participation.sample(stream);
  return competitor;
}

// Expected conversion value per click for a query type and device, by Bayes over segments.
double value_per_click(const Priors& priors, const WorldParams& world, int query, int device) {
  double weight_total = 0;
  double value_total = 0;
  for (std::size_t s = 0; s < priors.segments.size(); ++s) {
    const SegmentPrior& segment = priors.segments[s];
    double mix = segment.query_mix[query];
    if (query == static_cast<int>(QueryType::crisis_intent)) mix *= world.crisis_intent_boost;
    const double weight =
        world.segment_share[s] * segment.sessions_per_day * segment.queries_per_session * mix * segment.ctr_multiplier;
    const double cvr = model::conversion_probability(priors, segment, priors.devices[device], query, world.cvr_level);
    const double value = model::lognormal_mean(segment.value_median, segment.value_sigma) * world.value_level;
    weight_total += weight;
    value_total += weight * cvr * value;
  }
  return weight_total > 0 ? value_total / weight_total : 0.0;
}

}  // namespace

double seasonal_factor(const Priors& priors, const WorldParams& world, int day_of_year) {
  return 1.0 + world.seasonal_amplitude * std::cos(model::two_pi * (day_of_year - priors.seasonal_peak_day) / 365.0);
}

double expected_queries(const Priors& priors, const WorldParams& world, double horizon_days) {
  double per_user_day = 0;
  for (std::size_t s = 0; s < priors.segments.size(); ++s)
    per_user_day +=
        world.segment_share[s] * priors.segments[s].sessions_per_day * priors.segments[s].queries_per_session;
  return world.users * per_user_day * world.traffic * horizon_days;
}

namespace {

// The draws of draw_world, in the order they take numbers from the world's stream.

void draw_population_mix(const Priors& priors, const WorldTypePrior& type, Stream& stream, WorldParams& world) {
  // Segment mix: Dirichlet around the configured means, crisis share shifted by the world type.
  const int crisis = priors.crisis_segment();
  std::vector<double> alpha;
  for (std::size_t s = 0; s < priors.segments.size(); ++s) {
    double mean = priors.segments[s].share;
    if (static_cast<int>(s) == crisis) mean *= type.crisis_share;
    alpha.push_back(mean);
  }
  double alpha_total = 0;
  for (double a : alpha) alpha_total += a;
  for (double& a : alpha) a = a / alpha_total * priors.segment_concentration;
  world.segment_share.resize(alpha.size());
  stream.dirichlet(alpha, world.segment_share);

  std::vector<double> device_alpha;
  for (const DevicePrior& device : priors.devices) device_alpha.push_back(device.share * priors.device_concentration);
  world.device_share.resize(device_alpha.size());
  stream.dirichlet(device_alpha, world.device_share);
}

// Market levels, calendar, seasonality, conversion delays and the agent's budget.
void draw_levels_and_calendar(const Priors& priors, const WorldTypePrior& type, Stream& stream, WorldParams& world) {
  world.traffic = type.traffic;
  world.bid_level = priors.bid_level.sample(stream) * type.bid_level;
  world.reserve_price = priors.reserve_price.sample(stream) * type.reserve;
  world.agent_quality = priors.agent_quality.sample(stream);
  world.ctr_level = priors.ctr_level.sample(stream) * type.ctr;
  world.cvr_level = priors.cvr_level.sample(stream) * type.cvr;
  world.value_level = priors.value_level.sample(stream) * type.value;
  world.crisis_intent_boost = type.crisis_intent;

  double hour_total = 0;
  for (int h = 0; h < 24; ++h) {
    world.hour_weight[h] = priors.hour_profile[h] * std::exp(priors.hour_noise * stream.normal());
    hour_total += world.hour_weight[h];
  }
  for (double& w : world.hour_weight) w /= hour_total;
  double day_total = 0;
  for (double w : priors.day_of_week_profile) day_total += w;
  for (int d = 0; d < 7; ++d) world.day_weight[d] = priors.day_of_week_profile[d] * 7.0 / day_total;
  world.start_day_of_year = static_cast<int>(priors.start_day_of_year.sample(stream));
  world.start_day_of_week = static_cast<int>(stream.below(7));
  world.seasonal_amplitude = std::clamp(priors.seasonal_amplitude.sample(stream) + type.seasonal_amplitude_add, 0.0,
                                        priors.max_seasonal_amplitude);

  world.delay_median_hours = priors.delay_median_hours.sample(stream);
  world.delay_sigma = priors.delay_sigma.sample(stream);
  world.attribution_window_hours = priors.attribution_window_days * 24.0;
  world.agent_daily_budget = priors.agent_daily_budget.sample(stream);
}

void draw_competitors(const Priors& priors, const WorldTypePrior& type, Stream& stream, WorldParams& world) {
  // Competitors: a count from the priors shifted by the world type, strategies from the priors.
  std::vector<double> strategy_probabilities;
  for (const StrategyPrior& strategy : priors.strategies) strategy_probabilities.push_back(strategy.probability);
  const int count = std::max(1, static_cast<int>(priors.competitor_count.sample(stream)) + type.competitors_add);
  for (int c = 0; c < count; ++c) {
    const int strategy = draw_index(stream, strategy_probabilities);
    world.competitors.push_back(draw_competitor(priors, stream, strategy, type.competitor_budget));
  }
  if (type.switch_strategy >= 0) {
    for (CompetitorParams& competitor : world.competitors)
      if (stream.uniform() < type.switch_share) competitor.strategy = type.switch_strategy;
  }
  if (type.add_strategy >= 0)
    world.competitors.push_back(draw_competitor(priors, stream, type.add_strategy, type.competitor_budget));
}

void draw_creatives(const Priors& priors, Stream& stream, WorldParams& world) {
  for (int c = 0; c < priors.creatives; ++c) {
    CreativeParams creative;
    creative.effectiveness = priors.creative_effectiveness.sample(stream);
    creative.crisis_affinity = priors.creative_crisis_affinity.sample(stream);
    creative.fatigue_rate = priors.creative_fatigue_rate.sample(stream);
    world.creatives.push_back(creative);
  }
}

void draw_value_estimates(const Priors& priors, Stream& stream, WorldParams& world) {
  // The advertiser knows the market's typical price and (noisily) its own value per click.
  world.reference_bid = priors.competitor_base_bid.mean() * world.bid_level;
  world.value_per_click_estimate.resize(priors.devices.size());
  for (std::size_t d = 0; d < priors.devices.size(); ++d)
    for (int q = 0; q < query_type_count; ++q)
      world.value_per_click_estimate[d][q] = value_per_click(priors, world, q, static_cast<int>(d)) *
                                             std::exp(priors.value_estimate_noise * stream.normal());
}

}  // namespace

WorldParams draw_world(const Priors& priors, std::uint64_t seed, std::uint32_t world_id) {
  Stream stream(seed, Purpose::world_params, world_id);
  WorldParams world;
  world.world_id = world_id;

  std::vector<double> type_probabilities;
  for (const WorldTypePrior& type : priors.world_types) type_probabilities.push_back(type.probability);
  world.world_type = draw_index(stream, type_probabilities);
  const WorldTypePrior& type = priors.world_types[world.world_type];

  world.users = static_cast<int>(std::lround(priors.users.sample(stream)));

  draw_population_mix(priors, type, stream, world);
  draw_levels_and_calendar(priors, type, stream, world);
  draw_competitors(priors, type, stream, world);
  draw_creatives(priors, stream, world);
  draw_value_estimates(priors, stream, world);
  return world;
}

std::vector<double> WorldParams::flat() const {
  std::vector<double> values{static_cast<double>(world_type), static_cast<double>(users)};
  values.insert(values.end(), segment_share.begin(), segment_share.end());
  values.insert(values.end(), device_share.begin(), device_share.end());
  for (double v :
       {traffic, bid_level, reserve_price, agent_quality, ctr_level, cvr_level, value_level, crisis_intent_boost,
        static_cast<double>(start_day_of_year), static_cast<double>(start_day_of_week), seasonal_amplitude,
        delay_median_hours, delay_sigma, attribution_window_hours, agent_daily_budget, reference_bid})
    values.push_back(v);
  values.insert(values.end(), hour_weight.begin(), hour_weight.end());
  values.insert(values.end(), day_weight.begin(), day_weight.end());
  for (const CompetitorParams& c : competitors)
    for (double v :
         {static_cast<double>(c.strategy), c.base_bid, c.quality, c.bid_noise, c.daily_budget, c.participation})
      values.push_back(v);
  for (const CreativeParams& c : creatives)
    for (double v : {c.effectiveness, c.crisis_affinity, c.fatigue_rate}) values.push_back(v);
  for (const auto& row : value_per_click_estimate) values.insert(values.end(), row.begin(), row.end());
  return values;
}

}  // namespace manyworlds
