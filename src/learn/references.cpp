// The hindsight-optimal bidder (true values of the observable opportunity x c, c searched) and adaptive pacing.
#include "manyworlds/learn/references.hpp"

#include <algorithm>
#include <cmath>

#include "manyworlds/learn/baselines.hpp"
#include "manyworlds/world/observation.hpp"

namespace manyworlds {

namespace {

constexpr double golden = 0.6180339887498949;

int query_of(const Observation& obs) {
  for (int q = 0; q < query_type_count; ++q)
    if (obs[obs::query_brand + q] > 0.5f) return q;
  return 0;
}

// P(the user carries an urgency tag | segment), tags drawn independently per user.
double urgency_probability(const Priors& priors, const SegmentPrior& segment) {
  double none = 1;
  for (int tag : priors.urgency_tags)
    if (tag < static_cast<int>(segment.tag_probability.size())) none *= 1 - segment.tag_probability[tag];
  return 1 - none;
}

// Relative rate at which users of segment `s` issue queries of type `query` with urgency `urgent`.
double segment_weight(const World& world, std::size_t s, int query, bool urgent) {
  const Priors& priors = world.priors();
  const WorldParams& params = world.params();
  const SegmentPrior& segment = priors.segments[s];
  double mix = segment.query_mix[query];
  if (query == static_cast<int>(QueryType::crisis_intent)) mix *= params.crisis_intent_boost;
  const double urgency = urgency_probability(priors, segment);
  return params.segment_share[s] * segment.sessions_per_day * segment.queries_per_session * mix *
         (urgent ? urgency : 1 - urgency);
}

// Sum over segments and the devices `ios` leaves possible of weight x click chance (x value if `valued`).
double click_sum(const World& world, int query, bool ios, bool urgent, int creative, bool valued) {
  const Priors& priors = world.priors();
  const WorldParams& params = world.params();
  const int crisis = priors.crisis_segment();
  double total = 0;
  for (std::size_t s = 0; s < priors.segments.size(); ++s) {
    const double weight = segment_weight(world, s, query, urgent);
    const double affinity = static_cast<int>(s) == crisis ? params.creatives[creative].crisis_affinity : 1.0;
    for (std::size_t d = 0; d < priors.devices.size(); ++d) {
      if ((static_cast<int>(d) == priors.ios_device) != ios) continue;
      double term = weight * params.device_share[d] * priors.segments[s].ctr_multiplier *
                    priors.devices[d].ctr_multiplier * affinity;
      if (valued) {
        term *= world.conversion_probability(static_cast<int>(s), static_cast<int>(d), query) *
                world.expected_attributed_value(static_cast<int>(s));
      }
      total += term;
    }
  }
  return total;
}

}  // namespace

int opportunity_cell(const Observation& obs) {
  const int ios = obs[obs::device_ios] > 0.5f ? 1 : 0;
  const int urgent = obs[obs::urgency_tag] > 0.5f ? 1 : 0;
  return (query_of(obs) * 2 + ios) * 2 + urgent;
}

OpportunityValues::OpportunityValues(const World& world)
    : creatives_(static_cast<int>(world.params().creatives.size())),
      value_(static_cast<std::size_t>(opportunity_cells) * creatives_, 0.0) {
  for (int cell = 0; cell < opportunity_cells; ++cell) {
    const int query = cell / 4;
    const bool ios = (cell / 2) % 2 == 1;
    const bool urgent = cell % 2 == 1;
    for (int c = 0; c < creatives_; ++c) {
      const double clicks = click_sum(world, query, ios, urgent, c, false);
      value_[cell * creatives_ + c] = clicks > 0 ? click_sum(world, query, ios, urgent, c, true) / clicks : 0.0;
    }
  }
}

HindsightBidder::HindsightBidder(const OpportunityValues& values, double reference_bid, double multiplier)
    : creatives_(values.creatives()),
      log_multiplier_(static_cast<std::size_t>(values.creatives()) * opportunity_cells) {
  for (int cell = 0; cell < opportunity_cells; ++cell) {
    for (int c = 0; c < creatives_; ++c) {
      const double value = values.value_per_click(cell, c);
      // A cell nobody can reach (value 0) gets the lowest bid the world accepts.
      log_multiplier_[cell * creatives_ + c] =
          value > 0 ? static_cast<float>(std::log(multiplier * value / reference_bid)) : -10.0f;
    }
  }
}

Action HindsightBidder::act(const Observation& obs, int creatives, const DecisionNoise& noise) {
  const int creative = choose_creative(CreativeChoice::rotate, creatives, noise);
  return {log_multiplier_[opportunity_cell(obs) * creatives_ + creative], creative, 0.0f};
}

HindsightOutcome hindsight_optimum(World& world, std::uint32_t episode, const HindsightSearch& search,
                                   std::vector<Experience>& scratch, std::size_t capacity) {
  const OpportunityValues values(world);
  HindsightOutcome best;
  double best_return = -HUGE_VAL;
  const auto evaluate = [&](double log_multiplier) {
    HindsightBidder bidder(values, world.params().reference_bid, std::exp(log_multiplier));
    scratch.clear();
    const EpisodeStats outcome = world.run_episode(episode, bidder, scratch, capacity);
    ++best.episodes;
    const double value = expected_return(outcome);
    if (value > best_return) {
      best_return = value;
      best.multiplier = std::exp(log_multiplier);
      best.outcome = outcome;
    }
    return value;
  };
  const double low = std::log(search.min_multiplier);
  const double high = std::log(search.max_multiplier);
  const int points = std::max(2, search.grid_points);
  const double spacing = (high - low) / (points - 1);
  int best_point = 0;
  double best_grid = -HUGE_VAL;
  for (int i = 0; i < points; ++i) {
    const double value = evaluate(low + spacing * i);
    if (value > best_grid) {
      best_grid = value;
      best_point = i;
    }
  }
  // Golden-section search for the maximum in the bracket of the best grid point's neighbours.
  double a = low + spacing * std::max(0, best_point - 1);
  double b = low + spacing * std::min(points - 1, best_point + 1);
  double x1 = b - golden * (b - a);
  double x2 = a + golden * (b - a);
  double f1 = search.refinements > 0 ? evaluate(x1) : 0;
  double f2 = search.refinements > 1 ? evaluate(x2) : 0;
  for (int step = 2; step < search.refinements; ++step) {
    if (f1 >= f2) {
      b = x2, x2 = x1, f2 = f1;
      x1 = b - golden * (b - a);
      f1 = evaluate(x1);
    } else {
      a = x1, x1 = x2, f1 = f2;
      x2 = a + golden * (b - a);
      f2 = evaluate(x2);
    }
  }
  return best;
}

AdaptivePacingBid::AdaptivePacingBid(const AdaptivePacingSettings& settings, double max_abs_log_multiplier)
    : settings_(settings),
      bound_(static_cast<float>(max_abs_log_multiplier)),
      dual_(PacingSignal{settings.step, settings.max_mu}) {}

Action AdaptivePacingBid::act(const Observation& obs, int creatives, const DecisionNoise& noise) {
  const double mu = dual_.update(1.0 - obs[obs::budget_remaining], obs[obs::time_fraction]);
  const double x = obs[obs::log_value_per_click] + settings_.offset - std::log1p(mu);
  return {std::clamp(static_cast<float>(x), -bound_, bound_), choose_creative(CreativeChoice::rotate, creatives, noise),
          0.0f};
}

}  // namespace manyworlds
