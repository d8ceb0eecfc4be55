// A world: its users drawn from the world parameters, the precomputed tables, the calendar and the query schedule.
#include "manyworlds/world/world.hpp"

#include <algorithm>
#include <cmath>

#include "manyworlds/world/model_formulas.hpp"
#include "world_internals.hpp"

namespace manyworlds {

using world_internals::index3;

namespace {

// std::upper_bound's index in the non-empty ascending `values`, without branches on the data
// (each comparison is a coin flip for the branch predictor): the first i with values[i] > x.
std::size_t upper_index(const std::vector<double>& values, double x) {
  const double* base = values.data();
  std::size_t length = values.size();
  while (length > 1) {
    const std::size_t half = length / 2;
    base = base[half] <= x ? base + half : base;
    length -= half;
  }
  return static_cast<std::size_t>(base - values.data()) + (*base <= x ? 1 : 0);
}

}  // namespace

World::World(const Priors& priors, WorldParams params, std::uint64_t seed, double horizon_days)
    : priors_(&priors),
      params_(std::move(params)),
      seed_(seed),
      horizon_hours_(horizon_days * 24.0),
      crisis_segment_(priors.crisis_segment()),
      log_reference_bid_(std::log(params_.reference_bid)),
      max_log_multiplier_(static_cast<float>(priors.max_log_bid_multiplier)),
      stream_blocks_(std::max(4, philox_pass_blocks())),
      auction_stream_(seed, Purpose::auction, params_.world_id, 0, 0, stream_blocks_),
      action_stream_(seed, Purpose::action, params_.world_id) {
  draw_population();
  precompute();
}

double World::competitor_budget(std::size_t competitor) const { return bidders_.at(competitor).budget; }

void World::draw_population() {
  Stream stream(seed_, Purpose::population, params_.world_id);
  std::vector<double> segment_cdf;
  double total = 0;
  for (double share : params_.segment_share) segment_cdf.push_back(total += share);
  std::vector<double> device_cdf;
  total = 0;
  for (double share : params_.device_share) device_cdf.push_back(total += share);
  const double shape = priors_->activity_shape;
  users_.resize(params_.users);
  for (User& user : users_) {
    user.segment = static_cast<std::uint8_t>(stream.categorical_cdf(segment_cdf));
    user.device = static_cast<std::uint8_t>(stream.categorical_cdf(device_cdf));
    user.activity = static_cast<float>(stream.gamma(shape) / shape);
    const std::vector<double>& tag_probability = priors_->segments[user.segment].tag_probability;
    for (std::size_t t = 0; t < tag_probability.size(); ++t)
      if (stream.uniform() < tag_probability[t]) user.tags |= 1u << t;
  }
}

void World::precompute() {
  precompute_schedule_tables();
  precompute_response_tables();
  precompute_bidders();
}

// Session-time weights of the horizon's hours and each segment's cumulative query mix.
void World::precompute_schedule_tables() {
  const Priors& priors = *priors_;
  const std::size_t segments = priors.segments.size();
  // Last hour possibly partial.
  const int hours = static_cast<int>(std::ceil(horizon_hours_));
  hour_cumulative_.resize(hours);
  double total = 0;
  for (int i = 0; i < hours; ++i) {
    const double fraction = std::min(1.0, horizon_hours_ - i);
    const double time = i + 0.5;
    total += fraction * params_.hour_weight[i % 24] * params_.day_weight[day_of_week_of(time)] *
             seasonal_factor(priors, params_, day_of_year_of(time));
    hour_cumulative_[i] = total;
  }
  expected_sessions_factor_ = total;

  query_cumulative_.resize(segments);
  for (std::size_t s = 0; s < segments; ++s) {
    double cumulative = 0;
    for (int q = 0; q < query_type_count; ++q) {
      double mix = priors.segments[s].query_mix[q];
      if (q == static_cast<int>(QueryType::crisis_intent)) mix *= params_.crisis_intent_boost;
      query_cumulative_[s][q] = cumulative += mix;
    }
  }
}

// Click and conversion probabilities per (segment, device, query), values, hour-of-day tables.
void World::precompute_response_tables() {
  const Priors& priors = *priors_;
  const std::size_t segments = priors.segments.size();
  const std::size_t devices = priors.devices.size();
  click_base_.resize(segments * devices * query_type_count);
  conversion_probability_.resize(click_base_.size());
  for (std::size_t s = 0; s < segments; ++s) {
    const SegmentPrior& segment = priors.segments[s];
    for (std::size_t d = 0; d < devices; ++d) {
      const DevicePrior& device = priors.devices[d];
      for (int q = 0; q < query_type_count; ++q) {
        const std::size_t i = index3(s, d, q, devices);
        click_base_[i] =
            priors.queries[q].base_ctr * segment.ctr_multiplier * device.ctr_multiplier * params_.ctr_level;
        conversion_probability_[i] = model::conversion_probability(priors, segment, device, q, params_.cvr_level);
      }
    }
    log_value_median_.push_back(std::log(segment.value_median * params_.value_level));
    const double attributed = model::share_within(std::log(params_.attribution_window_hours),
                                                  std::log(params_.delay_median_hours), params_.delay_sigma);
    expected_attributed_value_.push_back(
        model::lognormal_mean(segment.value_median * params_.value_level, segment.value_sigma) * attributed);
  }
  for (int h = 0; h < 24; ++h) {
    hour_ctr_[h] = model::hour_ctr_factor(priors, h);
    hour_sin_[h] = static_cast<float>(std::sin(model::two_pi * h / 24.0));
    hour_cos_[h] = static_cast<float>(std::cos(model::two_pi * h / 24.0));
  }
  for (std::size_t d = 0; d < devices; ++d)
    for (int q = 0; q < query_type_count; ++q)
      log_value_per_click_.push_back(
          static_cast<float>(std::log(params_.value_per_click_estimate[d][q]) - std::log(params_.reference_bid)));
}

// Competitors' bids, entries and budgets; query tags; per-episode buffers sized once.
void World::precompute_bidders() {
  const Priors& priors = *priors_;
  const std::size_t competitors = params_.competitors.size();
  bidders_.resize(competitors);
  for (std::size_t c = 0; c < competitors; ++c) {
    const CompetitorParams& competitor = params_.competitors[c];
    const StrategyPrior& strategy = priors.strategies[competitor.strategy];
    Bidder& bidder = bidders_[c];
    for (int q = 0; q < query_type_count; ++q) {
      bidder.bid_median[q] =
          competitor.base_bid * params_.bid_level * strategy.bid_multiplier * strategy.query_multipliers[q];
      bidder.entry[q] = std::min(1.0, competitor.participation * priors.queries[q].competition);
    }
    bidder.bid_noise = competitor.bid_noise;
    bidder.bid_trend_per_day = strategy.bid_trend_per_day;
    bidder.quality = competitor.quality;
    bidder.budget = competitor.daily_budget * horizon_hours_ / 24.0;
    bidder.paced = strategy.paced;
  }
  for (int q = 0; q < query_type_count; ++q)
    for (int tag : priors.queries[q].tags) query_tags_[q] |= 1u << tag;
  competitor_spend_.assign(competitors, 0.0);
  candidates_.reserve(competitors + 1);
  for (int tag : priors.urgency_tags) urgency_mask_ |= 1u << tag;
  impressions_.assign(users_.size() * params_.creatives.size(), 0);
}

int World::hour_of(double time_hours) const { return static_cast<int>(time_hours) % 24; }
int World::day_of_week_of(double time_hours) const {
  return (params_.start_day_of_week + static_cast<int>(time_hours / 24.0)) % 7;
}
int World::day_of_year_of(double time_hours) const {
  return (params_.start_day_of_year + static_cast<int>(time_hours / 24.0)) % 365;
}

// Sessions and queries of every user, ordered by (time, user). The events are generated user by
// user, counted into hour buckets and each bucket sorted (the same order as one sort of everything,
// with far fewer comparisons, which are coin flips for the branch predictor).
void World::draw_schedule(std::uint32_t episode) {
  const Priors& priors = *priors_;
  drawn_.clear();
  const double total_weight = hour_cumulative_.back();
  for (std::uint32_t u = 0; u < users_.size(); ++u) {
    const User& user = users_[u];
    const SegmentPrior& segment = priors.segments[user.segment];
    ScheduleStream stream(seed_, Purpose::schedule, params_.world_id, episode, u, stream_blocks_);
    const double expected = user.activity * segment.sessions_per_day * params_.traffic * expected_sessions_factor_;
    const std::int64_t sessions = stream.poisson(expected);
    const double more_queries = (segment.queries_per_session - 1.0) / segment.queries_per_session;
    const auto& query_cdf = query_cumulative_[user.segment];
    for (std::int64_t k = 0; k < sessions; ++k) {
      const double target = stream.uniform() * total_weight;
      const std::size_t hour_index = upper_index(hour_cumulative_, target);
      double time = static_cast<double>(std::min(hour_index, hour_cumulative_.size() - 1)) + stream.uniform();
      do {
        if (time >= horizon_hours_) break;
        const double pick = stream.uniform() * query_cdf[query_type_count - 1];
        // The first query type whose cumulative weight exceeds `pick` (the weights only grow).
        std::uint32_t query = 0;
        for (int q = 0; q + 1 < query_type_count; ++q) query += query_cdf[q] <= pick ? 1u : 0u;
        drawn_.push_back({time, u, query});
        time += stream.uniform(priors.query_gap_min_minutes, priors.query_gap_max_minutes) / 60.0;
      } while (stream.uniform() < more_queries);
    }
  }
  sort_schedule();
}

void World::sort_schedule() {
  hour_starts_.assign(hour_cumulative_.size() + 1, 0);
  for (const QueryEvent& event : drawn_) ++hour_starts_[static_cast<std::size_t>(event.time_hours) + 1];
  for (std::size_t h = 1; h < hour_starts_.size(); ++h) hour_starts_[h] += hour_starts_[h - 1];
  schedule_.resize(drawn_.size());
  hour_fill_.assign(hour_starts_.begin(), hour_starts_.end() - 1);
  for (const QueryEvent& event : drawn_) schedule_[hour_fill_[static_cast<std::size_t>(event.time_hours)]++] = event;
  const auto earlier = [](const QueryEvent& a, const QueryEvent& b) {
    return a.time_hours < b.time_hours || (a.time_hours == b.time_hours && a.user < b.user);
  };
  for (std::size_t h = 0; h + 1 < hour_starts_.size(); ++h)
    std::sort(schedule_.begin() + static_cast<std::ptrdiff_t>(hour_starts_[h]),
              schedule_.begin() + static_cast<std::ptrdiff_t>(hour_starts_[h + 1]), earlier);
}

std::vector<World> make_worlds(const Priors& priors, std::uint64_t seed, double horizon_days, std::int64_t first,
                               std::int64_t count, std::uint32_t id_base) {
  std::vector<World> worlds;
  worlds.reserve(static_cast<std::size_t>(count));
  for (std::int64_t w = first; w < first + count; ++w) {
    const auto id = static_cast<std::uint32_t>(id_base + w);
    worlds.emplace_back(priors, draw_world(priors, seed, id), seed, horizon_days);
  }
  return worlds;
}

}  // namespace manyworlds
