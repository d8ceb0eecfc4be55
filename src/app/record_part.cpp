// The evaluate and record parts of an iteration: validation rounds on schedule, the iteration's figures and rows in the
// output.
#include "manyworlds/app/iteration_parts.hpp"

namespace manyworlds {

IterationMetrics iteration_metrics(const JobConfig& config, std::span<const WorldIterationSummary> summaries,
                                   const IdentificationCounts& identification, const DrawSummary& draw) {
  IterationMetrics m;
  EpisodeStats total;
  double log_multiplier_sum = 0;
  for (const WorldIterationSummary& summary : summaries) {
    total += summary.stats;
    log_multiplier_sum += summary.log_multiplier_sum;
  }
  const auto count = [](std::int64_t n) { return static_cast<double>(n); };
  const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  m.episodes = count(config.run.worlds) * config.run.episodes_per_iteration;
  m.queries = count(total.queries);
  m.decisions = count(total.decisions);
  m.impressions = count(total.impressions);
  m.clicks = count(total.clicks);
  m.conversions = count(total.conversions);
  m.crisis_conversions = count(total.crisis_conversions);
  m.spend = total.spend;
  m.conversion_value = total.conversion_value;
  m.crisis_value = total.crisis_value;
  m.reward = total.reward;
  m.mean_episode_return = ratio(total.reward, m.episodes);
  m.roas = ratio(total.conversion_value, total.spend);
  m.ctr = ratio(m.clicks, m.impressions);
  m.cvr = ratio(m.conversions, m.clicks);
  const double population = count(draw.population);
  m.natural_crisis_share = ratio(count(identification.true_positive + identification.false_positive), population);
  m.natural_crisis_truth_share = ratio(count(identification.true_positive + identification.false_negative), population);
  m.predicted_crisis_share = draw.predicted_crisis_share;
  m.identification_precision = identification.precision();
  m.identification_recall = identification.recall();
  m.population_reward_mean = ratio(total.reward, population);
  m.mean_log_bid_multiplier = ratio(log_multiplier_sum, population);
  m.beta = draw.beta;
  m.max_possible_weight = draw.max_weight;
  return m;
}

EvaluatePart::EvaluatePart(const JobConfig& config, EvaluationProtocol& protocol)
    : config_(config), protocol_(protocol) {}

bool EvaluatePart::due(int iteration) const {
  return (iteration + 1) % config_.evaluation.every == 0 || iteration + 1 == config_.run.iterations;
}

ValidationRound EvaluatePart::run(int iterations, const std::vector<double>& parameters, const ProgressLog& log) {
  return protocol_.validate(iterations, parameters, log);
}

void RecordPart::run(OutputFile& output, const IterationData& data) {
  world_stats_.clear();
  for (const WorldIterationSummary& summary : data.summaries) world_stats_.push_back(summary.stats);
  IterationRecord record;
  record.iteration = data.iteration;
  record.first_world = data.first_world;
  record.world_stats = world_stats_;
  record.first_row = data.batch->first_row;
  record.rows = data.batch->rows;
  record.behaviour_bid_mean = data.behaviour->bid_mean;
  record.behaviour_log_std = data.behaviour->log_std;
  record.behaviour_creative_log_prob = data.behaviour->creative_log_prob;
  record.policy_parameters = data.behaviour_parameters;
  record.metrics = data.metrics;
  output.append_iteration(record);
}

}  // namespace manyworlds
