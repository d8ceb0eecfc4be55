// Baseline tuning, validation rounds with snapshot selection, and the test evaluation, over all ranks.
#include "manyworlds/app/evaluation_protocol.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "manyworlds/app/world_costs.hpp"
#include "manyworlds/learn/inference_policy.hpp"
#include "manyworlds/learn/references.hpp"

namespace manyworlds {

namespace {

// Whether two parameter vectors are the same bits (so also -0.0 against 0.0, and NaN payloads, tell).
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](double x, double y) {
    return std::bit_cast<std::uint64_t>(x) == std::bit_cast<std::uint64_t>(y);
  });
}

std::vector<World> worlds_of(const Job& job, std::uint64_t seed, IdRange range, std::uint32_t id_base) {
  return make_worlds(job.priors, seed, job.config.world.horizon_days, range.begin, range.size(), id_base);
}

std::uint64_t test_seed(const JobConfig& config) {
  return config.evaluation.test_seed != 0 ? config.evaluation.test_seed : config.run.seed;
}

std::vector<std::int32_t> types_of(const std::vector<World>& worlds) {
  std::vector<std::int32_t> types;
  for (const World& world : worlds) types.push_back(world.params().world_type);
  return types;
}

std::vector<double> returns_of(std::span<const EpisodeStats> outcomes) {
  std::vector<double> returns;
  for (const EpisodeStats& outcome : outcomes) returns.push_back(expected_return(outcome));
  return returns;
}

// [strategy][local world] on every rank -> [strategy][world] on rank 0.
std::vector<EpisodeStats> gather_strategy_major(Collectives& collectives, const std::vector<EpisodeStats>& local,
                                                std::size_t strategies) {
  const std::size_t local_worlds = strategies == 0 ? 0 : local.size() / strategies;
  std::vector<EpisodeStats> world_major;
  for (std::size_t w = 0; w < local_worlds; ++w)
    for (std::size_t s = 0; s < strategies; ++s) world_major.push_back(local[s * local_worlds + w]);
  const std::vector<EpisodeStats> gathered = collectives.gather(world_major);
  const std::size_t worlds = gathered.size() / std::max<std::size_t>(strategies, 1);
  std::vector<EpisodeStats> result(gathered.size());
  for (std::size_t w = 0; w < worlds; ++w)
    for (std::size_t s = 0; s < strategies; ++s) result[s * worlds + w] = gathered[w * strategies + s];
  return result;
}

std::string format_interval(const Interval& interval) {
  char text[64];
  std::snprintf(text, sizeof text, "%6.1f [%6.1f, %6.1f]", interval.mean, interval.low, interval.high);
  return text;
}

}  // namespace

EvaluationProtocol::EvaluationProtocol(const Job& job, const PolicyModel& model, Collectives& collectives)
    : job_(job),
      model_(model),
      collectives_(collectives),
      capacity_(static_cast<std::size_t>(job.config.run.max_experiences_per_rank)) {
  const EvaluationSection& evaluation = job.config.evaluation;
  const std::uint64_t seed = job.config.run.seed;
  validation_range_ = balanced_range(evaluation.validation_worlds, seed, validation_world_base);
  test_range_ = balanced_range(evaluation.test_worlds, test_seed(job.config), test_world_base);
  tuning_range_ = balanced_range(std::min(evaluation.tuning_worlds, job.config.run.worlds), seed, 0);
  validation_ = worlds_of(job, job.config.run.seed, validation_range_, validation_world_base);
  test_ = worlds_of(job, test_seed(job.config), test_range_, test_world_base);
  tuning_ = worlds_of(job, job.config.run.seed, tuning_range_, 0);
}

IdRange EvaluationProtocol::balanced_range(std::int64_t count, std::uint64_t seed, std::uint32_t id_base) {
  const std::vector<double> costs = estimated_world_costs(job_, seed, count, id_base, collectives_);
  return balanced_block(costs, collectives_.size(), collectives_.rank());
}

std::vector<BaselineSpec> EvaluationProtocol::tune_baselines() {
  const std::vector<BaselineSpec> candidates = baseline_candidates();
  const std::vector<double> local =
      candidate_returns(tuning_, candidates, job_.config.policy.max_abs_log_multiplier, scratch_, capacity_);
  // World-major, so rank 0 can add every candidate's returns in world order.
  const std::size_t worlds = tuning_.size();
  std::vector<double> world_major;
  for (std::size_t w = 0; w < worlds; ++w)
    for (std::size_t c = 0; c < candidates.size(); ++c) world_major.push_back(local[c * worlds + w]);
  const std::vector<double> gathered = collectives_.gather(world_major);
  std::vector<BaselineSpec> best(baseline_families);
  if (collectives_.is_root()) {
    std::vector<double> totals(candidates.size(), 0.0);
    for (std::size_t i = 0; i < gathered.size(); ++i) totals[i % candidates.size()] += gathered[i];
    best = best_per_family(candidates, totals);
  }
  collectives_.broadcast(best);
  return best;
}

void EvaluationProtocol::tune(const ProgressLog& log) {
  tuned_ = tune_baselines();
  const std::int64_t worlds = std::min(job_.config.evaluation.tuning_worlds, job_.config.run.worlds);
  std::string line = "baselines tuned on " + std::to_string(worlds) + " training worlds:";
  for (const BaselineSpec& spec : tuned_) line += " " + describe(spec);
  log.info(line);
}

void EvaluationProtocol::measure_validation_references() {
  const auto constant =
      make_baseline(tuned_[static_cast<int>(BaselineFamily::constant_bid)], job_.config.policy.max_abs_log_multiplier);
  std::vector<double> local_constant = returns_of(evaluate(validation_, *constant, scratch_, capacity_));
  std::vector<double> local_hindsight;
  for (World& world : validation_)
    local_hindsight.push_back(
        expected_return(hindsight_optimum(world, evaluation_episode, {}, scratch_, capacity_).outcome));
  references_.world_type = collectives_.gather(types_of(validation_));
  references_.constant_return = collectives_.gather(local_constant);
  references_.hindsight_return = collectives_.gather(local_hindsight);
  references_.tuned = tuned_;
}

std::vector<EpisodeStats> EvaluationProtocol::policy_outcomes(std::vector<World>& worlds,
                                                              const std::vector<double>& parameters) {
  InferencePolicy policy(model_, parameters, InferencePolicy::Mode::greedy);
  return evaluate(worlds, policy, scratch_, capacity_);
}

Bootstrap EvaluationProtocol::bootstrap(std::size_t worlds) const {
  return Bootstrap(job_.config.run.seed, worlds, job_.config.evaluation.bootstrap_samples);
}

ValidationRound EvaluationProtocol::validate(int iteration, const std::vector<double>& parameters,
                                             const ProgressLog& log) {
  const std::vector<EpisodeStats> outcomes = collectives_.gather(policy_outcomes(validation_, parameters));
  ValidationRound round;
  round.iteration = iteration;
  round.parameters = parameters;
  std::vector<std::int64_t> improved{0};
  if (collectives_.is_root()) {
    ScoreInputs inputs;
    inputs.outcomes = outcomes;
    inputs.strategies = 1;
    inputs.constant = references_.constant_return;
    inputs.hindsight = references_.hindsight_return;
    inputs.world_types = references_.world_type;
    inputs.type_count = static_cast<int>(job_.priors.world_types.size());
    inputs.floor = job_.config.evaluation.score_floor;
    inputs.robust_roas = job_.config.evaluation.robust_roas;
    const ScoreSummary summary = summarize(inputs, bootstrap(outcomes.size()));
    round.returns = returns_of(outcomes);
    round.score = summary.overall[0];
    round.mean_return = summary.mean_return[0];
    improved[0] = selected_.iteration < 0 || round.score.mean > selected_.score ? 1 : 0;
  }
  collectives_.broadcast(improved);
  if (improved[0] != 0) selected_ = {iteration, round.score.mean, parameters};
  collectives_.broadcast(selected_.score);
  char text[200];
  std::snprintf(text, sizeof text,
                "validation after iteration %d: policy score %s, return %.1f; reported snapshot: iteration %d",
                iteration, format_interval(round.score).c_str(), round.mean_return, selected_.iteration);
  log.info(text);
  return round;
}

TestResults EvaluationProtocol::test(const std::vector<double>& final_parameters, const ProgressLog& log) {
  const std::vector<double>& reported = selected_.iteration >= 0 ? selected_.parameters : final_parameters;
  std::vector<EpisodeStats> local = policy_outcomes(test_, reported);
  // The reported snapshot is often the final policy (selected at the last validation): the same bits
  // make the same greedy policy, so its outcomes are taken again rather than run again.
  const std::vector<EpisodeStats> final_outcomes =
      same_bits(reported, final_parameters) ? local : policy_outcomes(test_, final_parameters);
  local.insert(local.end(), final_outcomes.begin(), final_outcomes.end());
  std::vector<double> multipliers;
  for (World& world : test_) {
    const HindsightOutcome optimum = hindsight_optimum(world, evaluation_episode, {}, scratch_, capacity_);
    local.push_back(optimum.outcome);
    multipliers.push_back(optimum.multiplier);
  }
  for (const BaselineSpec& spec : tuned_) {
    const auto baseline = make_baseline(spec, job_.config.policy.max_abs_log_multiplier);
    for (const EpisodeStats& outcome : evaluate(test_, *baseline, scratch_, capacity_)) local.push_back(outcome);
  }
  TestResults results;
  results.strategies = test_strategy_names();
  results.outcomes = gather_strategy_major(collectives_, local, results.strategies.size());
  results.world_type = collectives_.gather(types_of(test_));
  results.hindsight_multiplier = collectives_.gather(multipliers);
  results.selected_iteration = selected_.iteration;
  results.tuned = tuned_;
  if (!collectives_.is_root()) return results;
  const std::size_t worlds = results.world_type.size();
  const auto returns_at = [&](int strategy) {
    return returns_of(std::span<const EpisodeStats>(results.outcomes).subspan(strategy * worlds, worlds));
  };
  const std::vector<double> constant = returns_at(test_strategy_of(BaselineFamily::constant_bid));
  const std::vector<double> hindsight = returns_at(static_cast<int>(TestStrategy::hindsight));
  ScoreInputs inputs;
  inputs.outcomes = results.outcomes;
  inputs.strategies = static_cast<int>(results.strategies.size());
  inputs.constant = constant;
  inputs.hindsight = hindsight;
  inputs.world_types = results.world_type;
  inputs.type_count = static_cast<int>(job_.priors.world_types.size());
  inputs.comparison = test_strategy_of(BaselineFamily::adaptive_pacing);
  inputs.floor = job_.config.evaluation.score_floor;
  inputs.robust_roas = job_.config.evaluation.robust_roas;
  results.summary =
      summarize(inputs, Bootstrap(test_seed(job_.config), worlds, job_.config.evaluation.bootstrap_samples));
  std::vector<std::string> type_names;
  for (const WorldTypePrior& type : job_.priors.world_types) type_names.push_back(type.name);
  for (const std::string& line : describe_test_results(results, type_names)) log.info(line);
  return results;
}

std::vector<std::string> describe_test_results(const TestResults& results, const std::vector<std::string>& type_names) {
  std::vector<std::string> lines;
  const ScoreSummary& summary = results.summary;
  char text[256];
  std::snprintf(text, sizeof text,
                "test worlds: %zu; normalised score 0 = tuned constant bid, 100 = hindsight optimum; reported policy: "
                "snapshot after iteration %d",
                results.world_type.size(), results.selected_iteration);
  lines.emplace_back(text);
  std::snprintf(text, sizeof text, "  %-24s %-26s %-26s %10s %8s", "strategy", "score [95% CI]",
                "vs adaptive_pacing [95% CI]", "return", "ROAS ok");
  lines.emplace_back(text);
  for (std::size_t s = 0; s < results.strategies.size(); ++s) {
    std::snprintf(text, sizeof text, "  %-24s %-26s %-26s %10.1f %7.0f%%", results.strategies[s].c_str(),
                  format_interval(summary.overall[s]).c_str(), format_interval(summary.versus[s]).c_str(),
                  summary.mean_return[s], 100 * summary.success_share[s]);
    lines.emplace_back(text);
  }
  const std::size_t types = type_names.size();
  for (std::size_t t = 0; t < types; ++t) {
    std::string line = "  " + type_names[t] + ":";
    for (std::size_t s = 0; s < results.strategies.size(); ++s) {
      const Interval& interval = summary.by_type[s * types + t];
      if (std::isnan(interval.mean)) continue;
      std::snprintf(text, sizeof text, " %s %.1f", results.strategies[s].c_str(), interval.mean);
      line += text;
    }
    lines.push_back(line);
  }
  return lines;
}

}  // namespace manyworlds
