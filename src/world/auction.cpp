// The GSP auction of one query: competitors' entry and bids, ranking by bid x quality, prices, click-through.
#include <algorithm>
#include <cmath>

#include "manyworlds/world/world.hpp"

namespace manyworlds {

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
    entry *= bidder.paced && competitor_spent > time_fraction
                 ? std::max(0.0, 1.0 - priors_->pacing_slope * (competitor_spent - time_fraction))
                 : 1.0;
    if (static_cast<double>(auction_stream_.next_u32()) * 0x1.0p-32 >= entry) continue;  // 32 bits suffice here
    const double bid = bidder.bid_median[q] *
                       std::exp(bidder.bid_noise * auction_stream_.normal() + bidder.bid_trend_per_day * (t / 24.0));
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
    const double next_score =
        k + 1 < static_cast<int>(candidates_.size()) ? candidates_[k + 1].bid * candidates_[k + 1].quality : 0.0;
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
          : std::clamp(action.mean_log_bid_multiplier, -max_log_multiplier_, max_log_multiplier_);
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

}  // namespace manyworlds
