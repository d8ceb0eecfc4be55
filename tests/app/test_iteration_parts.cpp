// The parts of a run iteration, each on its own through the serial collectives: against the layers they call.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "manyworlds/app/iteration_parts.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/learn/gae.hpp"
#include "manyworlds/learn/inference_policy.hpp"
#include "manyworlds/learn/ppo_loss.hpp"

namespace manyworlds {
namespace {

// The quickstart job cut down to three worlds and a small batch.
Job tiny_job() {
  JobOverrides overrides;
  overrides.worlds = 3;
  overrides.iterations = 4;
  Job job = load_job_with_priors(MANYWORLDS_SOURCE_DIR "/jobs/quickstart.toml", overrides);
  job.config.sampling.batch_size = 256;
  job.config.ppo.minibatch_size = 128;
  job.config.evaluation.validation_worlds = 2;
  job.config.evaluation.test_worlds = 2;
  job.config.evaluation.tuning_worlds = 2;
  job.config.evaluation.every = 2;
  return job;
}

bool same_bytes(const Experience& a, const Experience& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

class IterationParts : public ::testing::Test {
 protected:
  IterationParts() : job_(tiny_job()), model_(job_.config.policy, job_.priors.creatives) {}

  std::vector<World> worlds() const {
    return make_worlds(job_.priors, job_.config.run.seed, job_.config.world.horizon_days, 0, job_.config.run.worlds);
  }
  // Simulated, classified experiences of iteration `iteration` and their slices, from the parts.
  SimulatePart::Result simulate_and_classify(SimulatePart& simulate, int iteration,
                                             const std::vector<double>& parameters) {
    std::vector<World> local = worlds();
    SimulatePart::Result result = simulate.run(iteration, local, parameters);
    ClassifyPart(job_.config, job_.priors).run(simulate.experiences(), serial_);
    return result;
  }

  Job job_;
  PolicyModel model_;
  SerialCollectives serial_;
};

TEST_F(IterationParts, SimulateGivesExactlyTheRowsOfTheWorldsRunDirectly) {
  const TrainPart train(job_.config, model_);
  SimulatePart simulate(job_.config, model_, 2);
  std::vector<World> local = worlds();
  const int iteration = 1;
  const SimulatePart::Result result = simulate.run(iteration, local, train.parameters());

  // Each world on its own, episode by episode, then values and advantages as the run defines them.
  std::vector<World> direct = worlds();
  InferencePolicy policy(model_, train.parameters(), InferencePolicy::Mode::sample);
  std::vector<Experience> rows;
  const PpoSection& ppo = job_.config.ppo;
  for (std::size_t w = 0; w < direct.size(); ++w) {
    const std::size_t first = rows.size();
    const EpisodeStats stats = direct[w].run_episode(static_cast<std::uint32_t>(iteration), policy, rows, 1u << 24);
    EXPECT_EQ(result.summaries[w].stats.decisions, stats.decisions) << "world " << w;
    EXPECT_EQ(result.summaries[w].stats.reward, stats.reward) << "world " << w;
    EXPECT_EQ(result.slices[w].world, static_cast<std::int64_t>(w));
    EXPECT_EQ(result.slices[w].begin, static_cast<std::int64_t>(first));
    EXPECT_EQ(result.slices[w].end, static_cast<std::int64_t>(rows.size()));
    const std::span<Experience> episode(rows.data() + first, rows.size() - first);
    std::vector<float> values(episode.size());
    policy.values(episode.data(), episode.size(), values.data());
    double log_multipliers = 0;
    for (std::size_t i = 0; i < episode.size(); ++i) {
      episode[i].value_estimate = values[i];
      log_multipliers += episode[i].log_bid_multiplier;
    }
    compute_gae(episode, ppo.gamma, ppo.gae_lambda,
                {job_.config.world.reward, ppo.reward_scale, ppo.lagrangian, ppo.counterfactual, ppo.budget_price,
                 stats.budget});
    EXPECT_EQ(result.summaries[w].log_multiplier_sum, log_multipliers) << "world " << w;
  }
  ASSERT_GT(rows.size(), 100u);
  ASSERT_EQ(simulate.experiences().size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    ASSERT_TRUE(same_bytes(simulate.experiences()[i], rows[i])) << "row " << i;
}

TEST_F(IterationParts, SimulateRefusesMoreRowsThanTheBufferMayHold) {
  job_.config.run.max_experiences_per_rank = 10;
  const TrainPart train(job_.config, model_);
  SimulatePart simulate(job_.config, model_, 1);
  std::vector<World> local = worlds();
  EXPECT_THROW(simulate.run(0, local, train.parameters()), RuntimeFailure);
}

TEST_F(IterationParts, ClassifyTypesTheRowsAsTheEventTyperDoes) {
  const TrainPart train(job_.config, model_);
  SimulatePart simulate(job_.config, model_, 1);
  std::vector<World> local = worlds();
  simulate.run(0, local, train.parameters());
  std::vector<Experience> copy = simulate.experiences();
  const IdentificationCounts direct = EventTyper(job_.config.sampling.events, job_.priors.tags).classify(copy, serial_);
  const IdentificationCounts counts = ClassifyPart(job_.config, job_.priors).run(simulate.experiences(), serial_);
  EXPECT_EQ(counts.true_positive, direct.true_positive);
  EXPECT_EQ(counts.false_positive, direct.false_positive);
  EXPECT_EQ(counts.true_negative + counts.false_negative + counts.true_positive + counts.false_positive,
            static_cast<std::int64_t>(copy.size()));
  for (std::size_t i = 0; i < copy.size(); ++i) ASSERT_EQ(simulate.experiences()[i].event_type, copy[i].event_type);
}

TEST_F(IterationParts, SampleDrawsTheConfiguredBatchWithTheSamplersWeightsAndBehaviour) {
  const TrainPart train(job_.config, model_);
  SimulatePart simulate(job_.config, model_, 1);
  const int iteration = 1;
  const SimulatePart::Result simulated = simulate_and_classify(simulate, iteration, train.parameters());
  const SamplePart sample(job_.config, model_, job_.priors);
  const SampledBatch batch = sample.run(iteration, simulate.experiences(), simulated.slices, serial_);

  ASSERT_EQ(batch.rows.size(), static_cast<std::size_t>(job_.config.sampling.batch_size));
  EXPECT_EQ(batch.first_row, 0);
  const double beta = beta_at(job_.config.sampling, iteration, job_.config.run.iterations);
  ASSERT_GT(beta, 0.4);
  ASSERT_LT(beta, 1.0);
  EXPECT_EQ(batch.summary.beta, beta);
  const auto population = static_cast<double>(simulate.experiences().size());
  EXPECT_EQ(batch.summary.population, static_cast<std::int64_t>(population));
  for (const BatchRow& row : batch.rows) {
    // Proportional mode: w = (N P(i))^-beta, at most the largest possible weight.
    EXPECT_NEAR(row.weight, std::pow(population * row.probability, -beta), 1e-12 * row.weight);
    EXPECT_LE(row.weight, batch.summary.max_weight * (1 + 1e-12));
  }

  const BehaviourColumns behaviour = sample.behaviour_of(batch.rows, train.parameters());
  ASSERT_EQ(behaviour.bid_mean.size(), batch.rows.size());
  ASSERT_EQ(behaviour.creative_log_prob.size(), batch.rows.size() * static_cast<std::size_t>(model_.creatives()));
  EXPECT_EQ(behaviour.log_std,
            static_cast<float>(train.parameters()[static_cast<std::size_t>(model_.log_std_index())]));
  for (std::size_t i = 0; i < batch.rows.size(); ++i) {
    double probability = 0;  // the creatives' probabilities of a row sum to 1
    for (int c = 0; c < model_.creatives(); ++c)
      probability += std::exp(behaviour.creative_log_prob[i * static_cast<std::size_t>(model_.creatives()) + c]);
    ASSERT_NEAR(probability, 1.0, 1e-5) << "row " << i;
  }
}

// A batch of the tiny job (iteration 0, initial policy).
SampledBatch tiny_batch(const Job& job, const PolicyModel& model, Collectives& collectives) {
  const TrainPart train(job.config, model);
  SimulatePart simulate(job.config, model, 1);
  std::vector<World> worlds =
      make_worlds(job.priors, job.config.run.seed, job.config.world.horizon_days, 0, job.config.run.worlds);
  const SimulatePart::Result simulated = simulate.run(0, worlds, train.parameters());
  ClassifyPart(job.config, job.priors).run(simulate.experiences(), collectives);
  return SamplePart(job.config, model, job.priors).run(0, simulate.experiences(), simulated.slices, collectives);
}

TEST_F(IterationParts, TrainMovesTheParametersExactlyAsThePpoTrainerDoes) {
  const SampledBatch batch = tiny_batch(job_, model_, serial_);
  TimedCollectives timed(serial_);
  TrainPart train(job_.config, model_);
  const std::vector<double> initial = train.parameters();
  IterationMetrics metrics;
  RuntimeMetrics runtime;
  const int iteration = 2;
  train.run(iteration, batch, timed, metrics, runtime);

  const PpoSection& ppo = job_.config.ppo;
  PpoTrainer direct(model_, ppo,
                    Eigen::Map<const Eigen::VectorXd>(initial.data(), static_cast<Eigen::Index>(initial.size())));
  std::vector<TrainingSample> samples;
  for (const BatchRow& row : batch.rows) samples.push_back(training_sample(row.experience, row.weight));
  LocalBatch local = single_rank_batch(samples);
  for (std::size_t i = 0; i < batch.rows.size(); ++i) local.worlds[i] = batch.rows[i].experience.world;
  if (ppo.normalize_advantages) normalize_advantages(local.samples, serial_);
  const PpoStats stats = direct.update(local, job_.config.run.seed, iteration + 1, serial_,
                                       learning_rate_at(ppo, iteration, job_.config.run.iterations));

  EXPECT_NE(train.parameters(), initial);
  EXPECT_EQ(train.parameters(), direct.export_parameters());
  EXPECT_EQ(train.trainer().export_optimizer_state(), direct.export_optimizer_state());
  EXPECT_EQ(metrics.policy_loss, stats.policy_loss);
  EXPECT_EQ(metrics.approx_kl, stats.approx_kl);
  EXPECT_EQ(metrics.epochs, static_cast<double>(stats.epochs));
  EXPECT_EQ(metrics.policy_log_std, train.parameters()[static_cast<std::size_t>(model_.log_std_index())]);
  const BatchStatistics statistics = summarize_batch(batch.rows, serial_);
  EXPECT_EQ(metrics.weight_mean, statistics.weight_mean);
  EXPECT_EQ(metrics.effective_sample_size, statistics.effective_sample_size);
}

TEST_F(IterationParts, MetricsAddTheWorldsAndTakeTheDrawsFigures) {
  std::vector<WorldIterationSummary> summaries(2);
  summaries[0].stats.decisions = 10;
  summaries[0].stats.spend = 4;
  summaries[0].stats.conversion_value = 10;
  summaries[0].stats.reward = 6;
  summaries[0].log_multiplier_sum = 1.5;
  summaries[1].stats.decisions = 30;
  summaries[1].stats.spend = 1;
  summaries[1].stats.conversion_value = 2;
  summaries[1].stats.reward = 1;
  summaries[1].log_multiplier_sum = 0.5;
  IdentificationCounts identification;
  identification.true_positive = 4;
  identification.false_positive = 4;
  identification.false_negative = 2;
  identification.true_negative = 30;
  DrawSummary draw;
  draw.population = 40;
  draw.beta = 0.5;
  const IterationMetrics m = iteration_metrics(job_.config, summaries, identification, draw);
  EXPECT_EQ(m.episodes, 3.0);  // three worlds, one episode each
  EXPECT_EQ(m.decisions, 40.0);
  EXPECT_EQ(m.roas, 12.0 / 5.0);
  EXPECT_EQ(m.mean_episode_return, 7.0 / 3.0);
  EXPECT_EQ(m.natural_crisis_share, 8.0 / 40.0);
  EXPECT_EQ(m.natural_crisis_truth_share, 6.0 / 40.0);
  EXPECT_EQ(m.identification_precision, 0.5);
  EXPECT_EQ(m.mean_log_bid_multiplier, 2.0 / 40.0);
  EXPECT_EQ(m.beta, 0.5);
}

TEST_F(IterationParts, EvaluateIsDueEveryFewIterationsAndAfterTheLast) {
  EvaluationProtocol protocol(job_, model_, serial_);
  EvaluatePart evaluate(job_.config, protocol);
  std::vector<bool> due;
  for (int iteration = 0; iteration < job_.config.run.iterations; ++iteration) due.push_back(evaluate.due(iteration));
  EXPECT_EQ(due, (std::vector<bool>{false, true, false, true}));
  job_.config.run.iterations = 5;
  EXPECT_TRUE(evaluate.due(4));

  const ProgressLog quiet(std::cout, false, 0, job_.config.run.iterations);
  protocol.tune(quiet);
  protocol.measure_validation_references();
  const TrainPart train(job_.config, model_);
  const ValidationRound round = evaluate.run(2, train.parameters(), quiet);
  EXPECT_EQ(round.iteration, 2);
  EXPECT_EQ(round.parameters, train.parameters());
  EXPECT_EQ(round.returns.size(), 2u);
  EXPECT_EQ(protocol.selected().iteration, 2);
}

TEST_F(IterationParts, CheckpointRestoresTheLearnerSoThatTheNextUpdateIsTheSame) {
  const SampledBatch batch = tiny_batch(job_, model_, serial_);
  TimedCollectives timed(serial_);
  IterationMetrics metrics;
  RuntimeMetrics runtime;
  TrainPart trained(job_.config, model_);
  trained.run(0, batch, timed, metrics, runtime);
  const SelectedSnapshot selected{1, 0.25, trained.parameters()};

  TrainPart restored(job_.config, model_);
  const SelectedSnapshot back =
      restore_learner_state(learner_state(trained, selected), restored, job_.config.run.iterations);
  EXPECT_EQ(back.iteration, 1);
  EXPECT_EQ(back.score, 0.25);
  EXPECT_EQ(back.parameters, selected.parameters);
  EXPECT_EQ(restored.parameters(), trained.parameters());
  trained.run(1, batch, timed, metrics, runtime);
  restored.run(1, batch, timed, metrics, runtime);
  EXPECT_EQ(restored.parameters(), trained.parameters());

  StateRecord damaged = learner_state(trained, selected);
  damaged.put("adam_first_moment", std::vector<double>{1.0});
  EXPECT_THROW(restore_learner_state(damaged, restored, job_.config.run.iterations), InputError);
}

// MPI for the one test that writes a parallel HDF5 file (on MPI_COMM_SELF: no mpirun needed).
void ensure_mpi() {
  struct Mpi {
    Mpi() {
      int initialized = 0;
      MPI_Initialized(&initialized);
      if (initialized == 0 && MPI_Init(nullptr, nullptr) != MPI_SUCCESS) throw RuntimeFailure("MPI_Init failed");
    }
    ~Mpi() {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (finalized == 0) MPI_Finalize();
    }
  };
  static const Mpi mpi;
}

TEST_F(IterationParts, RecordWritesWhatItWasGiven) {
  ensure_mpi();
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("manyworlds_record_" + std::to_string(::getpid()) + ".h5");
  std::vector<WorldIterationSummary> summaries(3);
  for (std::size_t w = 0; w < summaries.size(); ++w) summaries[w].stats.queries = static_cast<std::int64_t>(10 * w + 1);
  SampledBatch batch;
  batch.rows.resize(2);
  batch.rows[0].experience.world = 2;
  batch.rows[1].experience.world = 1;
  batch.rows[1].weight = 0.75;
  const int creatives = model_.creatives();
  BehaviourColumns behaviour{{0.5f, -0.5f}, -1.25f, std::vector<float>(2 * static_cast<std::size_t>(creatives), -2.0f)};
  const std::vector<double> parameters(static_cast<std::size_t>(model_.parameter_count()), 0.125);
  IterationMetrics metrics;
  metrics.decisions = 1234;

  OutputLayout layout;
  layout.worlds = 3;
  layout.validation_worlds = 2;
  layout.test_worlds = 2;
  layout.batch_size = 2;
  layout.policy_parameters = model_.parameter_count();
  layout.creatives = creatives;
  layout.evaluation_strategies = {"policy"};
  layout.policy_hidden = job_.config.policy.hidden;
  layout.value_hidden = job_.config.policy.value_hidden;
  {
    OutputFile output = OutputFile::create(path.string(), MPI_COMM_SELF, job_.config, job_.priors, layout);
    RecordPart record;
    record.run(output, {0, 0, summaries, &batch, &behaviour, parameters, metrics});
    output.close();
  }
  const h5::File file = h5::File::open_read(path.string());
  const h5::Group root = file.root();
  EXPECT_EQ(root.open_dataset("batches/world").read_all<std::int32_t>(), (std::vector<std::int32_t>{2, 1}));
  EXPECT_EQ(root.open_dataset("batches/weight").read_all<double>(), (std::vector<double>{0.0, 0.75}));
  EXPECT_EQ(root.open_dataset("batches/behaviour_bid_mean").read_all<float>(), behaviour.bid_mean);
  EXPECT_EQ(root.open_dataset("batches/behaviour_log_std").read_all<float>(), (std::vector<float>{-1.25f, -1.25f}));
  EXPECT_EQ(root.open_dataset("batches/behaviour_creative_log_prob").read_all<float>(), behaviour.creative_log_prob);
  EXPECT_EQ(root.open_dataset("worlds/stats/queries").read_all<double>(), (std::vector<double>{1, 11, 21}));
  EXPECT_EQ(root.open_dataset("metrics/decisions").read_all<double>(), (std::vector<double>{1234}));
  EXPECT_EQ(root.open_dataset("policy/history").read_all<double>(), parameters);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace manyworlds
