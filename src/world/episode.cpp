// The episode loop of one world: sessions and queries in time order, one decision each, delayed conversions.
#include <algorithm>
#include <cmath>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/world/world.hpp"
#include "world_internals.hpp"

namespace manyworlds {

using world_internals::index3;

namespace {

constexpr float ctr_smoothing = 0.02f;  // weight of the newest impression in the recent-CTR average
constexpr float initial_recent_ctr = 0.03f;

bool later(const auto& a, const auto& b) { return a.time_hours > b.time_hours; }

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
  // The schedule depends only on the world and the episode: an episode run again (evaluation's
  // strategies, the hindsight search) reuses it.
  if (scheduled_episode_ != episode) {
    draw_schedule(episode);
    scheduled_episode_ = episode;
  }
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
  auction_stream_ = AuctionStream(seed_, Purpose::auction, params_.world_id, episode, 0, stream_blocks_);
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
  const float log_multiplier = std::clamp(action.log_bid_multiplier, -max_log_multiplier_, max_log_multiplier_);
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
  const double drawn = std::exp(log_value_median_[user.segment] +
                                priors_->segments[user.segment].value_sigma * auction_stream_.normal());
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

}  // namespace manyworlds
