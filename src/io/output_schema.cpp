// The output file's schema tables: names, types, units and descriptions of batch fields, metrics and statistics.
#include "manyworlds/io/output_schema.hpp"

#include <algorithm>
#include <type_traits>

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
      {"natural_crisis_truth_share", "1", "share of experiences from crisis-segment users",
       &M::natural_crisis_truth_share},
      {"predicted_crisis_share", "1", "crisis share of the batch the sampling rule predicts",
       &M::predicted_crisis_share},
      {"batch_crisis_share", "1", "share of batch rows typed crisis", &M::batch_crisis_share},
      {"batch_crisis_truth_share", "1", "share of batch rows from crisis-segment users", &M::batch_crisis_truth_share},
      {"weight_mean", "1", "mean importance weight of the batch", &M::weight_mean},
      {"weight_std", "1", "standard deviation of the batch's importance weights", &M::weight_std},
      {"weight_min", "1", "smallest importance weight in the batch", &M::weight_min},
      {"weight_max", "1", "largest importance weight in the batch", &M::weight_max},
      {"max_possible_weight", "1", "largest weight any experience could get (PER's normaliser)",
       &M::max_possible_weight},
      {"effective_sample_size", "1", "Kish effective sample size (sum w)^2 / sum w^2", &M::effective_sample_size},
      {"beta", "1", "importance-weight exponent (1: unbiased)", &M::beta},
      {"identification_precision", "1", "precision of crisis identification against ground truth",
       &M::identification_precision},
      {"identification_recall", "1", "recall of crisis identification against ground truth", &M::identification_recall},
      {"weighted_reward_mean", "currency", "(1/B) sum w r over the batch: estimate of population_reward_mean",
       &M::weighted_reward_mean},
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
      {"learning_rate", "1", "learning rate of the update (ppo.learning_rate annealed to ppo.final_learning_rate)",
       &M::learning_rate},
      {"epochs", "1", "epochs the update ran (fewer than ppo.epochs when ppo.target_kl stopped it)", &M::epochs},
  };
  return fields;
}

const std::vector<Field<RuntimeMetrics>>& runtime_metric_fields() {
  using R = RuntimeMetrics;
  static const std::vector<Field<R>> fields{
      {"iteration_seconds", "seconds", "wall-clock time of the iteration", &R::iteration_seconds},
      {"simulate_seconds", "seconds", "episodes, values and advantages (slowest rank)", &R::simulate_seconds},
      {"simulate_mean_seconds", "seconds", "episodes, values and advantages (mean over ranks)",
       &R::simulate_mean_seconds},
      {"simulate_imbalance", "1", "slowest rank's simulation time / mean over ranks", &R::simulate_imbalance},
      {"wait_seconds", "seconds", "mean over ranks of the wait for the slowest rank after simulating",
       &R::wait_seconds},
      {"classify_seconds", "seconds", "event typing", &R::classify_seconds},
      {"sample_seconds", "seconds", "drawing the batch", &R::sample_seconds},
      {"update_seconds", "seconds", "the whole update phase: batch statistics, advantages, PPO epochs",
       &R::update_seconds},
      {"update_compute_seconds", "seconds", "PPO gradients of rank 0's own batch rows", &R::update_compute_seconds},
      {"update_reduce_seconds", "seconds", "PPO exact gradient reductions (with waiting), clipping and Adam steps",
       &R::update_reduce_seconds},
      {"evaluate_seconds", "seconds", "held-out evaluation (0 when none ran)", &R::evaluate_seconds},
      {"write_seconds", "seconds", "writing the iteration to this file", &R::write_seconds},
      {"batch_write_seconds", "seconds", "writing the batch datasets (part of write_seconds)", &R::batch_write_seconds},
      {"batch_bytes", "bytes", "uncompressed bytes of the iteration's batch rows", &R::batch_bytes},
      {"collective_seconds", "seconds", "time inside collective operations (all phases)", &R::collective_seconds},
      {"collective_calls", "1", "collective operations in the iteration", &R::collective_calls},
      {"serial_seconds", "seconds", "work that does not shrink with more ranks (docs/scaling.md)", &R::serial_seconds},
      {"balance_seconds", "seconds", "measuring the worlds' costs and re-partitioning them over ranks",
       &R::balance_seconds},
      {"partition_changes", "1", "1 if the worlds were re-partitioned by measured cost after the iteration",
       &R::partition_changes},
      {"bytes_moved", "bytes", "payload bytes between ranks in the iteration", &R::bytes_moved},
      {"max_rank_bytes_moved", "bytes", "largest payload any one rank sent and received in the iteration",
       &R::max_rank_bytes_moved},
      {"decisions_per_second", "1/s", "agent decisions simulated per second over all ranks", &R::decisions_per_second},
      {"max_rank_experiences", "1", "largest experience buffer of any rank", &R::max_rank_experiences},
      {"batch_writes_collective", "1", "1 if every batch write of the iteration was collective MPI-IO",
       &R::batch_writes_collective},
      {"max_rank_rss_bytes", "bytes", "peak resident memory of the largest rank so far (getrusage)",
       &R::max_rank_rss_bytes},
      {"min_rank_rss_bytes", "bytes", "peak resident memory of the smallest rank so far (getrusage)",
       &R::min_rank_rss_bytes},
      {"root_rss_bytes", "bytes", "peak resident memory of rank 0 so far (getrusage)", &R::root_rss_bytes},
  };
  return fields;
}

const std::vector<WorldStatField>& world_stat_fields() {
  using S = EpisodeStats;
  static const std::vector<WorldStatField> fields{
      {"queries", "1", "auctions scheduled", [](const S& s) { return static_cast<double>(s.queries); }},
      {"decisions", "1", "agent decisions", [](const S& s) { return static_cast<double>(s.decisions); }},
      {"crisis_decisions", "1", "decisions on crisis-segment users",
       [](const S& s) { return static_cast<double>(s.crisis_decisions); }},
      {"impressions", "1", "agent ads shown", [](const S& s) { return static_cast<double>(s.impressions); }},
      {"clicks", "1", "agent ads clicked", [](const S& s) { return static_cast<double>(s.clicks); }},
      {"conversions", "1", "attributed conversions", [](const S& s) { return static_cast<double>(s.conversions); }},
      {"crisis_conversions", "1", "attributed conversions of crisis users",
       [](const S& s) { return static_cast<double>(s.crisis_conversions); }},
      {"spend", "currency", "agent spend", [](const S& s) { return s.spend; }},
      {"conversion_value", "currency", "attributed conversion value", [](const S& s) { return s.conversion_value; }},
      {"crisis_value", "currency", "attributed conversion value of crisis users",
       [](const S& s) { return s.crisis_value; }},
      {"reward", "currency", "conversion value minus spend", [](const S& s) { return s.reward; }},
      {"budget", "currency", "agent budget over the episodes", [](const S& s) { return s.budget; }},
      {"expected_value", "currency",
       "expected attributed conversion value of the ads shown (click-through x conversion x value)",
       [](const S& s) { return s.expected_value; }},
      {"expected_spend", "currency", "expected spend of the ads shown (click-through x price)",
       [](const S& s) { return s.expected_spend; }},
  };
  return fields;
}

namespace {

// Empties a column and makes room for `values`. It grows by an eighth more than asked, so that an
// iteration with a few more rows than the last reuses the memory instead of allocating and faulting
// in a new column (about 0.25 s of a 1,000,000-row write on 2 ranks, measured).
template <class T>
void clear_with_room(std::vector<T>& column, std::size_t values) {
  column.clear();
  if (column.capacity() < values) column.reserve(values + values / 8);
}

}  // namespace

void BatchColumns::fill(std::span<const BatchRow> rows, const Behaviour& behaviour) {
  const std::size_t creatives = rows.empty() ? 0 : behaviour.creative_log_prob.size() / rows.size();
  for (const BatchField& field : batch_fields()) {
    const std::size_t values_per_row =
        field.width == per_creative ? creatives : std::max<std::size_t>(static_cast<std::size_t>(field.width), 1);
    std::visit([&](auto member) { clear_with_room(this->*member, rows.size() * values_per_row); }, field.column);
  }
  for (const BatchRow& row : rows) {
    const Experience& e = row.experience;
    world.push_back(e.world);
    episode.push_back(e.episode);
    step.push_back(e.step);
    world_type.push_back(e.world_type);
    segment.push_back(e.segment);
    device.push_back(e.device);
    query_type.push_back(e.query_type);
    creative.push_back(e.creative);
    slot.push_back(e.slot);
    event_type.push_back(e.event_type);
    crisis_truth.push_back((e.flags & flag_crisis_truth) != 0 ? 1 : 0);
    done.push_back((e.flags & flag_done) != 0 ? 1 : 0);
    clicked.push_back((e.flags & flag_clicked) != 0 ? 1 : 0);
    converted.push_back((e.flags & flag_converted) != 0 ? 1 : 0);
    tags.push_back(e.tags);
    obs.insert(obs.end(), e.obs.begin(), e.obs.end());
    next_obs.insert(next_obs.end(), row.next_obs.begin(), row.next_obs.end());
    log_bid_multiplier.push_back(e.log_bid_multiplier);
    log_prob.push_back(e.log_prob);
    value_estimate.push_back(e.value_estimate);
    reward.push_back(e.conversion_value - e.cost);
    expected_reward.push_back(e.expected_reward);
    expected_cost.push_back(e.expected_cost);
    advantage.push_back(e.advantage);
    value_target.push_back(e.value_target);
    conversion_value.push_back(e.conversion_value);
    cost.push_back(e.cost);
    bid.push_back(e.bid);
    time_hours.push_back(e.time_hours);
    probability.push_back(row.probability);
    weight.push_back(row.weight);
  }
  behaviour_bid_mean.assign(behaviour.bid_mean.begin(), behaviour.bid_mean.end());
  behaviour_log_std.assign(rows.size(), behaviour.log_std);
  behaviour_creative_log_prob.assign(behaviour.creative_log_prob.begin(), behaviour.creative_log_prob.end());
}

h5::ElementType BatchField::type() const {
  return std::visit(
      [](auto member) {
        using Column = std::remove_reference_t<decltype(std::declval<BatchColumns&>().*member)>;
        return h5::element_type_of<typename Column::value_type>();
      },
      column);
}

std::uint64_t BatchField::inner_width(int creatives) const {
  return width == per_creative ? static_cast<std::uint64_t>(creatives) : width;
}

const std::vector<BatchField>& batch_fields() {
  using C = BatchColumns;
  constexpr auto observation = static_cast<std::uint64_t>(obs_dim);
  static const std::vector<BatchField> fields{
      {"world", "1", "world id", &C::world, 0},
      {"episode", "1", "episode index of the world", &C::episode, 0},
      {"step", "1", "decision index in the episode", &C::step, 0},
      {"world_type", "1", "world type index (see /world_type_names)", &C::world_type, 0},
      {"segment", "1", "user segment index, ground truth (see /segment_names)", &C::segment, 0},
      {"device", "1", "device index (see /device_names)", &C::device, 0},
      {"query_type", "1", "query type index (see /query_type_names)", &C::query_type, 0},
      {"creative", "1", "creative chosen (action, discrete)", &C::creative, 0},
      {"slot", "1", "ad slot won, 1-based; 0 = not shown", &C::slot, 0},
      {"event_type", "1", "0 regular, 1 crisis (as typed before sampling)", &C::event_type, 0},
      {"crisis_truth", "1", "1 if the user is in the crisis segment", &C::crisis_truth, 0},
      {"done", "1", "1 on the last decision of the episode", &C::done, 0},
      {"clicked", "1", "1 if the ad was clicked", &C::clicked, 0},
      {"converted", "1", "1 if the click converted within the attribution window", &C::converted, 0},
      {"tags", "1", "bit set of metadata tags (bit t = /tag_names[t])", &C::tags, 0},
      {"obs", "1", "observation (layout in docs/world-model.md)", &C::obs, observation},
      {"next_obs", "1", "observation of the next step (zeros when done)", &C::next_obs, observation},
      {"log_bid_multiplier", "1", "action: bid = reference_bid * exp(this)", &C::log_bid_multiplier, 0},
      {"log_prob", "nats", "log-probability of the action under the behaviour policy", &C::log_prob, 0},
      {"value_estimate", "1", "behaviour value estimate (scaled reward units)", &C::value_estimate, 0},
      {"behaviour_bid_mean", "1", "behaviour policy's Gaussian mean of the log bid multiplier (before clamping)",
       &C::behaviour_bid_mean, 0},
      {"behaviour_log_std", "1", "behaviour policy's log standard deviation of the log bid multiplier",
       &C::behaviour_log_std, 0},
      {"behaviour_creative_log_prob", "nats", "behaviour policy's log-probability of each creative",
       &C::behaviour_creative_log_prob, per_creative},
      {"reward", "currency", "realized reward: attributed conversion value minus cost", &C::reward, 0},
      {"expected_reward", "currency",
       "expected conversion value minus expected cost given the auction's slot and price", &C::expected_reward, 0},
      {"expected_cost", "currency", "expected cost given the auction's slot and price (click-through x price)",
       &C::expected_cost, 0},
      {"advantage", "1", "GAE advantage (scaled reward units)", &C::advantage, 0},
      {"value_target", "1", "value target = advantage + value_estimate", &C::value_target, 0},
      {"conversion_value", "currency", "attributed conversion value", &C::conversion_value, 0},
      {"cost", "currency", "price paid for a click", &C::cost, 0},
      {"bid", "currency", "bid placed", &C::bid, 0},
      {"time_hours", "hours", "time of the decision since the episode started", &C::time_hours, 0},
      {"probability", "1", "per-draw selection probability (without replacement: inclusion probability)",
       &C::probability, 0},
      {"weight", "1", "importance weight", &C::weight, 0},
  };
  return fields;
}

double batch_row_bytes(int creatives) {
  double bytes = 0;
  for (const BatchField& field : batch_fields())
    bytes +=
        static_cast<double>(h5::element_size(field.type()) * std::max<std::uint64_t>(field.inner_width(creatives), 1));
  return bytes;
}

double metric_bytes_per_iteration() {
  const auto datasets = static_cast<double>(iteration_metric_fields().size() + runtime_metric_fields().size());
  return datasets * static_cast<double>(h5::element_size(metric_element_type));
}

double world_stat_bytes_per_iteration(std::int64_t worlds) {
  return static_cast<double>(world_stat_fields().size()) * static_cast<double>(worlds) *
         static_cast<double>(h5::element_size(metric_element_type));
}

}  // namespace manyworlds
