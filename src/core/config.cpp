// Parsing and validation of job files.
#include "manyworlds/core/config.hpp"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/core/toml_reader.hpp"

namespace manyworlds {

const char* to_string(SamplingMode mode) {
  switch (mode) {
    case SamplingMode::proportional:
      return "proportional";
    case SamplingMode::stratified:
      return "stratified";
    case SamplingMode::without_replacement:
      return "without_replacement";
  }
  return "?";
}

const char* to_string(RewardMode mode) { return mode == RewardMode::realized ? "realized" : "expected"; }

const char* to_string(BidPrior prior) {
  switch (prior) {
    case BidPrior::none:
      return "none";
    case BidPrior::value:
      return "value";
    case BidPrior::adaptive_pacing:
      return "adaptive_pacing";
  }
  return "?";
}

const char* to_string(EventSource source) {
  switch (source) {
    case EventSource::ground_truth:
      return "ground_truth";
    case EventSource::keywords:
      return "keywords";
    case EventSource::value_percentile:
      return "value_percentile";
  }
  return "?";
}

namespace {

constexpr std::int64_t max_int = 2147483647;
constexpr std::int64_t max_batch_size = 10000000;

RunSection parse_run(const TomlTable& table) {
  RunSection run;
  run.name = table.string("name", run.name);
  run.seed = static_cast<std::uint64_t>(table.integer("seed", 1, 0, static_cast<std::int64_t>(max_seed)));
  run.worlds = table.integer("worlds", run.worlds, 1, validation_world_base - 1);
  run.iterations = static_cast<int>(table.integer("iterations", run.iterations, 1, 1000000));
  run.episodes_per_iteration =
      static_cast<int>(table.integer("episodes_per_iteration", run.episodes_per_iteration, 1, 1000));
  run.output = table.string("output", run.output);
  run.checkpoint_every = static_cast<int>(table.integer("checkpoint_every", run.checkpoint_every, 0, 1000000));
  run.checkpoint_minutes = table.number("checkpoint_minutes", run.checkpoint_minutes, {0.0, 1e6});
  run.max_experiences_per_rank =
      table.integer("max_experiences_per_rank", run.max_experiences_per_rank, 1000, 100000000);
  run.batch_deflate = static_cast<int>(table.integer("batch_deflate", run.batch_deflate, 0, 9));
  table.finish();
  return run;
}

WorldSection parse_world(const TomlTable& table, const std::string& job_file) {
  WorldSection world;
  world.priors = table.string("priors");
  const std::filesystem::path relative(world.priors);
  world.priors_path =
      relative.is_absolute() ? world.priors : (std::filesystem::path(job_file).parent_path() / relative).string();
  world.horizon_days = table.number("horizon_days", world.horizon_days, {0.01, 366.0});
  world.reward = table.choice("reward", to_string(world.reward), {"realized", "expected"}) == "realized"
                     ? RewardMode::realized
                     : RewardMode::expected;
  table.finish();
  return world;
}

EventSource parse_event_source(const TomlTable& table, const std::string& name) {
  if (name == "ground_truth") return EventSource::ground_truth;
  if (name == "keywords") return EventSource::keywords;
  if (name == "value_percentile") return EventSource::value_percentile;
  table.fail("precedence", "contains '" + name + "'; use 'ground_truth', 'keywords' or 'value_percentile'");
}

EventTypeSection parse_events(const TomlTable& table) {
  EventTypeSection events;
  std::vector<std::string> default_precedence;
  for (EventSource source : events.precedence) default_precedence.push_back(to_string(source));
  events.precedence.clear();
  for (const std::string& name : table.strings("precedence", default_precedence)) {
    const EventSource source = parse_event_source(table, name);
    if (std::find(events.precedence.begin(), events.precedence.end(), source) != events.precedence.end())
      table.fail("precedence", "lists '" + name + "' twice");
    events.precedence.push_back(source);
  }
  if (events.precedence.empty()) table.fail("precedence", "must name at least one source");
  events.keywords = table.strings("keywords", events.keywords);
  events.value_percentile = table.number("value_percentile", events.value_percentile, {0.0, 100.0, true});
  table.finish();
  return events;
}

SamplingSection parse_sampling(const TomlTable& table) {
  SamplingSection sampling;
  const std::string mode = table.choice("mode", "proportional", {"proportional", "stratified", "without_replacement"});
  sampling.mode = mode == "proportional" ? SamplingMode::proportional
                  : mode == "stratified" ? SamplingMode::stratified
                                         : SamplingMode::without_replacement;
  if (table.has("batch_size") && table.has("batch_per_world"))
    table.fail("batch_per_world", "cannot be set together with 'batch_size' (the batch is one or the other)");
  sampling.batch_size = table.integer("batch_size", sampling.batch_size, 1, max_batch_size);
  sampling.batch_per_world = table.integer("batch_per_world", sampling.batch_per_world, 1, max_batch_size);
  sampling.crisis_weight = table.number("crisis_weight", sampling.crisis_weight, positive);
  sampling.alpha = table.number("alpha", sampling.alpha, {0.0, 10.0});
  sampling.beta_start = table.number("beta_start", sampling.beta_start, unit_interval);
  sampling.beta_end = table.number("beta_end", sampling.beta_end, unit_interval);
  sampling.beta_anneal_iterations =
      static_cast<int>(table.integer("beta_anneal_iterations", sampling.beta_anneal_iterations, 0, 1000000));
  sampling.advantage_priority = table.boolean("advantage_priority", sampling.advantage_priority);
  sampling.priority_epsilon = table.number("priority_epsilon", sampling.priority_epsilon, positive);
  sampling.min_crisis_share = table.number("min_crisis_share", sampling.min_crisis_share, unit_interval);
  if (auto events = table.optional_table("events")) sampling.events = parse_events(*events);
  table.finish();
  return sampling;
}

std::vector<int> parse_widths(const TomlTable& table, const std::string& key, const std::vector<int>& fallback) {
  std::vector<double> defaults(fallback.begin(), fallback.end());
  std::vector<int> widths;
  for (double width : table.numbers(key, defaults, {1.0, 4096.0})) {
    if (width != static_cast<int>(width)) table.fail(key, "must contain whole numbers");
    widths.push_back(static_cast<int>(width));
  }
  if (widths.empty()) table.fail(key, "must list at least one layer width");
  return widths;
}

PolicySection parse_policy(const TomlTable& table) {
  PolicySection policy;
  policy.hidden = parse_widths(table, "hidden", policy.hidden);
  policy.value_hidden = parse_widths(table, "value_hidden", policy.value_hidden);
  policy.init_log_std = table.number("init_log_std", policy.init_log_std, {-5.0, 2.0});
  policy.max_abs_log_multiplier = table.number("max_abs_log_multiplier", policy.max_abs_log_multiplier, {0.1, 10.0});
  const std::string prior =
      table.choice("bid_prior", to_string(policy.bid_prior), {"none", "value", "adaptive_pacing"});
  policy.bid_prior = prior == "value"             ? BidPrior::value
                     : prior == "adaptive_pacing" ? BidPrior::adaptive_pacing
                                                  : BidPrior::none;
  policy.prior_offset = table.number("prior_offset", policy.prior_offset, {-10.0, 10.0});
  table.finish();
  return policy;
}

PpoSection parse_ppo(const TomlTable& table) {
  PpoSection ppo;
  ppo.learning_rate = table.number("learning_rate", ppo.learning_rate, {0.0, 1.0, true});
  ppo.final_learning_rate = table.number("final_learning_rate", ppo.learning_rate, {0.0, 1.0});
  ppo.target_kl = table.number("target_kl", ppo.target_kl, non_negative);
  ppo.epochs = static_cast<int>(table.integer("epochs", ppo.epochs, 0, 1000));
  ppo.minibatch_size = table.integer("minibatch_size", ppo.minibatch_size, 1, 10000000);
  ppo.clip = table.number("clip", ppo.clip, {0.0, 1.0, true});
  ppo.value_coef = table.number("value_coef", ppo.value_coef, non_negative);
  ppo.entropy_coef = table.number("entropy_coef", ppo.entropy_coef, non_negative);
  ppo.gamma = table.number("gamma", ppo.gamma, unit_interval);
  ppo.gae_lambda = table.number("gae_lambda", ppo.gae_lambda, unit_interval);
  ppo.max_grad_norm = table.number("max_grad_norm", ppo.max_grad_norm, positive);
  ppo.adam_beta1 = table.number("adam_beta1", ppo.adam_beta1, {0.0, 1.0});
  ppo.adam_beta2 = table.number("adam_beta2", ppo.adam_beta2, {0.0, 1.0});
  ppo.adam_epsilon = table.number("adam_epsilon", ppo.adam_epsilon, positive);
  ppo.reward_scale = table.number("reward_scale", ppo.reward_scale, positive);
  ppo.budget_price = table.number("budget_price", ppo.budget_price, {0.0, 100.0});
  ppo.lagrangian = table.boolean("lagrangian", ppo.lagrangian);
  ppo.counterfactual = table.boolean("counterfactual", ppo.counterfactual);
  ppo.normalize_advantages = table.boolean("normalize_advantages", ppo.normalize_advantages);
  table.finish();
  return ppo;
}

EvaluationSection parse_evaluation(const TomlTable& table) {
  EvaluationSection evaluation;
  evaluation.validation_worlds =
      table.integer("validation_worlds", evaluation.validation_worlds, 1, max_evaluation_worlds);
  evaluation.test_worlds = table.integer("test_worlds", evaluation.test_worlds, 1, max_evaluation_worlds);
  evaluation.tuning_worlds = table.integer("tuning_worlds", evaluation.tuning_worlds, 1, max_evaluation_worlds);
  evaluation.test_seed = static_cast<std::uint64_t>(table.integer(
      "test_seed", static_cast<std::int64_t>(evaluation.test_seed), 0, static_cast<std::int64_t>(max_seed)));
  evaluation.every = static_cast<int>(table.integer("every", evaluation.every, 1, 1000000));
  evaluation.bootstrap_samples =
      static_cast<int>(table.integer("bootstrap_samples", evaluation.bootstrap_samples, 100, 1000000));
  evaluation.score_floor = table.number("score_floor", evaluation.score_floor, {0.0, 1.0, true});
  evaluation.robust_roas = table.number("robust_roas", evaluation.robust_roas, non_negative);
  evaluation.robust_share = table.number("robust_share", evaluation.robust_share, unit_interval);
  table.finish();
  return evaluation;
}

}  // namespace

JobConfig parse_job(const std::string& text, const std::string& file) {
  const toml::value document = parse_toml_text(text, file);
  const TomlTable root(document, file, "");
  JobConfig job;
  job.file = file;
  job.text = text;
  job.run = parse_run(root.table("run"));
  job.world = parse_world(root.table("world"), file);
  if (auto table = root.optional_table("sampling")) job.sampling = parse_sampling(*table);
  if (auto table = root.optional_table("policy")) job.policy = parse_policy(*table);
  if (auto table = root.optional_table("ppo")) job.ppo = parse_ppo(*table);
  if (auto table = root.optional_table("evaluation")) job.evaluation = parse_evaluation(*table);
  root.finish();
  try {
    resolve_batch_size(job);
    validate_job(job);
  } catch (const InputError& error) {
    throw InputError(file + ": " + error.what());
  }
  return job;
}

JobConfig load_job(const std::string& path) { return parse_job(read_text_file(path), path); }

void validate_job(const JobConfig& job) {
  if (job.run.seed > max_seed)
    throw InputError("'run.seed' = " + std::to_string(job.run.seed) + " is out of range: must be in [0, " +
                     std::to_string(max_seed) + "]");
  if (job.run.worlds < 1 || job.run.worlds >= validation_world_base)
    throw InputError("'run.worlds' = " + std::to_string(job.run.worlds) + " is out of range: must be in [1, " +
                     std::to_string(validation_world_base - 1) + "]");
  if (job.run.iterations < 1) throw InputError("'run.iterations' must be at least 1");
  if (job.ppo.minibatch_size > job.sampling.batch_size)
    throw InputError("'ppo.minibatch_size' (" + std::to_string(job.ppo.minibatch_size) +
                     ") is larger than 'sampling.batch_size' (" + std::to_string(job.sampling.batch_size) +
                     "); make it at most the batch size");
  if (job.sampling.mode == SamplingMode::stratified && job.sampling.batch_size < 2)
    throw InputError("'sampling.batch_size' must be at least 2 in stratified mode (one row per stratum)");
  if (job.sampling.mode == SamplingMode::stratified &&
      job.sampling.min_crisis_share * static_cast<double>(job.sampling.batch_size) >
          static_cast<double>(job.sampling.batch_size) - 1)
    throw InputError(
        "'sampling.min_crisis_share' leaves no room for regular experiences; lower it below 1 - 1/batch_size");
}

void resolve_batch_size(JobConfig& job) {
  if (job.sampling.batch_per_world == 0) return;
  const std::int64_t rows = job.sampling.batch_per_world * job.run.worlds;
  if (job.run.worlds > max_batch_size / job.sampling.batch_per_world || rows > max_batch_size)
    throw InputError("'sampling.batch_per_world' x 'run.worlds' = " + std::to_string(job.sampling.batch_per_world) +
                     " x " + std::to_string(job.run.worlds) + " rows is above the batch limit of " +
                     std::to_string(max_batch_size));
  job.sampling.batch_size = rows;
}

std::string default_output_path(const JobConfig& job) {
  return job.run.output.empty() ? job.run.name + ".h5" : job.run.output;
}

double beta_at(const SamplingSection& sampling, int iteration, int iterations) {
  // beta reaches beta_end at iteration beta_anneal_iterations (default: the last iteration).
  const int span = sampling.beta_anneal_iterations > 0 ? sampling.beta_anneal_iterations : iterations - 1;
  const double progress = span <= 0 ? 1.0 : std::min(1.0, static_cast<double>(iteration) / span);
  return sampling.beta_start + (sampling.beta_end - sampling.beta_start) * progress;
}

std::string describe(const JobConfig& job) {
  std::ostringstream out;
  const auto list = [](const auto& values) {
    std::string text;
    for (const auto& value : values) text += (text.empty() ? "" : ", ") + std::to_string(value);
    return "[" + text + "]";
  };
  out << "job " << job.file << "\n"
      << "[run]        name=" << job.run.name << " seed=" << job.run.seed << " worlds=" << job.run.worlds
      << " iterations=" << job.run.iterations << " episodes_per_iteration=" << job.run.episodes_per_iteration
      << " output=" << default_output_path(job) << " checkpoint_every=" << job.run.checkpoint_every
      << " checkpoint_minutes=" << job.run.checkpoint_minutes
      << " max_experiences_per_rank=" << job.run.max_experiences_per_rank << " batch_deflate=" << job.run.batch_deflate
      << "\n"
      << "[world]      priors=" << job.world.priors_path << " horizon_days=" << job.world.horizon_days
      << " reward=" << to_string(job.world.reward) << "\n"
      << "[sampling]   mode=" << to_string(job.sampling.mode) << " batch_size=" << job.sampling.batch_size
      << " batch_per_world=" << job.sampling.batch_per_world << " crisis_weight=" << job.sampling.crisis_weight
      << " alpha=" << job.sampling.alpha << " beta=" << job.sampling.beta_start << "->" << job.sampling.beta_end
      << " min_crisis_share=" << job.sampling.min_crisis_share
      << " advantage_priority=" << (job.sampling.advantage_priority ? "true" : "false") << "\n"
      << "[events]     precedence=";
  for (EventSource source : job.sampling.events.precedence) out << to_string(source) << " ";
  out << "value_percentile=" << job.sampling.events.value_percentile << "\n"
      << "[policy]     hidden=" << list(job.policy.hidden) << " value_hidden=" << list(job.policy.value_hidden)
      << " init_log_std=" << job.policy.init_log_std << " bid_prior=" << to_string(job.policy.bid_prior)
      << " prior_offset=" << job.policy.prior_offset << "\n"
      << "[ppo]        learning_rate=" << job.ppo.learning_rate << "->" << job.ppo.final_learning_rate
      << " target_kl=" << job.ppo.target_kl << " epochs=" << job.ppo.epochs
      << " minibatch_size=" << job.ppo.minibatch_size << " clip=" << job.ppo.clip << " gamma=" << job.ppo.gamma
      << " gae_lambda=" << job.ppo.gae_lambda << " reward_scale=" << job.ppo.reward_scale
      << " budget_price=" << job.ppo.budget_price
      << " normalize_advantages=" << (job.ppo.normalize_advantages ? "true" : "false") << "\n"
      << "[evaluation] validation_worlds=" << job.evaluation.validation_worlds
      << " test_worlds=" << job.evaluation.test_worlds << " tuning_worlds=" << job.evaluation.tuning_worlds
      << " test_seed=" << job.evaluation.test_seed << " bootstrap_samples=" << job.evaluation.bootstrap_samples
      << " score_floor=" << job.evaluation.score_floor << " every=" << job.evaluation.every
      << " robust_roas=" << job.evaluation.robust_roas << " robust_share=" << job.evaluation.robust_share << "\n";
  return out.str();
}

}  // namespace manyworlds
