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
constexpr float max_log_multiplier = 10.0f;  // the world clamps every action's log bid multiplier to +-this

bool later(const auto& a, const auto& b) { return a.time_hours > b.time_hours; }

std::size_t index3(std::size_t segment, std::size_t device, std::size_t query, std::size_t devices) {
  return (segment * devices + device) * query_type_count + query;
}

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

void throw_buffer_full(std::size_t capacity) {
  throw RuntimeFailure("experience buffer full (" + std::to_string(capacity) +
                       " experiences on this rank): raise run.max_experiences_per_rank, or use fewer "
                       "worlds per rank or a shorter world.horizon_days");
}

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
    : priors_(&priors),
      params_(std::move(params)),
      seed_(seed),
      horizon_hours_(horizon_days * 24.0),
      crisis_segment_(priors.crisis_segment()),
      log_reference_bid_(std::log(params_.reference_bid)),
      auction_stream_(seed, Purpose::auction, params_.world_id),
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
    ScheduleStream stream(seed_, Purpose::schedule, params_.world_id, episode, u);
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
        time += stream.uniform(0.5, 3.0) / 60.0;  // next query of the session minutes later
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

EpisodeStats World::run_episode(std::uint32_t episode, BidPolicy& policy, std::vector<Experience>& out,
                                std::size_t capacity, AuctionObserver* observer) {
  begin_episode(episode, out);
  policy.begin_episode();
  const int choices = creatives();
  while (Experience* e = next_decision(out, capacity))
    complete_decision(policy.act(e->obs, choices, decision_.noise), *e, observer);
  return end_episode(out);
}

void World::begin_episode(std::uint32_t episode, const std::vector<Experience>& out) {
  draw_schedule(episode);
  std::fill(impressions_.begin(), impressions_.end(), 0);
  std::fill(competitor_spend_.begin(), competitor_spend_.end(), 0.0);
  pending_.clear();
  state_ = EpisodeState{};
  state_.episode = episode;
  state_.first = out.size();
  state_.budget = params_.agent_daily_budget * horizon_hours_ / 24.0;
  state_.recent_ctr = initial_recent_ctr;
  state_.pacing = PacingDual(priors_->pacing_signal);
  state_.stats.queries = static_cast<std::int64_t>(schedule_.size());
  state_.stats.budget = state_.budget;
  auction_stream_ = AuctionStream(seed_, Purpose::auction, params_.world_id, episode, 0);
  action_stream_ = Stream(seed_, Purpose::action, params_.world_id, episode, 0);
  noise_first_ = noise_end_ = 0;
}

Experience* World::next_decision(std::vector<Experience>& out, std::size_t capacity) {
  if (state_.step >= schedule_.size()) return nullptr;
  const QueryEvent& event = schedule_[state_.step];
  deliver_conversions(event.time_hours);
  const double remaining = state_.budget - state_.spend;
  if (remaining < params_.reserve_price || remaining <= 0) {  // the campaign has spent its budget
    state_.step = static_cast<std::uint32_t>(schedule_.size());
    return nullptr;
  }
  if (out.size() >= capacity) throw_buffer_full(capacity);
  decision_.remaining = remaining;
  Experience& e = out.emplace_back();
  observe(event, e.obs);
  draw_noise();
  return &e;
}

void World::complete_decision(const Action& action, Experience& e, AuctionObserver* observer) {
  const QueryEvent& event = schedule_[state_.step];
  const User& user = users_[event.user];
  const int choices = creatives();
  const int creative = std::clamp(action.creative, 0, choices - 1);
  const float log_multiplier = std::clamp(action.log_bid_multiplier, -max_log_multiplier, max_log_multiplier);
  const double agent_bid =
      std::min(params_.reference_bid * std::exp(static_cast<double>(log_multiplier)), decision_.remaining);
  const std::size_t cell = index3(user.segment, user.device, event.query_type, priors_->devices.size());
  const double agent_quality = params_.agent_quality * params_.creatives[creative].effectiveness;
  const AuctionResult auction = run_auction(event, agent_bid, agent_quality, cell);
  const MeanBidOutcome mean = mean_bid_outcome(event, action, log_multiplier, agent_quality, creative, auction, cell);
  const AgentOutcome outcome = agent_outcome(event, creative, auction, cell);
  write_experience(e, event, action, creative, agent_bid, auction, outcome, mean, cell);
  if (observer != nullptr) notify(*observer, event, creative, agent_bid, auction, outcome);
  ++state_.step;
}

EpisodeStats World::end_episode(std::vector<Experience>& out) {
  if (out.size() > state_.first) out.back().flags |= flag_done;
  return state_.stats;
}

// ---- the parts of one decision ----------------------------------------------------------------

void World::deliver_conversions(double time_hours) {
  while (!pending_.empty() && pending_.front().time_hours <= time_hours) {
    state_.observed_value += pending_.front().value;
    std::pop_heap(pending_.begin(), pending_.end(), later<PendingConversion, PendingConversion>);
    pending_.pop_back();
  }
}

void World::observe(const QueryEvent& event, Observation& o) {
  const double t = event.time_hours;
  const User& user = users_[event.user];
  const int q = static_cast<int>(event.query_type);
  decision_.hour = hour_of(t);
  decision_.day_of_week = day_of_week_of(t);
  decision_.time_fraction = t / horizon_hours_;
  const double spend = state_.spend;
  const double time_fraction = decision_.time_fraction;
  const double spent_fraction = spend / state_.budget;
  o[obs::time_fraction] = static_cast<float>(time_fraction);
  o[obs::budget_remaining] = static_cast<float>(1.0 - spent_fraction);
  o[obs::pacing_gap] = static_cast<float>(spent_fraction - time_fraction);
  o[obs::hour_sin] = hour_sin_[decision_.hour];
  o[obs::hour_cos] = hour_cos_[decision_.hour];
  o[obs::weekend] = decision_.day_of_week >= 5 ? 1.0f : 0.0f;
  o[obs::query_brand + q] = 1.0f;
  o[obs::device_ios] = user.device == priors_->ios_device ? 1.0f : 0.0f;
  o[obs::urgency_tag] = (user.tags & urgency_mask_) != 0 ? 1.0f : 0.0f;
  o[obs::log_value_per_click] = log_value_per_click_[user.device * query_type_count + q];
  o[obs::recent_ctr] = 10.0f * state_.recent_ctr;
  o[obs::observed_roas] = static_cast<float>(spend > 0 ? std::min(10.0, state_.observed_value / spend) : 0.0);
  o[obs::log_last_price] = state_.log_last_price;
  o[obs::pacing_pressure] = static_cast<float>(std::log1p(state_.pacing.update(spent_fraction, time_fraction)));
}

// The normal and the uniform of the step's action stream: from its precomputed first block when
// the normal's first try succeeds, else from the stream itself (the same numbers either way).
void World::draw_noise() {
  const std::uint32_t step = state_.step;
  if (step < noise_first_ || step >= noise_end_) {
    philox_blocks(stream_key(seed_, Purpose::action), {params_.world_id, state_.episode, step, 0}, 2, noise_steps,
                  noise_words_.data());
    noise_first_ = step;
    noise_end_ = step + noise_steps;
  }
  const std::uint32_t* words = &noise_words_[4 * (step - noise_first_)];
  if (const std::optional<double> normal = Stream::normal_from(words[0], words[1])) {
    decision_.noise.normal = *normal;
    decision_.noise.uniform = Stream::uniform_from(words[2], words[3]);
    return;
  }
  action_stream_.seek_step(step);
  decision_.noise.normal = action_stream_.normal();
  decision_.noise.uniform = action_stream_.uniform();
}

// The agent and every competitor that enters and can still pay bid against the reserve; slots go
// by bid x quality, prices are generalised second prices; competitors' clicks are drawn here.
World::AuctionResult World::run_auction(const QueryEvent& event, double agent_bid, double agent_quality,
                                        std::size_t cell) {
  const double t = event.time_hours;
  const int q = static_cast<int>(event.query_type);
  const double time_fraction = decision_.time_fraction;
  const double reserve = params_.reserve_price;
  auction_stream_.seek_step(state_.step);
  candidates_.clear();
  if (agent_bid >= reserve) candidates_.push_back({-1, agent_bid, agent_quality, 0, false});
  for (std::size_t c = 0; c < bidders_.size(); ++c) {
    const Bidder& bidder = bidders_[c];
    double entry = bidder.entry[q];
    const double competitor_spent = competitor_spend_[c] / bidder.budget;
    // A paced competitor ahead of its schedule enters less often (x 1 leaves `entry` as it is).
    entry *= bidder.paced && competitor_spent > time_fraction ? std::max(0.0, 1.0 - 4.0 * (competitor_spent - time_fraction))
                                                              : 1.0;
    if (static_cast<double>(auction_stream_.next_u32()) * 0x1.0p-32 >= entry) continue;  // 32 bits suffice here
    const double bid =
        bidder.bid_median[q] * std::exp(bidder.bid_noise * auction_stream_.normal() + bidder.bid_trend_per_day * (t / 24.0));
    if (bid < reserve || competitor_spend_[c] + bid > bidder.budget) continue;
    candidates_.push_back({static_cast<int>(c), bid, bidder.quality, 0, false});
  }
  rank_candidates();
  AuctionResult result;
  result.filled = std::min<int>(priors_->slots, static_cast<int>(candidates_.size()));
  const double competitor_ctr = click_base_[cell];
  const double hour_factor = hour_ctr_[decision_.hour];
  for (int k = 0; k < result.filled; ++k) {
    SlotOutcome& slot = candidates_[k];
    const double next_score = k + 1 < static_cast<int>(candidates_.size())
                                  ? candidates_[k + 1].bid * candidates_[k + 1].quality
                                  : 0.0;
    slot.price = std::min(slot.bid, std::max(reserve, next_score / slot.quality));
    if (slot.bidder < 0) {
      result.agent_slot = k + 1;
      result.price = slot.price;
      continue;  // the agent's click is drawn in agent_outcome
    }
    slot.clicked = auction_stream_.uniform() < competitor_ctr * priors_->position_ctr[k] * hour_factor;
    if (slot.clicked) competitor_spend_[slot.bidder] += slot.price;
  }
  return result;
}

// Orders the candidates by bid x quality, highest first, ties in their order (the agent first, then
// competitor order): insertion sort, as there are few bidders.
void World::rank_candidates() {
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
}

// The ad's click-through in a slot (1-based), before this impression's fatigue.
double World::click_through(const QueryEvent& event, int creative, int slot, std::size_t cell) const {
  const CreativeParams& ad = params_.creatives[creative];
  const std::uint16_t seen = impressions_[event.user * params_.creatives.size() + creative];
  double ctr = click_base_[cell] * priors_->position_ctr[slot - 1] * hour_ctr_[decision_.hour] * ad.effectiveness /
               (1.0 + ad.fatigue_rate * seen);
  if (users_[event.user].segment == crisis_segment_) ctr *= ad.crisis_affinity;
  return std::min(1.0, ctr);
}

// The same auction priced at the strategy's deterministic bid (common random numbers): its
// click-through and price (0 and 0 where that bid would not be shown).
World::MeanBidOutcome World::mean_bid_outcome(const QueryEvent& event, const Action& action, float log_multiplier,
                                              double agent_quality, int creative, const AuctionResult& auction,
                                              std::size_t cell) const {
  MeanBidOutcome mean;
  const float mean_log_multiplier =
      std::isnan(action.mean_log_bid_multiplier)
          ? log_multiplier
          : std::clamp(action.mean_log_bid_multiplier, -max_log_multiplier, max_log_multiplier);
  if (mean_log_multiplier != log_multiplier) {
    const double mean_bid =
        std::min(params_.reference_bid * std::exp(static_cast<double>(mean_log_multiplier)), decision_.remaining);
    const auto [mean_slot, slot_price] = placement(mean_bid, agent_quality);
    mean.ctr = mean_slot > 0 ? click_through(event, creative, mean_slot, cell) : 0.0;
    mean.price = slot_price;
  } else if (auction.agent_slot > 0) {
    mean.ctr = click_through(event, creative, auction.agent_slot, cell);
    mean.price = auction.price;
  }
  return mean;
}

// The agent's impression, click and (delayed) conversion; the conversion joins the pending heap.
World::AgentOutcome World::agent_outcome(const QueryEvent& event, int creative, const AuctionResult& auction,
                                         std::size_t cell) {
  AgentOutcome outcome;
  if (auction.agent_slot == 0) return outcome;
  const User& user = users_[event.user];
  ++state_.stats.impressions;
  std::uint16_t& seen = impressions_[event.user * params_.creatives.size() + creative];
  outcome.expected_ctr = click_through(event, creative, auction.agent_slot, cell);
  if (seen < 65535) ++seen;
  outcome.clicked = auction_stream_.uniform() < outcome.expected_ctr;
  state_.recent_ctr += ctr_smoothing * ((outcome.clicked ? 1.0f : 0.0f) - state_.recent_ctr);
  if (!outcome.clicked) return outcome;
  ++state_.stats.clicks;
  outcome.cost = auction.price;
  state_.spend += outcome.cost;
  state_.log_last_price = static_cast<float>(std::log(auction.price) - log_reference_bid_);
  if (auction_stream_.uniform() >= conversion_probability_[cell]) return outcome;
  outcome.converted = true;
  outcome.delay = std::exp(std::log(params_.delay_median_hours) + params_.delay_sigma * auction_stream_.normal());
  const double drawn =
      std::exp(log_value_median_[user.segment] + priors_->segments[user.segment].value_sigma * auction_stream_.normal());
  outcome.attributed = outcome.delay <= params_.attribution_window_hours;
  if (outcome.attributed) {
    outcome.value = drawn;
    pending_.push_back({event.time_hours + outcome.delay, drawn});
    std::push_heap(pending_.begin(), pending_.end(), later<PendingConversion, PendingConversion>);
  }
  return outcome;
}

void World::write_experience(Experience& e, const QueryEvent& event, const Action& action, int creative,
                             double agent_bid, const AuctionResult& auction, const AgentOutcome& outcome,
                             const MeanBidOutcome& mean, std::size_t cell) {
  const User& user = users_[event.user];
  const bool crisis = user.segment == crisis_segment_;
  const double value_per_click = conversion_probability_[cell] * expected_attributed_value_[user.segment];
  const double expected_value = outcome.expected_ctr * value_per_click;
  const double expected_cost = outcome.expected_ctr * auction.price;
  e.log_bid_multiplier = action.log_bid_multiplier;
  e.log_prob = action.log_prob;
  e.expected_reward = static_cast<float>(expected_value - expected_cost);
  e.expected_cost = static_cast<float>(expected_cost);
  e.mean_expected_reward = static_cast<float>(mean.ctr * (value_per_click - mean.price));
  e.mean_expected_cost = static_cast<float>(mean.ctr * mean.price);
  e.conversion_value = static_cast<float>(outcome.value);
  e.cost = static_cast<float>(outcome.cost);
  e.bid = static_cast<float>(agent_bid);
  e.time_hours = static_cast<float>(event.time_hours);
  e.world = static_cast<std::int32_t>(params_.world_id);
  e.episode = static_cast<std::int32_t>(state_.episode);
  e.step = static_cast<std::int32_t>(state_.step);
  e.tags = user.tags | query_tags_[event.query_type];
  e.creative = static_cast<std::uint8_t>(creative);
  e.flags = static_cast<std::uint8_t>((crisis ? flag_crisis_truth : 0) | (auction.agent_slot > 0 ? flag_won : 0) |
                                      (outcome.clicked ? flag_clicked : 0) | (outcome.attributed ? flag_converted : 0));
  e.segment = user.segment;
  e.query_type = static_cast<std::uint8_t>(event.query_type);
  e.device = user.device;
  e.slot = static_cast<std::uint8_t>(auction.agent_slot);
  e.world_type = static_cast<std::uint8_t>(params_.world_type);

  EpisodeStats& stats = state_.stats;
  ++stats.decisions;
  stats.crisis_decisions += crisis ? 1 : 0;
  stats.spend += outcome.cost;
  stats.reward += outcome.value - outcome.cost;
  stats.expected_value += expected_value;
  stats.expected_spend += expected_cost;
  if (outcome.attributed) {
    ++stats.conversions;
    stats.conversion_value += outcome.value;
    if (crisis) {
      ++stats.crisis_conversions;
      stats.crisis_value += outcome.value;
    }
  }
}

void World::notify(AuctionObserver& observer, const QueryEvent& event, int creative, double agent_bid,
                   const AuctionResult& auction, const AgentOutcome& outcome) const {
  const User& user = users_[event.user];
  AuctionRecord record;
  record.episode = state_.episode;
  record.step = state_.step;
  record.time_hours = event.time_hours;
  record.hour = decision_.hour;
  record.day_of_week = decision_.day_of_week;
  record.day_of_year = day_of_year_of(event.time_hours);
  record.user = event.user;
  record.segment = user.segment;
  record.device = user.device;
  record.query_type = static_cast<int>(event.query_type);
  record.creative = creative;
  record.agent_bid = agent_bid;
  record.reserve_price = params_.reserve_price;
  record.eligible_bidders = static_cast<int>(candidates_.size());
  record.agent_slot = auction.agent_slot;
  record.price = auction.price;
  record.clicked = outcome.clicked;
  record.cost = outcome.cost;
  record.converted = outcome.converted;
  record.delay_hours = outcome.delay;
  record.conversion_value = outcome.converted ? (outcome.attributed ? outcome.value : 0.0) : 0.0;
  record.attributed = outcome.attributed;
  record.spend_after = state_.spend;
  record.budget = state_.budget;
  record.filled_slots = auction.filled;
  for (int k = 0; k < auction.filled && k < static_cast<int>(record.slots.size()); ++k) {
    record.slots[k] = candidates_[k];
    if (candidates_[k].bidder < 0) record.slots[k].clicked = outcome.clicked;
  }
  observer.on_auction(record);
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
