// The episode loop of one world: sessions and queries, GSP auctions, clicks, delayed conversions.
#include "manyworlds/world/world.hpp"

#include <algorithm>
#include <cmath>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/world/observation.hpp"

namespace manyworlds {

namespace {

constexpr double two_pi = 6.283185307179586476925;
constexpr float ctr_smoothing = 0.02f;   // weight of the newest impression in the recent-CTR average
constexpr float initial_recent_ctr = 0.03f;

bool later(const auto& a, const auto& b) { return a.time_hours > b.time_hours; }

std::size_t index3(std::size_t segment, std::size_t device, std::size_t query, std::size_t devices) {
  return (segment * devices + device) * query_type_count + query;
}

}  // namespace

EpisodeStats& EpisodeStats::operator+=(const EpisodeStats& more) {
  queries += more.queries;
  decisions += more.decisions;
  crisis_decisions += more.crisis_decisions;
  impressions += more.impressions;
  clicks += more.clicks;
  conversions += more.conversions;
  crisis_conversions += more.crisis_conversions;
  spend += more.spend;
  conversion_value += more.conversion_value;
  crisis_value += more.crisis_value;
  reward += more.reward;
  budget += more.budget;
  expected_value += more.expected_value;
  expected_spend += more.expected_spend;
  return *this;
}

World::World(const Priors& priors, WorldParams params, std::uint64_t seed, double horizon_days)
    : priors_(&priors), params_(std::move(params)), seed_(seed), horizon_hours_(horizon_days * 24.0) {
  draw_population();
  precompute();
}

double World::competitor_budget(std::size_t competitor) const { return competitor_budget_.at(competitor); }

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
  const Priors& priors = *priors_;
  const std::size_t segments = priors.segments.size();
  const std::size_t devices = priors.devices.size();

  // Session-time weights for every hour of the horizon (last hour possibly partial).
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

  click_base_.resize(segments * devices * query_type_count);
  conversion_probability_.resize(click_base_.size());
  for (std::size_t s = 0; s < segments; ++s) {
    const SegmentPrior& segment = priors.segments[s];
    for (std::size_t d = 0; d < devices; ++d) {
      const DevicePrior& device = priors.devices[d];
      for (int q = 0; q < query_type_count; ++q) {
        const std::size_t i = index3(s, d, q, devices);
        click_base_[i] = priors.queries[q].base_ctr * segment.ctr_multiplier * device.ctr_multiplier *
                         params_.ctr_level;
        conversion_probability_[i] =
            std::min(1.0, segment.cvr * (1.0 - device.feature_gap * segment.feature_dependence) *
                              priors.queries[q].cvr_multiplier * params_.cvr_level);
      }
    }
    log_value_median_.push_back(std::log(segment.value_median * params_.value_level));
    // P(delay <= window) for a log-normal delay: Phi((ln window - ln median) / sigma).
    const double z = (std::log(params_.attribution_window_hours) - std::log(params_.delay_median_hours)) /
                     std::max(params_.delay_sigma, 1e-12);
    const double attributed = 0.5 * std::erfc(-z / std::sqrt(2.0));
    expected_attributed_value_.push_back(segment.value_median * params_.value_level *
                                         std::exp(0.5 * segment.value_sigma * segment.value_sigma) * attributed);
  }
  for (int h = 0; h < 24; ++h) {
    hour_ctr_[h] = 1.0 + priors.hour_ctr_amplitude * std::cos(two_pi * (h - priors.evening_peak_hour) / 24.0);
    hour_sin_[h] = static_cast<float>(std::sin(two_pi * h / 24.0));
    hour_cos_[h] = static_cast<float>(std::cos(two_pi * h / 24.0));
  }
  for (std::size_t d = 0; d < devices; ++d)
    for (int q = 0; q < query_type_count; ++q)
      log_value_per_click_.push_back(
          static_cast<float>(std::log(params_.value_per_click_estimate[d][q]) - std::log(params_.reference_bid)));

  const std::size_t competitors = params_.competitors.size();
  competitor_bid_median_.resize(competitors * query_type_count);
  competitor_entry_.resize(competitors * query_type_count);
  for (std::size_t c = 0; c < competitors; ++c) {
    const CompetitorParams& competitor = params_.competitors[c];
    const StrategyPrior& strategy = priors.strategies[competitor.strategy];
    for (int q = 0; q < query_type_count; ++q) {
      competitor_bid_median_[c * query_type_count + q] =
          competitor.base_bid * params_.bid_level * strategy.bid_multiplier * strategy.query_multipliers[q];
      competitor_entry_[c * query_type_count + q] =
          std::min(1.0, competitor.participation * priors.queries[q].competition);
    }
    competitor_budget_.push_back(competitor.daily_budget * horizon_hours_ / 24.0);
  }
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

void World::draw_schedule(std::uint32_t episode) {
  const Priors& priors = *priors_;
  schedule_.clear();
  const double total_weight = hour_cumulative_.back();
  for (std::uint32_t u = 0; u < users_.size(); ++u) {
    const User& user = users_[u];
    const SegmentPrior& segment = priors.segments[user.segment];
    Stream stream(seed_, Purpose::schedule, params_.world_id, episode, u);
    const double expected = user.activity * segment.sessions_per_day * params_.traffic * expected_sessions_factor_;
    const std::int64_t sessions = stream.poisson(expected);
    const double more_queries = (segment.queries_per_session - 1.0) / segment.queries_per_session;
    const auto& query_cdf = query_cumulative_[user.segment];
    for (std::int64_t k = 0; k < sessions; ++k) {
      const double target = stream.uniform() * total_weight;
      const std::size_t hour_index = static_cast<std::size_t>(
          std::upper_bound(hour_cumulative_.begin(), hour_cumulative_.end(), target) - hour_cumulative_.begin());
      double time = static_cast<double>(std::min(hour_index, hour_cumulative_.size() - 1)) + stream.uniform();
      do {
        if (time >= horizon_hours_) break;
        const double pick = stream.uniform() * query_cdf[query_type_count - 1];
        std::uint32_t query = 0;
        while (query + 1 < query_type_count && query_cdf[query] <= pick) ++query;
        schedule_.push_back({time, u, query});
        time += stream.uniform(0.5, 3.0) / 60.0;  // next query of the session minutes later
      } while (stream.uniform() < more_queries);
    }
  }
  std::sort(schedule_.begin(), schedule_.end(), [](const QueryEvent& a, const QueryEvent& b) {
    return a.time_hours < b.time_hours || (a.time_hours == b.time_hours && a.user < b.user);
  });
}

EpisodeStats World::run_episode(std::uint32_t episode, BidPolicy& policy, std::vector<Experience>& out,
                                std::size_t capacity, AuctionObserver* observer) {
  const Priors& priors = *priors_;
  const std::size_t devices = priors.devices.size();
  const int creatives = static_cast<int>(params_.creatives.size());
  const int crisis_segment = priors.crisis_segment();
  const int slots = priors.slots;
  const std::size_t competitors = params_.competitors.size();
  const double budget = params_.agent_daily_budget * horizon_hours_ / 24.0;
  const double reference = params_.reference_bid;
  const double log_reference = std::log(reference);
  const float max_log_multiplier = 10.0f;

  draw_schedule(episode);
  policy.begin_episode();
  std::fill(impressions_.begin(), impressions_.end(), 0);
  std::fill(competitor_spend_.begin(), competitor_spend_.end(), 0.0);
  pending_.clear();

  EpisodeStats stats;
  stats.queries = static_cast<std::int64_t>(schedule_.size());
  stats.budget = budget;
  double spend = 0;
  double observed_value = 0;
  float recent_ctr = initial_recent_ctr;
  float log_last_price = 0;
  PacingDual pacing(priors.pacing_signal);
  const std::size_t first = out.size();
  Stream auction_stream(seed_, Purpose::auction, params_.world_id, episode, 0);
  Stream action_stream(seed_, Purpose::action, params_.world_id, episode, 0);
  AuctionRecord record;

  for (std::uint32_t step = 0; step < schedule_.size(); ++step) {
    const QueryEvent& event = schedule_[step];
    const double t = event.time_hours;
    while (!pending_.empty() && pending_.front().time_hours <= t) {
      observed_value += pending_.front().value;
      std::pop_heap(pending_.begin(), pending_.end(), later<PendingConversion, PendingConversion>);
      pending_.pop_back();
    }
    const double remaining = budget - spend;
    if (remaining < params_.reserve_price || remaining <= 0) break;  // the campaign has spent its budget
    if (out.size() >= capacity)
      throw RuntimeFailure("experience buffer full (" + std::to_string(capacity) +
                           " experiences on this rank): raise run.max_experiences_per_rank, or use fewer "
                           "worlds per rank or a shorter world.horizon_days");

    const User& user = users_[event.user];
    const int q = static_cast<int>(event.query_type);
    const int hour = hour_of(t);
    const int day_of_week = day_of_week_of(t);
    const bool crisis = user.segment == crisis_segment;

    Experience& e = out.emplace_back();
    Observation& o = e.obs;
    const double time_fraction = t / horizon_hours_;
    const double spent_fraction = spend / budget;
    o[obs::time_fraction] = static_cast<float>(time_fraction);
    o[obs::budget_remaining] = static_cast<float>(1.0 - spent_fraction);
    o[obs::pacing_gap] = static_cast<float>(spent_fraction - time_fraction);
    o[obs::hour_sin] = hour_sin_[hour];
    o[obs::hour_cos] = hour_cos_[hour];
    o[obs::weekend] = day_of_week >= 5 ? 1.0f : 0.0f;
    o[obs::query_brand + q] = 1.0f;
    o[obs::device_ios] = user.device == priors.ios_device ? 1.0f : 0.0f;
    o[obs::urgency_tag] = (user.tags & urgency_mask_) != 0 ? 1.0f : 0.0f;
    o[obs::log_value_per_click] = log_value_per_click_[user.device * query_type_count + q];
    o[obs::recent_ctr] = 10.0f * recent_ctr;
    o[obs::observed_roas] = static_cast<float>(spend > 0 ? std::min(10.0, observed_value / spend) : 0.0);
    o[obs::log_last_price] = log_last_price;
    o[obs::pacing_pressure] = static_cast<float>(std::log1p(pacing.update(spent_fraction, time_fraction)));

    action_stream.seek_step(step);
    DecisionNoise noise;
    noise.normal = action_stream.normal();
    noise.uniform = action_stream.uniform();
    const Action action = policy.act(o, creatives, noise);
    const int creative = std::clamp(action.creative, 0, creatives - 1);
    const float log_multiplier = std::clamp(action.log_bid_multiplier, -max_log_multiplier, max_log_multiplier);
    const double agent_bid = std::min(reference * std::exp(static_cast<double>(log_multiplier)), remaining);
    const CreativeParams& ad = params_.creatives[creative];

    // Auction: the agent and every competitor that enters and can still pay bid against the reserve.
    auction_stream.seek_step(step);
    candidates_.clear();
    const double agent_quality = params_.agent_quality * ad.effectiveness;
    if (agent_bid >= params_.reserve_price) candidates_.push_back({-1, agent_bid, agent_quality, 0, false});
    for (std::size_t c = 0; c < competitors; ++c) {
      const CompetitorParams& competitor = params_.competitors[c];
      const StrategyPrior& strategy = priors.strategies[competitor.strategy];
      double entry = competitor_entry_[c * query_type_count + q];
      const double competitor_spent = competitor_spend_[c] / competitor_budget_[c];
      if (strategy.paced && competitor_spent > time_fraction)
        entry *= std::max(0.0, 1.0 - 4.0 * (competitor_spent - time_fraction));
      if (static_cast<double>(auction_stream.next_u32()) * 0x1.0p-32 >= entry) continue;  // 32 bits suffice here
      const double bid = competitor_bid_median_[c * query_type_count + q] *
                         std::exp(competitor.bid_noise * auction_stream.normal() +
                                  strategy.bid_trend_per_day * (t / 24.0));
      if (bid < params_.reserve_price || competitor_spend_[c] + bid > competitor_budget_[c]) continue;
      candidates_.push_back({static_cast<int>(c), bid, competitor.quality, 0, false});
    }
    // Rank by bid x quality (insertion sort: few bidders; ties keep the agent first, then competitor order).
    for (std::size_t i = 1; i < candidates_.size(); ++i) {
      const SlotOutcome moving = candidates_[i];
      const double score = moving.bid * moving.quality;
      std::size_t j = i;
      while (j > 0 && candidates_[j - 1].bid * candidates_[j - 1].quality < score) {
        candidates_[j] = candidates_[j - 1];
        --j;
      }
      candidates_[j] = moving;
    }
    const int filled = std::min<int>(slots, static_cast<int>(candidates_.size()));
    int agent_slot = 0;
    double price = 0;
    const double hour_factor = hour_ctr_[hour];
    const std::size_t cell = index3(user.segment, user.device, q, devices);
    for (int k = 0; k < filled; ++k) {
      SlotOutcome& slot = candidates_[k];
      const double next_score = k + 1 < static_cast<int>(candidates_.size())
                                    ? candidates_[k + 1].bid * candidates_[k + 1].quality
                                    : 0.0;
      slot.price = std::min(slot.bid, std::max(params_.reserve_price, next_score / slot.quality));
      const double position = priors.position_ctr[k];
      if (slot.bidder < 0) {
        agent_slot = k + 1;
        price = slot.price;
        continue;  // the agent's click is drawn below
      }
      slot.clicked = auction_stream.uniform() < click_base_[cell] * position * hour_factor;
      if (slot.clicked) competitor_spend_[slot.bidder] += slot.price;
    }

    bool clicked = false;
    bool converted = false;
    bool attributed = false;
    double cost = 0;
    double value = 0;
    double delay = 0;
    double expected_ctr = 0;   // the shown ad's click-through (0 when not shown)
    std::uint16_t& seen = impressions_[event.user * creatives + creative];
    const auto click_through = [&](int slot) {  // the ad's click-through in a slot, before this impression's fatigue
      double ctr = click_base_[cell] * priors.position_ctr[slot - 1] * hour_factor * ad.effectiveness /
                   (1.0 + ad.fatigue_rate * seen);
      if (crisis) ctr *= ad.crisis_affinity;
      return std::min(1.0, ctr);
    };
    const double value_per_click = conversion_probability_[cell] * expected_attributed_value_[user.segment];
    // The same auction priced at the strategy's deterministic bid (common random numbers).
    double mean_ctr = 0;
    double mean_price = 0;
    const float mean_log_multiplier = std::isnan(action.mean_log_bid_multiplier)
                                          ? log_multiplier
                                          : std::clamp(action.mean_log_bid_multiplier, -max_log_multiplier, max_log_multiplier);
    if (mean_log_multiplier != log_multiplier) {
      const double mean_bid = std::min(reference * std::exp(static_cast<double>(mean_log_multiplier)), remaining);
      const auto [mean_slot, slot_price] = placement(mean_bid, agent_quality);
      mean_ctr = mean_slot > 0 ? click_through(mean_slot) : 0.0;
      mean_price = slot_price;
    } else if (agent_slot > 0) {
      mean_ctr = click_through(agent_slot);
      mean_price = price;
    }
    if (agent_slot > 0) {
      ++stats.impressions;
      expected_ctr = click_through(agent_slot);
      if (seen < 65535) ++seen;
      clicked = auction_stream.uniform() < expected_ctr;
      recent_ctr += ctr_smoothing * ((clicked ? 1.0f : 0.0f) - recent_ctr);
      if (clicked) {
        ++stats.clicks;
        cost = price;
        spend += cost;
        log_last_price = static_cast<float>(std::log(price) - log_reference);
        if (auction_stream.uniform() < conversion_probability_[cell]) {
          converted = true;
          delay = std::exp(std::log(params_.delay_median_hours) + params_.delay_sigma * auction_stream.normal());
          const double drawn = std::exp(log_value_median_[user.segment] +
                                        priors.segments[user.segment].value_sigma * auction_stream.normal());
          attributed = delay <= params_.attribution_window_hours;
          if (attributed) {
            value = drawn;
            pending_.push_back({t + delay, drawn});
            std::push_heap(pending_.begin(), pending_.end(), later<PendingConversion, PendingConversion>);
          }
        }
      }
    }

    std::uint32_t tags = user.tags;
    for (int tag : priors.queries[q].tags) tags |= 1u << tag;
    e.log_bid_multiplier = action.log_bid_multiplier;
    e.log_prob = action.log_prob;
    const double expected_value = expected_ctr * value_per_click;
    const double expected_cost = expected_ctr * price;
    e.expected_reward = static_cast<float>(expected_value - expected_cost);
    e.expected_cost = static_cast<float>(expected_cost);
    e.mean_expected_reward = static_cast<float>(mean_ctr * (value_per_click - mean_price));
    e.mean_expected_cost = static_cast<float>(mean_ctr * mean_price);
    e.conversion_value = static_cast<float>(value);
    e.cost = static_cast<float>(cost);
    e.bid = static_cast<float>(agent_bid);
    e.time_hours = static_cast<float>(t);
    e.world = static_cast<std::int32_t>(params_.world_id);
    e.episode = static_cast<std::int32_t>(episode);
    e.step = static_cast<std::int32_t>(step);
    e.tags = tags;
    e.creative = static_cast<std::uint8_t>(creative);
    e.flags = static_cast<std::uint8_t>((crisis ? flag_crisis_truth : 0) | (agent_slot > 0 ? flag_won : 0) |
                                        (clicked ? flag_clicked : 0) | (attributed ? flag_converted : 0));
    e.segment = user.segment;
    e.query_type = static_cast<std::uint8_t>(q);
    e.device = user.device;
    e.slot = static_cast<std::uint8_t>(agent_slot);
    e.world_type = static_cast<std::uint8_t>(params_.world_type);

    ++stats.decisions;
    stats.crisis_decisions += crisis ? 1 : 0;
    stats.spend += cost;
    stats.reward += value - cost;
    stats.expected_value += expected_value;
    stats.expected_spend += expected_cost;
    if (attributed) {
      ++stats.conversions;
      stats.conversion_value += value;
      if (crisis) {
        ++stats.crisis_conversions;
        stats.crisis_value += value;
      }
    }

    if (observer != nullptr) {
      record.episode = episode;
      record.step = step;
      record.time_hours = t;
      record.hour = hour;
      record.day_of_week = day_of_week;
      record.day_of_year = day_of_year_of(t);
      record.user = event.user;
      record.segment = user.segment;
      record.device = user.device;
      record.query_type = q;
      record.creative = creative;
      record.agent_bid = agent_bid;
      record.reserve_price = params_.reserve_price;
      record.eligible_bidders = static_cast<int>(candidates_.size());
      record.agent_slot = agent_slot;
      record.price = price;
      record.clicked = clicked;
      record.cost = cost;
      record.converted = converted;
      record.delay_hours = delay;
      record.conversion_value = converted ? (attributed ? value : 0.0) : 0.0;
      record.attributed = attributed;
      record.spend_after = spend;
      record.budget = budget;
      record.filled_slots = filled;
      for (int k = 0; k < filled && k < static_cast<int>(record.slots.size()); ++k) {
        record.slots[k] = candidates_[k];
        if (candidates_[k].bidder < 0) record.slots[k].clicked = clicked;
      }
      observer->on_auction(record);
    }
  }
  if (out.size() > first) out.back().flags |= flag_done;
  return stats;
}

std::pair<int, double> World::placement(double bid, double quality) const {
  if (bid < params_.reserve_price) return {0, 0.0};
  const double score = bid * quality;
  int above = 0;
  double next_score = 0;
  for (const SlotOutcome& candidate : candidates_) {  // ranked by score; the agent's own entry is skipped
    if (candidate.bidder < 0) continue;
    const double other = candidate.bid * candidate.quality;
    if (other <= score) {  // ties rank the agent first, as in the auction
      next_score = other;
      break;
    }
    ++above;
  }
  if (above >= priors_->slots) return {0, 0.0};
  return {above + 1, std::min(bid, std::max(params_.reserve_price, next_score / quality))};
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
