// Tests of job-file parsing and validation: shipped jobs, nearest-key hints, type/range errors, beta schedule.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "manyworlds/core/config.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/random.hpp"

namespace manyworlds {
namespace {

const std::string jobs_dir = MANYWORLDS_SOURCE_DIR "/jobs";

// A minimal valid job; tests append or replace lines.
const std::string minimal_job =
    "[run]\n"                        // line 1
    "name = \"t\"\n"                 // 2
    "seed = 5\n"                     // 3
    "worlds = 8\n"                   // 4
    "\n"                             // 5
    "[world]\n"                      // 6
    "priors = \"priors/x.toml\"\n";  // 7

template <class Body>
std::string config_error_of(Body body) {
  try {
    body();
  } catch (const InputError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    return message;
  }
  ADD_FAILURE() << "no InputError thrown";
  return "";
}

std::string job_error(const std::string& text) {
  return config_error_of([&] { parse_job(text, "job.toml"); });
}

TEST(ConfigJobs, QuickstartParses) {
  const JobConfig job = load_job(jobs_dir + "/quickstart.toml");
  EXPECT_EQ(job.file, jobs_dir + "/quickstart.toml");
  EXPECT_NE(job.text.find("[run]"), std::string::npos);
  EXPECT_EQ(job.run.name, "quickstart");
  EXPECT_EQ(job.run.seed, 20261121u);
  EXPECT_EQ(job.run.worlds, 128);
  EXPECT_EQ(job.run.iterations, 6);
  EXPECT_EQ(job.run.episodes_per_iteration, 1);
  EXPECT_EQ(job.run.output, "quickstart.h5");
  EXPECT_EQ(job.world.priors, "priors/default.toml");
  // Relative priors paths resolve against the job file's folder.
  EXPECT_EQ(std::filesystem::path(job.world.priors_path), std::filesystem::path(jobs_dir) / "priors/default.toml");
  EXPECT_TRUE(std::filesystem::exists(job.world.priors_path));
  EXPECT_DOUBLE_EQ(job.world.horizon_days, 1.0);
  EXPECT_EQ(job.sampling.mode, SamplingMode::proportional);
  EXPECT_EQ(job.sampling.batch_size, 8192);
  EXPECT_DOUBLE_EQ(job.sampling.crisis_weight, 5.0);
  EXPECT_DOUBLE_EQ(job.sampling.alpha, 0.6);
  EXPECT_DOUBLE_EQ(job.sampling.beta_start, 0.4);
  EXPECT_DOUBLE_EQ(job.sampling.beta_end, 1.0);
  EXPECT_EQ(job.ppo.epochs, 4);
  EXPECT_EQ(job.ppo.minibatch_size, 1024);
  EXPECT_DOUBLE_EQ(job.ppo.learning_rate, 0.001);
  EXPECT_EQ(job.evaluation.validation_worlds, 32);
  EXPECT_EQ(job.evaluation.every, 3);
  // Sections the file leaves out keep their defaults.
  EXPECT_EQ(job.policy.hidden, (std::vector<int>{32, 32}));
  EXPECT_EQ(job.sampling.events.precedence, std::vector<EventSource>{EventSource::ground_truth});
}

TEST(ConfigJobs, DefaultJobParses) {
  const JobConfig job = load_job(jobs_dir + "/default.toml");
  EXPECT_EQ(job.run.name, "default");
  EXPECT_EQ(job.run.seed, 1u);
  EXPECT_EQ(job.run.worlds, 256);
  EXPECT_EQ(job.run.iterations, 50);
  EXPECT_EQ(job.run.max_experiences_per_rank, 2500000);  // sized so that one rank can run it
  EXPECT_DOUBLE_EQ(job.world.horizon_days, 7.0);
  EXPECT_TRUE(std::filesystem::exists(job.world.priors_path));
  EXPECT_EQ(job.sampling.batch_size, 65536);
  EXPECT_DOUBLE_EQ(job.sampling.crisis_weight, 1.0);
  EXPECT_TRUE(job.sampling.advantage_priority);
  EXPECT_DOUBLE_EQ(job.sampling.beta_start, 1.0);
  EXPECT_DOUBLE_EQ(job.sampling.min_crisis_share, 0.05);
  EXPECT_EQ(job.sampling.events.keywords, (std::vector<std::string>{"crisis", "urgent", "emergency", "high_priority"}));
  EXPECT_DOUBLE_EQ(job.sampling.events.value_percentile, 90.0);
  EXPECT_EQ(job.policy.value_hidden, (std::vector<int>{32, 32}));
  EXPECT_DOUBLE_EQ(job.policy.init_log_std, -1.5);
  EXPECT_EQ(job.policy.bid_prior, BidPrior::adaptive_pacing);
  EXPECT_DOUBLE_EQ(job.ppo.learning_rate, 0.0005);
  EXPECT_DOUBLE_EQ(job.ppo.final_learning_rate, 0.0);
  EXPECT_EQ(job.ppo.minibatch_size, 8192);
  EXPECT_DOUBLE_EQ(job.ppo.gamma, 0.0);
  EXPECT_DOUBLE_EQ(job.ppo.gae_lambda, 0.5);
  EXPECT_TRUE(job.ppo.lagrangian);
  EXPECT_TRUE(job.ppo.counterfactual);
  EXPECT_EQ(job.evaluation.validation_worlds, 128);
  EXPECT_EQ(job.evaluation.test_worlds, 640);
  EXPECT_DOUBLE_EQ(job.evaluation.robust_share, 0.7);
  EXPECT_EQ(default_output_path(job), "default.h5");
}

TEST(ConfigJobs, MinimalJobTakesTheDocumentedDefaults) {
  const JobConfig job = parse_job(minimal_job, "/some/dir/job.toml");
  EXPECT_EQ(job.run.seed, 5u);
  EXPECT_EQ(job.run.iterations, 10);
  EXPECT_EQ(job.run.max_experiences_per_rank, 1000000);
  EXPECT_EQ(job.world.priors_path, "/some/dir/priors/x.toml");
  EXPECT_DOUBLE_EQ(job.world.horizon_days, 7.0);
  EXPECT_EQ(job.sampling.mode, SamplingMode::proportional);
  EXPECT_EQ(job.sampling.batch_size, 8192);
  EXPECT_EQ(job.ppo.minibatch_size, 1024);
  EXPECT_DOUBLE_EQ(job.ppo.gamma, 0.999);
  EXPECT_DOUBLE_EQ(job.ppo.gae_lambda, 0.5);
  EXPECT_DOUBLE_EQ(job.ppo.reward_scale, 0.02);
  EXPECT_TRUE(job.ppo.normalize_advantages);
  EXPECT_EQ(default_output_path(job), "t.h5");
  // An absolute priors path is kept as written.
  const JobConfig absolute = parse_job("[run]\n[world]\npriors = \"/abs/p.toml\"\n", "/elsewhere/j.toml");
  EXPECT_EQ(absolute.world.priors_path, "/abs/p.toml");
  EXPECT_EQ(absolute.run.seed, 1u);
  EXPECT_EQ(absolute.run.name, "manyworlds");
  const std::string text = describe(job);
  EXPECT_NE(text.find("seed=5"), std::string::npos) << text;
  EXPECT_NE(text.find("priors=/some/dir/priors/x.toml"), std::string::npos) << text;
  EXPECT_NE(text.find("mode=proportional"), std::string::npos) << text;
}

TEST(ConfigJobs, EnumerationsHaveNames) {
  EXPECT_STREQ(to_string(SamplingMode::proportional), "proportional");
  EXPECT_STREQ(to_string(SamplingMode::stratified), "stratified");
  EXPECT_STREQ(to_string(SamplingMode::without_replacement), "without_replacement");
  EXPECT_STREQ(to_string(EventSource::ground_truth), "ground_truth");
  EXPECT_STREQ(to_string(EventSource::keywords), "keywords");
  EXPECT_STREQ(to_string(EventSource::value_percentile), "value_percentile");
  const JobConfig job = parse_job(minimal_job +
                                      "[sampling]\nmode = \"without_replacement\"\n"
                                      "[sampling.events]\nprecedence = [\"keywords\", \"value_percentile\"]\n",
                                  "job.toml");
  EXPECT_EQ(job.sampling.mode, SamplingMode::without_replacement);
  EXPECT_EQ(job.sampling.events.precedence,
            (std::vector<EventSource>{EventSource::keywords, EventSource::value_percentile}));
}

TEST(ConfigJobs, RewardModeDefaultsToExpectedAndIsChecked) {
  EXPECT_EQ(parse_job(minimal_job, "job.toml").world.reward, RewardMode::expected);
  EXPECT_EQ(parse_job(minimal_job + "reward = \"realized\"\n", "job.toml").world.reward, RewardMode::realized);
  EXPECT_EQ(parse_job(minimal_job + "reward = \"expected\"\n", "job.toml").world.reward, RewardMode::expected);
  EXPECT_STREQ(to_string(RewardMode::realized), "realized");
  EXPECT_STREQ(to_string(RewardMode::expected), "expected");
  EXPECT_EQ(job_error(minimal_job + "reward = \"actual\"\n"),
            "job.toml:8: 'world.reward' = 'actual' is not one of 'realized', 'expected'");
  EXPECT_NE(describe(parse_job(minimal_job + "reward = \"realized\"\n", "job.toml")).find("reward=realized"),
            std::string::npos);
}

TEST(ConfigErrors, UnknownKeysNameTheNearestValidKey) {
  EXPECT_EQ(job_error("[run]\nseeed = 3\n[world]\npriors = \"p\"\n"),
            "job.toml:2: 'run.seeed' is not a valid key; did you mean 'run.seed'?");
  EXPECT_EQ(job_error(minimal_job + "horizon_dys = 3\n"),
            "job.toml:8: 'world.horizon_dys' is not a valid key; did you mean 'world.horizon_days'?");
  EXPECT_EQ(job_error(minimal_job + "[sampling]\nbatch_sise = 10\n"),
            "job.toml:9: 'sampling.batch_sise' is not a valid key; did you mean 'sampling.batch_size'?");
  EXPECT_EQ(job_error(minimal_job + "[ppo]\nlearning_rat = 0.1\n"),
            "job.toml:9: 'ppo.learning_rat' is not a valid key; did you mean 'ppo.learning_rate'?");
  EXPECT_EQ(job_error(minimal_job + "[sampling.events]\nkeyword = [\"x\"]\n"),
            "job.toml:9: 'sampling.events.keyword' is not a valid key; did you mean 'sampling.events.keywords'?");
  // A misspelt section at the top level.
  EXPECT_EQ(job_error(minimal_job + "[polcy]\nhidden = [4]\n"),
            "job.toml:8: 'polcy' is not a valid key; did you mean 'policy'?");
}

TEST(ConfigErrors, MissingSectionsAndKeys) {
  EXPECT_EQ(job_error("[world]\npriors = \"p\"\n"),
            "job.toml:1: 'run' is missing; add it at the top level of the file");
  EXPECT_EQ(job_error("[run]\nseed = 1\n[world]\nhorizon_days = 2\n"),
            "job.toml:3: 'world.priors' is missing; add it to the [world] table");
}

TEST(ConfigErrors, TypeErrorsNameTheType) {
  EXPECT_EQ(job_error("[run]\nworlds = \"many\"\n[world]\npriors = \"p\"\n"),
            "job.toml:2: 'run.worlds' must be an integer, found a string");
  EXPECT_EQ(job_error("[run]\nseed = 1.5\n[world]\npriors = \"p\"\n"),
            "job.toml:2: 'run.seed' must be an integer, found a float");
  EXPECT_EQ(job_error("[run]\n[world]\npriors = 3\n"), "job.toml:3: 'world.priors' must be a string, found an integer");
  EXPECT_EQ(job_error(minimal_job + "horizon_days = \"week\"\n"),
            "job.toml:8: 'world.horizon_days' must be a number, found a string");
  EXPECT_EQ(job_error(minimal_job + "[sampling]\nadvantage_priority = 1\n"),
            "job.toml:9: 'sampling.advantage_priority' must be true or false, found an integer");
  EXPECT_EQ(job_error(minimal_job + "[policy]\nhidden = [32, \"wide\"]\n"),
            "job.toml:9: 'policy.hidden' must be a number, found a string");
  EXPECT_EQ(job_error("run = 3\n[world]\npriors = \"p\"\n"), "job.toml:1: 'run' must be a table, found an integer");
}

TEST(ConfigErrors, RangeErrorsStateTheRange) {
  EXPECT_EQ(job_error("[run]\nworlds = 0\n[world]\npriors = \"p\"\n"),
            "job.toml:2: 'run.worlds' = 0 is out of range: must be in [1, 2147483647]");
  EXPECT_EQ(job_error("[run]\nseed = 281474976710656\n[world]\npriors = \"p\"\n"),  // 2^48
            "job.toml:2: 'run.seed' = 281474976710656 is out of range: must be in [0, 281474976710655]");
  EXPECT_EQ(job_error("[run]\nseed = -1\n[world]\npriors = \"p\"\n"),
            "job.toml:2: 'run.seed' = -1 is out of range: must be in [0, 281474976710655]");
  EXPECT_EQ(job_error(minimal_job + "horizon_days = 0\n"),
            "job.toml:8: 'world.horizon_days' = 0 is out of range: must be in [0.01, 366]");
  EXPECT_EQ(job_error(minimal_job + "[sampling]\nbeta_start = 1.5\n"),
            "job.toml:9: 'sampling.beta_start' = 1.5 is out of range: must be in [0, 1]");
  EXPECT_EQ(job_error(minimal_job + "[sampling]\ncrisis_weight = 0\n"),
            "job.toml:9: 'sampling.crisis_weight' = 0 is out of range: must be > 0");
  EXPECT_EQ(job_error(minimal_job + "[ppo]\nclip = 1.5\n"),
            "job.toml:9: 'ppo.clip' = 1.5 is out of range: must be in (0, 1]");
  EXPECT_EQ(job_error(minimal_job + "[policy]\nhidden = [32.5]\n"),
            "job.toml:9: 'policy.hidden' must contain whole numbers");
  EXPECT_EQ(job_error(minimal_job + "[policy]\nhidden = []\n"),
            "job.toml:9: 'policy.hidden' must list at least one layer width");
  EXPECT_EQ(job_error(minimal_job + "[sampling]\nmode = \"greedy\"\n"),
            "job.toml:9: 'sampling.mode' = 'greedy' is not one of 'proportional', 'stratified', "
            "'without_replacement'");
  EXPECT_EQ(job_error(minimal_job + "[sampling.events]\nprecedence = [\"magic\"]\n"),
            "job.toml:9: 'sampling.events.precedence' contains 'magic'; use 'ground_truth', 'keywords' or "
            "'value_percentile'");
  EXPECT_EQ(job_error(minimal_job + "[sampling.events]\nprecedence = [\"keywords\", \"keywords\"]\n"),
            "job.toml:9: 'sampling.events.precedence' lists 'keywords' twice");
  EXPECT_EQ(job_error(minimal_job + "[sampling.events]\nprecedence = []\n"),
            "job.toml:9: 'sampling.events.precedence' must name at least one source");
}

TEST(ConfigErrors, CrossFieldRulesAreCheckedAtParseTime) {
  EXPECT_EQ(job_error(minimal_job + "[sampling]\nbatch_size = 100\n[ppo]\nminibatch_size = 101\n"),
            "job.toml: 'ppo.minibatch_size' (101) is larger than 'sampling.batch_size' (100); make it at most "
            "the batch size");
  EXPECT_NO_THROW(parse_job(minimal_job + "[sampling]\nbatch_size = 100\n[ppo]\nminibatch_size = 100\n", "job.toml"));
  EXPECT_NE(job_error(minimal_job + "[sampling]\nmode = \"stratified\"\nbatch_size = 10\nmin_crisis_share = 0.95\n"
                                    "[ppo]\nminibatch_size = 10\n")
                .find("'sampling.min_crisis_share' leaves no room for regular experiences"),
            std::string::npos);
  EXPECT_NO_THROW(parse_job(minimal_job + "[sampling]\nmode = \"stratified\"\nbatch_size = 10\nmin_crisis_share = 0.9\n"
                                          "[ppo]\nminibatch_size = 10\n",
                            "job.toml"));
}

TEST(ConfigBatch, BatchPerWorldMakesTheBatchGrowWithTheWorlds) {
  JobConfig job = parse_job(minimal_job + "[sampling]\nbatch_per_world = 300\n", "job.toml");
  EXPECT_EQ(job.sampling.batch_per_world, 300);
  EXPECT_EQ(job.sampling.batch_size, 300 * 8);
  job.run.worlds = 40;  // a --worlds override
  resolve_batch_size(job);
  EXPECT_EQ(job.sampling.batch_size, 300 * 40);
  job.run.worlds = 100000;
  EXPECT_NE(config_error_of([&] { resolve_batch_size(job); }).find("above the batch limit of 10000000"),
            std::string::npos);
  EXPECT_EQ(job_error(minimal_job + "[sampling]\nbatch_size = 100\nbatch_per_world = 3\n"),
            "job.toml:10: 'sampling.batch_per_world' cannot be set together with 'batch_size' (the batch is one or "
            "the other)");
  // The minibatch rule applies to the resolved batch: 8 worlds x 100 rows.
  EXPECT_NE(job_error(minimal_job + "[sampling]\nbatch_per_world = 100\n[ppo]\nminibatch_size = 801\n")
                .find("'ppo.minibatch_size' (801) is larger than 'sampling.batch_size' (800)"),
            std::string::npos);
  const JobConfig fixed =
      parse_job(minimal_job + "[sampling]\nbatch_size = 100\n[ppo]\nminibatch_size = 10\n", "job.toml");
  EXPECT_EQ(fixed.sampling.batch_per_world, 0);
  EXPECT_EQ(fixed.sampling.batch_size, 100);
}

TEST(ConfigValidate, RulesHoldAfterOverrides) {
  JobConfig job = parse_job(minimal_job, "job.toml");
  EXPECT_NO_THROW(validate_job(job));

  JobConfig bad = job;
  bad.run.seed = max_seed + 1;
  EXPECT_NE(config_error_of([&] { validate_job(bad); }).find("'run.seed' = 281474976710656 is out of range"),
            std::string::npos);
  bad = job;
  bad.run.seed = max_seed;
  EXPECT_NO_THROW(validate_job(bad));
  bad = job;
  bad.run.worlds = 0;
  EXPECT_NE(config_error_of([&] { validate_job(bad); }).find("'run.worlds' = 0 is out of range"), std::string::npos);
  bad = job;
  bad.run.worlds = validation_world_base;  // would collide with held-out world ids
  EXPECT_NE(config_error_of([&] { validate_job(bad); }).find("'run.worlds' = 2147483648 is out of range"),
            std::string::npos);
  bad.run.worlds = validation_world_base - 1;
  EXPECT_NO_THROW(validate_job(bad));
  bad = job;
  bad.run.iterations = 0;
  EXPECT_EQ(config_error_of([&] { validate_job(bad); }), "'run.iterations' must be at least 1");
  bad = job;
  bad.ppo.minibatch_size = bad.sampling.batch_size + 1;
  EXPECT_NE(config_error_of([&] { validate_job(bad); }).find("'ppo.minibatch_size' (8193) is larger"),
            std::string::npos);
  bad = job;
  bad.sampling.mode = SamplingMode::stratified;
  bad.sampling.batch_size = 512;
  bad.ppo.minibatch_size = 512;
  bad.sampling.min_crisis_share = 1.0;
  EXPECT_THROW(validate_job(bad), InputError);
  bad.sampling.min_crisis_share = 511.0 / 512.0;  // leaves exactly one regular slot
  EXPECT_NO_THROW(validate_job(bad));
  bad.sampling.mode = SamplingMode::proportional;
  bad.sampling.min_crisis_share = 1.0;  // only stratified sampling reserves crisis slots
  EXPECT_NO_THROW(validate_job(bad));
  // Stratified batches need a row per stratum.
  bad = job;
  bad.sampling.mode = SamplingMode::stratified;
  bad.sampling.batch_size = 1;
  bad.sampling.min_crisis_share = 0.0;
  bad.ppo.minibatch_size = 1;
  EXPECT_EQ(config_error_of([&] { validate_job(bad); }),
            "'sampling.batch_size' must be at least 2 in stratified mode (one row per stratum)");
  bad.sampling.mode = SamplingMode::proportional;
  EXPECT_NO_THROW(validate_job(bad));
}

TEST(ConfigBeta, AnnealsLinearlyToBetaEnd) {
  SamplingSection sampling;
  sampling.beta_start = 0.4;
  sampling.beta_end = 1.0;
  sampling.beta_anneal_iterations = 0;  // anneal over the run: reaches beta_end at the last iteration
  EXPECT_DOUBLE_EQ(beta_at(sampling, 0, 11), 0.4);
  EXPECT_DOUBLE_EQ(beta_at(sampling, 5, 11), 0.7);
  EXPECT_DOUBLE_EQ(beta_at(sampling, 10, 11), 1.0);
  EXPECT_DOUBLE_EQ(beta_at(sampling, 25, 11), 1.0);  // a resumed, extended run stays at beta_end
  EXPECT_DOUBLE_EQ(beta_at(sampling, 1, 2), 1.0);
  EXPECT_DOUBLE_EQ(beta_at(sampling, 0, 1), 1.0);  // a one-iteration run uses beta_end (unbiased)
  sampling.beta_anneal_iterations = 4;             // explicit span
  EXPECT_DOUBLE_EQ(beta_at(sampling, 0, 100), 0.4);
  EXPECT_DOUBLE_EQ(beta_at(sampling, 1, 100), 0.55);
  EXPECT_DOUBLE_EQ(beta_at(sampling, 2, 100), 0.7);
  EXPECT_DOUBLE_EQ(beta_at(sampling, 4, 100), 1.0);
  EXPECT_DOUBLE_EQ(beta_at(sampling, 50, 100), 1.0);
  // Monotone between the ends.
  double previous = 0;
  for (int i = 0; i < 12; ++i) {
    const double beta = beta_at(sampling, i, 100);
    EXPECT_GE(beta, previous);
    EXPECT_LE(beta, 1.0);
    previous = beta;
  }
  sampling.beta_start = 1.0;  // no annealing needed: constant
  EXPECT_DOUBLE_EQ(beta_at(sampling, 0, 10), 1.0);
  EXPECT_DOUBLE_EQ(beta_at(sampling, 3, 10), 1.0);
}

}  // namespace
}  // namespace manyworlds
