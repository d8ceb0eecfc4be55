// The output file's schema tables: names, units and descriptions of metrics and statistics.
#include "manyworlds/io/output_schema.hpp"

namespace manyworlds {

const std::vector<Field<IterationMetrics>>& iteration_metric_fields() {
  using M = IterationMetrics;
  static const std::vector<Field<M>> fields{
      {"episodes", "1", "episodes simulated", &M::episodes},
      {"queries", "1", "auctions scheduled in the episodes' horizons", &M::queries},
      {"decisions", "1", "agent decisions (experiences)", &M::decisions},
      {"impressions", "1", "agent ads shown", &M::impressions},
      {"clicks", "1", "agent ads clicked", &M::clicks},
      {"conversions", "1", "attributed conversions", &M::conversions},
      {"crisis_conversions", "1", "attributed conversions of crisis-segment users", &M::crisis_conversions},
      {"spend", "currency", "cost of the agent's clicks", &M::spend},
      {"conversion_value", "currency", "attributed conversion value", &M::conversion_value},
      {"crisis_value", "currency", "attributed conversion value of crisis-segment users", &M::crisis_value},
      {"reward", "currency", "conversion value minus spend", &M::reward},
      {"mean_episode_return", "currency", "reward per episode", &M::mean_episode_return},
      {"roas", "1", "conversion value / spend", &M::roas},
      {"ctr", "1", "clicks / impressions", &M::ctr},
      {"cvr", "1", "conversions / clicks", &M::cvr},
      {"natural_crisis_share", "1", "share of experiences typed crisis", &M::natural_crisis_share},
      {"natural_crisis_truth_share", "1", "share of experiences from crisis-segment users", &M::natural_crisis_truth_share},
      {"predicted_crisis_share", "1", "crisis share of the batch the sampling rule predicts", &M::predicted_crisis_share},
      {"batch_crisis_share", "1", "share of batch rows typed crisis", &M::batch_crisis_share},
      {"batch_crisis_truth_share", "1", "share of batch rows from crisis-segment users", &M::batch_crisis_truth_share},
      {"weight_mean", "1", "mean importance weight of the batch", &M::weight_mean},
      {"weight_std", "1", "standard deviation of the batch's importance weights", &M::weight_std},
      {"weight_min", "1", "smallest importance weight in the batch", &M::weight_min},
      {"weight_max", "1", "largest importance weight in the batch", &M::weight_max},
      {"max_possible_weight", "1", "largest weight any experience could get (PER's normaliser)", &M::max_possible_weight},
      {"effective_sample_size", "1", "Kish effective sample size (sum w)^2 / sum w^2", &M::effective_sample_size},
      {"beta", "1", "importance-weight exponent (1: unbiased)", &M::beta},
      {"identification_precision", "1", "precision of crisis identification against ground truth", &M::identification_precision},
      {"identification_recall", "1", "recall of crisis identification against ground truth", &M::identification_recall},
      {"weighted_reward_mean", "currency", "(1/B) sum w r over the batch: estimate of population_reward_mean", &M::weighted_reward_mean},
      {"population_reward_mean", "currency", "mean reward over all experiences", &M::population_reward_mean},
      {"policy_loss", "1", "PPO clipped surrogate loss (importance-weighted, last epoch)", &M::policy_loss},
      {"value_loss", "1", "value loss (importance-weighted, last epoch)", &M::value_loss},
      {"entropy", "nats", "policy entropy (last epoch)", &M::entropy},
      {"approx_kl", "nats", "approximate KL divergence old -> new policy", &M::approx_kl},
      {"clip_fraction", "1", "share of samples whose ratio was clipped", &M::clip_fraction},
      {"grad_norm", "1", "gradient norm before clipping", &M::grad_norm},
      {"explained_variance", "1", "explained variance of the value head", &M::explained_variance},
      {"policy_log_std", "1", "log standard deviation of the log bid multiplier after the update", &M::policy_log_std},
      {"mean_log_bid_multiplier", "1", "mean log bid multiplier of the experiences", &M::mean_log_bid_multiplier},
      {"learning_rate", "1", "learning rate of the update (ppo.learning_rate annealed to ppo.final_learning_rate)", &M::learning_rate},
      {"epochs", "1", "epochs the update ran (fewer than ppo.epochs when ppo.target_kl stopped it)", &M::epochs},
  };
  return fields;
}

const std::vector<Field<RuntimeMetrics>>& runtime_metric_fields() {
  using R = RuntimeMetrics;
  static const std::vector<Field<R>> fields{
      {"iteration_seconds", "seconds", "wall-clock time of the iteration", &R::iteration_seconds},
      {"simulate_seconds", "seconds", "episodes, values and advantages (slowest rank)", &R::simulate_seconds},
      {"simulate_mean_seconds", "seconds", "episodes, values and advantages (mean over ranks)", &R::simulate_mean_seconds},
      {"simulate_imbalance", "1", "slowest rank's simulation time / mean over ranks", &R::simulate_imbalance},
      {"wait_seconds", "seconds", "mean over ranks of the wait for the slowest rank after simulating", &R::wait_seconds},
      {"classify_seconds", "seconds", "event typing", &R::classify_seconds},
      {"sample_seconds", "seconds", "drawing the batch", &R::sample_seconds},
      {"update_seconds", "seconds", "the whole update phase: batch statistics, advantages, PPO epochs", &R::update_seconds},
      {"update_compute_seconds", "seconds", "PPO gradients of rank 0's own batch rows", &R::update_compute_seconds},
      {"update_reduce_seconds", "seconds", "PPO exact gradient reductions (with waiting), clipping and Adam steps", &R::update_reduce_seconds},
      {"evaluate_seconds", "seconds", "held-out evaluation (0 when none ran)", &R::evaluate_seconds},
      {"write_seconds", "seconds", "writing the iteration to this file", &R::write_seconds},
      {"batch_write_seconds", "seconds", "writing the batch datasets (part of write_seconds)", &R::batch_write_seconds},
      {"batch_bytes", "bytes", "uncompressed bytes of the iteration's batch rows", &R::batch_bytes},
      {"collective_seconds", "seconds", "time inside collective operations (all phases)", &R::collective_seconds},
      {"collective_calls", "1", "collective operations in the iteration", &R::collective_calls},
      {"serial_seconds", "seconds", "work that does not shrink with more ranks (docs/scaling.md)", &R::serial_seconds},
      {"balance_seconds", "seconds", "measuring the worlds' costs and re-partitioning them over ranks", &R::balance_seconds},
      {"partition_changes", "1", "1 if the worlds were re-partitioned by measured cost after the iteration", &R::partition_changes},
      {"bytes_moved", "bytes", "payload bytes between ranks in the iteration", &R::bytes_moved},
      {"max_rank_bytes_moved", "bytes", "largest payload any one rank sent and received in the iteration", &R::max_rank_bytes_moved},
      {"decisions_per_second", "1/s", "agent decisions simulated per second over all ranks", &R::decisions_per_second},
      {"max_rank_experiences", "1", "largest experience buffer of any rank", &R::max_rank_experiences},
      {"batch_writes_collective", "1", "1 if every batch write of the iteration was collective MPI-IO", &R::batch_writes_collective},
      {"max_rank_rss_bytes", "bytes", "peak resident memory of the largest rank so far (getrusage)", &R::max_rank_rss_bytes},
      {"min_rank_rss_bytes", "bytes", "peak resident memory of the smallest rank so far (getrusage)", &R::min_rank_rss_bytes},
      {"root_rss_bytes", "bytes", "peak resident memory of rank 0 so far (getrusage)", &R::root_rss_bytes},
  };
  return fields;
}

const std::vector<WorldStatField>& world_stat_fields() {
  using S = EpisodeStats;
  static const std::vector<WorldStatField> fields{
      {"queries", "1", "auctions scheduled", [](const S& s) { return static_cast<double>(s.queries); }},
      {"decisions", "1", "agent decisions", [](const S& s) { return static_cast<double>(s.decisions); }},
      {"crisis_decisions", "1", "decisions on crisis-segment users", [](const S& s) { return static_cast<double>(s.crisis_decisions); }},
      {"impressions", "1", "agent ads shown", [](const S& s) { return static_cast<double>(s.impressions); }},
      {"clicks", "1", "agent ads clicked", [](const S& s) { return static_cast<double>(s.clicks); }},
      {"conversions", "1", "attributed conversions", [](const S& s) { return static_cast<double>(s.conversions); }},
      {"crisis_conversions", "1", "attributed conversions of crisis users", [](const S& s) { return static_cast<double>(s.crisis_conversions); }},
      {"spend", "currency", "agent spend", [](const S& s) { return s.spend; }},
      {"conversion_value", "currency", "attributed conversion value", [](const S& s) { return s.conversion_value; }},
      {"crisis_value", "currency", "attributed conversion value of crisis users", [](const S& s) { return s.crisis_value; }},
      {"reward", "currency", "conversion value minus spend", [](const S& s) { return s.reward; }},
      {"budget", "currency", "agent budget over the episodes", [](const S& s) { return s.budget; }},
      {"expected_value", "currency", "expected attributed conversion value of the ads shown (click-through x conversion x value)", [](const S& s) { return s.expected_value; }},
      {"expected_spend", "currency", "expected spend of the ads shown (click-through x price)", [](const S& s) { return s.expected_spend; }},
  };
  return fields;
}

}  // namespace manyworlds
