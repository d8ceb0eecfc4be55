// Boost.Serialization of what rank 0 broadcasts (job, priors, AuctionGym scenario), kept out of the model headers.
#pragma once

#include <boost/serialization/array.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "manyworlds/core/config.hpp"
#include "manyworlds/scenarios/auctiongym/scenario.hpp"
#include "manyworlds/world/pacing.hpp"
#include "manyworlds/world/priors.hpp"

// Non-intrusive serialize() functions, found by argument-dependent lookup: std::string, std::vector,
// std::array and enum members included. Every field of each struct, in declaration order.

namespace manyworlds {

template <class Archive>
void serialize(Archive& ar, RunSection& x, unsigned) {
  ar& x.name& x.seed& x.worlds& x.iterations& x.episodes_per_iteration& x.output& x.checkpoint_every& x
      .checkpoint_minutes& x.max_experiences_per_rank& x.batch_deflate;
}

template <class Archive>
void serialize(Archive& ar, WorldSection& x, unsigned) {
  ar& x.priors& x.priors_path& x.horizon_days& x.reward;
}

template <class Archive>
void serialize(Archive& ar, EventTypeSection& x, unsigned) {
  ar& x.precedence& x.keywords& x.value_percentile;
}

template <class Archive>
void serialize(Archive& ar, SamplingSection& x, unsigned) {
  ar& x.mode& x.batch_size& x.batch_per_world& x.crisis_weight& x.alpha& x.beta_start& x.beta_end& x
      .beta_anneal_iterations& x.advantage_priority& x.priority_epsilon& x.min_crisis_share& x.events;
}

template <class Archive>
void serialize(Archive& ar, PolicySection& x, unsigned) {
  ar& x.hidden& x.value_hidden& x.init_log_std& x.max_abs_log_multiplier& x.bid_prior& x.prior_offset;
}

template <class Archive>
void serialize(Archive& ar, PpoSection& x, unsigned) {
  ar& x.learning_rate& x.final_learning_rate& x.target_kl& x.epochs& x.minibatch_size& x.clip& x.value_coef& x
      .entropy_coef& x.gamma& x.gae_lambda& x.max_grad_norm& x.adam_beta1& x.adam_beta2& x.adam_epsilon& x
      .reward_scale& x.budget_price& x.lagrangian& x.counterfactual& x.normalize_advantages;
}

template <class Archive>
void serialize(Archive& ar, EvaluationSection& x, unsigned) {
  ar& x.validation_worlds& x.test_worlds& x.tuning_worlds& x.test_seed& x.every& x.bootstrap_samples& x.score_floor& x
      .robust_roas& x.robust_share;
}

template <class Archive>
void serialize(Archive& ar, JobConfig& x, unsigned) {
  ar& x.file& x.text& x.run& x.world& x.sampling& x.policy& x.ppo& x.evaluation;
}

template <class Archive>
void serialize(Archive& ar, PacingSignal& x, unsigned) {
  ar& x.step& x.max_mu;
}

template <class Archive>
void serialize(Archive& ar, Distribution& x, unsigned) {
  ar& x.kind& x.a& x.b;
}

template <class Archive>
void serialize(Archive& ar, SegmentPrior& x, unsigned) {
  ar& x.name& x.crisis& x.share& x.sessions_per_day& x.queries_per_session& x.query_mix& x.ctr_multiplier& x.cvr& x
      .feature_dependence& x.value_median& x.value_sigma& x.tag_probability;
}

template <class Archive>
void serialize(Archive& ar, DevicePrior& x, unsigned) {
  ar& x.name& x.share& x.ctr_multiplier& x.feature_gap;
}

template <class Archive>
void serialize(Archive& ar, QueryPrior& x, unsigned) {
  ar& x.base_ctr& x.cvr_multiplier& x.competition& x.tags;
}

template <class Archive>
void serialize(Archive& ar, StrategyPrior& x, unsigned) {
  ar& x.name& x.probability& x.bid_multiplier& x.query_multipliers& x.budget_multiplier& x.paced& x.bid_trend_per_day;
}

template <class Archive>
void serialize(Archive& ar, WorldTypePrior& x, unsigned) {
  ar& x.name& x.probability& x.traffic& x.bid_level& x.reserve& x.ctr& x.cvr& x.value& x.crisis_share& x
      .crisis_intent& x.competitor_budget& x.seasonal_amplitude_add& x.competitors_add& x.add_strategy& x
      .switch_strategy& x.switch_share;
}

template <class Archive>
void serialize(Archive& ar, Priors& x, unsigned) {
  ar& x.file& x.text& x.tags& x.urgency_tags& x.users& x.activity_shape& x.segment_concentration& x
      .device_concentration& x.query_gap_min_minutes& x.query_gap_max_minutes& x.segments& x.devices& x.ios_device& x
      .queries& x.hour_profile& x.hour_noise& x.day_of_week_profile& x.start_day_of_year& x.seasonal_amplitude& x
      .max_seasonal_amplitude& x.seasonal_peak_day& x.hour_ctr_amplitude& x.evening_peak_hour& x.slots& x
      .position_ctr& x.reserve_price& x.bid_level& x.agent_quality& x.ctr_level& x.competitor_count& x
      .competitor_base_bid& x.competitor_quality& x.competitor_bid_noise& x.competitor_daily_budget& x
      .competitor_participation& x.pacing_slope& x.strategies& x.creatives& x.creative_effectiveness& x
      .creative_crisis_affinity& x.creative_fatigue_rate& x.delay_median_hours& x.delay_sigma& x
      .attribution_window_days& x.cvr_level& x.value_level& x.agent_daily_budget& x.value_estimate_noise& x
      .pacing_signal& x.max_log_bid_multiplier& x.world_types;
}

}  // namespace manyworlds

namespace manyworlds::auctiongym {

template <class Archive>
void serialize(Archive& ar, Scenario& x, unsigned) {
  ar& x.file& x.text& x.name& x.seed& x.rounds& x.auctions_per_round& x.blocks_per_round& x.output& x.bidders& x
      .items_per_bidder& x.dimensions& x.observed_dimensions& x.participants& x.embedding_sd& x.intercept_min& x
      .intercept_max& x.value_log_mean& x.value_log_sd& x.embeddings& x.intercepts& x.values;
}

}  // namespace manyworlds::auctiongym
