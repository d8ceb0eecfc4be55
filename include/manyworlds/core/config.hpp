// The job configuration: types, parsing from TOML and validation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace manyworlds {

enum class SamplingMode : int { proportional = 0, stratified = 1, without_replacement = 2 };
enum class EventSource : int { ground_truth = 0, keywords = 1, value_percentile = 2 };
// What an experience's reward is: the realized conversion value minus cost, or its expectation
// given the auction's outcome (slot and price), a lower-variance reward for the same objective.
enum class RewardMode : int { realized = 0, expected = 1 };
// A known bidding rule the policy's bid mean starts from: none (the network alone), value (the
// observed value estimate per click x exp(prior_offset)) or adaptive_pacing (that / (1 + mu), mu from
// the observation's pacing pressure); the network learns a correction on top of it.
enum class BidPrior : int { none = 0, value = 1, adaptive_pacing = 2 };

const char* to_string(SamplingMode mode);
const char* to_string(EventSource source);
const char* to_string(RewardMode mode);
const char* to_string(BidPrior prior);

struct RunSection {
  std::string name = "manyworlds";
  std::uint64_t seed = 1;
  std::int64_t worlds = 128;
  int iterations = 10;
  int episodes_per_iteration = 1;
  std::string output;                // default: "<name>.h5" in the working directory
  int checkpoint_every = 0;          // iterations between checkpoints; 0 = none by count
  double checkpoint_minutes = 15.0;  // minutes between checkpoints (at iteration ends); 0 = none by time
  std::int64_t max_experiences_per_rank = 1000000;
  int batch_deflate = 0;  // /batches compression: 0 none (fastest), 1..9 shuffle + deflate level
};

struct WorldSection {
  std::string priors;         // path as written in the job file
  std::string priors_path;    // resolved against the job file's folder
  double horizon_days = 7.0;  // one episode = one campaign of this many days
  RewardMode reward = RewardMode::expected;
};

struct EventTypeSection {
  std::vector<EventSource> precedence{EventSource::ground_truth};
  std::vector<std::string> keywords{"crisis", "urgent", "emergency", "high_priority"};
  double value_percentile = 90.0;  // experiences above this percentile of conversion value are crisis events
};

struct SamplingSection {
  SamplingMode mode = SamplingMode::proportional;
  std::int64_t batch_size = 8192;    // rows per iteration (batch_per_world x run.worlds when that is set)
  std::int64_t batch_per_world = 0;  // > 0: the batch grows with the worlds, batch_size follows
  double crisis_weight = 5.0;        // event-type weight of crisis experiences (regular: 1)
  double alpha = 0.6;                // priority exponent
  double beta_start = 0.4;           // importance-weight exponent at iteration 0 (proportional mode)
  double beta_end = 1.0;             // ... reached at beta_anneal_iterations
  int beta_anneal_iterations = 0;    // 0 = the number of iterations of the run
  bool advantage_priority = false;   // multiply the priority by |advantage| + priority_epsilon
  double priority_epsilon = 0.01;
  double min_crisis_share = 0.05;  // stratified mode: guaranteed crisis share of each batch
  EventTypeSection events;
};

struct PolicySection {
  std::vector<int> hidden{32, 32};        // policy trunk layer widths
  std::vector<int> value_hidden{32, 32};  // value network layer widths
  double init_log_std = -0.7;             // initial log standard deviation of the log bid multiplier
  double max_abs_log_multiplier = 3.0;    // bids are clamped to reference * exp(+-this)
  BidPrior bid_prior = BidPrior::none;    // what the bid mean adds to the network's output (PolicyModel::mean_offset)
  double prior_offset = -0.5;             // log multiplier the value and adaptive-pacing priors add
};

struct PpoSection {
  double learning_rate = 3e-4;
  double final_learning_rate = -1;  // annealed linearly to this by the last iteration; < 0 = constant
  double target_kl = 0;             // an update stops its epochs once an epoch's approximate KL exceeds this; 0 = off
  int epochs = 4;
  std::int64_t minibatch_size = 1024;
  double clip = 0.2;
  double value_coef = 0.5;
  double entropy_coef = 0.003;
  double gamma = 0.999;     // long horizon: a bid's cost to the budget shows in later values
  double gae_lambda = 0.5;  // short traces: advantages lean on the value head, not on noisy returns
  double max_grad_norm = 0.5;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double reward_scale = 0.02;        // rewards (currency units) are multiplied by this before GAE (values of order 1)
  double budget_price = 0;           // potential-based budget shaping kappa (see RewardSpec); 0 = none
  bool lagrangian = false;           // charge expected costs at 1 + the pacing dual (see RewardSpec)
  bool counterfactual = false;       // advantages from the same auction priced at the mean bid (see RewardSpec)
  bool normalize_advantages = true;  // standardise each batch's advantages (importance-weighted statistics)
};

// Three disjoint sets of worlds from the same priors judge the policy: training worlds (the first
// tuning_worlds of them tune the baselines' constants), validation worlds (every choice: the reported
// snapshot) and test worlds (reported only, drawn with their own seed).
struct EvaluationSection {
  std::int64_t validation_worlds = 64;  // evaluated every `every` iterations; choose the reported snapshot
  std::int64_t test_worlds = 256;       // evaluated once, after training; the reported figures
  std::int64_t tuning_worlds = 32;      // training worlds 0 .. tuning_worlds-1 tune the baselines
  std::uint64_t test_seed = 0;          // seed of the test worlds; 0 = the run's seed
  int every = 5;                        // validate every N iterations (and after the last)
  int bootstrap_samples = 2000;         // resamples of the paired bootstrap over worlds
  double score_floor = 0.05;            // normalised score's denominator >= this x |hindsight return|
  double robust_roas = 1.0;             // a strategy succeeds in a world when its ROAS >= this
  double robust_share = 0.7;            // ... and is robust when it succeeds in at least this share
};

struct JobConfig {
  std::string file;  // path of the job file as given
  std::string text;  // its full text, stored in the output
  RunSection run;
  WorldSection world;
  SamplingSection sampling;
  PolicySection policy;
  PpoSection ppo;
  EvaluationSection evaluation;
};

// Parses and validates job text; every problem is an InputError naming file, line and key.
JobConfig parse_job(const std::string& text, const std::string& file);
// Reads and parses a job file.
JobConfig load_job(const std::string& path);
// Validates cross-field rules again after command-line overrides (seed, worlds, iterations).
void validate_job(const JobConfig& job);
// Sets sampling.batch_size to batch_per_world x run.worlds when batch_per_world is set (after
// parsing and again after a --worlds override). InputError if that exceeds the batch size limit.
void resolve_batch_size(JobConfig& job);
// The output path: the job's run.output or "<run.name>.h5".
std::string default_output_path(const JobConfig& job);
// beta for iteration `iteration` of the proportional sampler's schedule.
double beta_at(const SamplingSection& sampling, int iteration, int iterations);
// A human-readable dump of the resolved job (used by `validate`).
std::string describe(const JobConfig& job);

}  // namespace manyworlds
