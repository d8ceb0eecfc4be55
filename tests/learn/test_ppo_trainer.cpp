// Tests of the PPO trainer: bitwise determinism, the plain serial update as reference, exact world sums, state export
// and import, a bandit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "manyworlds/core/permutation.hpp"
#include "manyworlds/learn/gae.hpp"
#include "manyworlds/learn/inference_policy.hpp"
#include "manyworlds/learn/ppo.hpp"

namespace manyworlds {
namespace {

PolicySection small_trainer_policy() {
  PolicySection policy;
  policy.hidden = {8, 8};
  policy.value_hidden = {8};
  return policy;
}

PpoSection small_ppo() {
  PpoSection ppo;
  ppo.learning_rate = 1e-2;
  ppo.epochs = 3;
  ppo.minibatch_size = 16;
  return ppo;
}

std::vector<TrainingSample> random_batch(const PolicyModel& model, const Eigen::VectorXd& params, int count,
                                         std::uint64_t seed) {
  Stream stream(seed, Purpose::training, 2);
  std::vector<TrainingSample> batch(static_cast<std::size_t>(count));
  for (TrainingSample& s : batch) {
    for (float& x : s.obs) x = static_cast<float>(stream.uniform(-1.0, 1.0));
    s.log_bid_multiplier = static_cast<float>(stream.normal(0.0, 0.5));
    s.creative = static_cast<int>(stream.below(static_cast<std::uint32_t>(model.creatives())));
    s.log_prob =
        static_cast<float>(model.log_prob(params, s.obs, s.log_bid_multiplier, s.creative) + stream.uniform(-0.3, 0.3));
    s.advantage = static_cast<float>(stream.normal());
    s.value_target = static_cast<float>(stream.normal());
    s.weight = static_cast<float>(stream.uniform(0.1, 4.0));
  }
  return batch;
}

bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

TEST(PpoTrainer, SameInputsGiveBitwiseIdenticalParametersAndState) {
  const PolicyModel model(small_trainer_policy(), 3);
  Stream init(1, Purpose::training, 0);
  const Eigen::VectorXd params = model.initial_parameters(init);
  const std::vector<TrainingSample> batch = random_batch(model, params, 100, 4);
  PpoTrainer a(model, small_ppo(), params);
  PpoTrainer b(model, small_ppo(), params);
  const PpoStats stats_a = a.update(batch, 1, 1);
  const PpoStats stats_b = b.update(batch, 1, 1);
  EXPECT_TRUE(bitwise_equal(a.export_parameters(), b.export_parameters()));
  EXPECT_TRUE(bitwise_equal(a.export_optimizer_state(), b.export_optimizer_state()));
  EXPECT_EQ(std::memcmp(&stats_a, &stats_b, sizeof(PpoStats)), 0);
  EXPECT_EQ(stats_a.minibatches, 3 * 7);  // ceil(100 / 16) steps per epoch
  EXPECT_FALSE(bitwise_equal(a.export_parameters(), std::vector<double>(params.data(), params.data() + params.size())));
  // A different minibatch order changes the result: the seed really drives the minibatches.
  PpoTrainer c(model, small_ppo(), params);
  c.update(batch, 2, 1);
  EXPECT_FALSE(bitwise_equal(a.export_parameters(), c.export_parameters()));
}

// The update of the serial trainer before the data-parallel one, kept here as the reference: each
// minibatch's plain ppo_loss gradient over its rows in minibatch order, clipping, Adam.
std::vector<double> reference_update(const PolicyModel& model, const PpoSection& ppo, Eigen::VectorXd params,
                                     const std::vector<TrainingSample>& batch, std::uint64_t seed,
                                     std::uint32_t iteration) {
  Adam adam(model.parameter_count(), AdamSettings{ppo.learning_rate, ppo.adam_beta1, ppo.adam_beta2, ppo.adam_epsilon});
  const std::size_t size = batch.size();
  for (int epoch = 0; epoch < ppo.epochs; ++epoch) {
    const Permutation permutation(seed, iteration, static_cast<std::uint32_t>(epoch), size);
    std::vector<TrainingSample> ordered(size);
    for (std::size_t i = 0; i < size; ++i) ordered[permutation(i)] = batch[i];
    for (std::size_t begin = 0; begin < size; begin += static_cast<std::size_t>(ppo.minibatch_size)) {
      const std::size_t end = std::min(size, begin + static_cast<std::size_t>(ppo.minibatch_size));
      Eigen::VectorXd grad;
      ppo_loss(model, ppo, params, std::span(ordered).subspan(begin, end - begin), grad);
      const double norm = grad.norm();
      if (norm > ppo.max_grad_norm) grad *= ppo.max_grad_norm / norm;
      adam.step(params, grad);
    }
  }
  return std::vector<double>(params.data(), params.data() + params.size());
}

TEST(PpoTrainer, OneWorldOnOneRankIsThePlainSerialUpdateToTheBit) {
  const PolicyModel model(small_trainer_policy(), 3);
  Stream init(11, Purpose::training, 0);
  const Eigen::VectorXd params = model.initial_parameters(init);
  const std::vector<TrainingSample> batch = random_batch(model, params, 100, 12);
  PpoTrainer trainer(model, small_ppo(), params);
  trainer.update(batch, 11, 3);
  EXPECT_TRUE(bitwise_equal(trainer.export_parameters(), reference_update(model, small_ppo(), params, batch, 11, 3)));
}

TEST(PpoTrainer, ManyWorldsSumTheirPartialGradientsExactly) {
  // The same rows as one world or as 7: the same update up to the rounding of the minibatch sums.
  const PolicyModel model(small_trainer_policy(), 3);
  Stream init(13, Purpose::training, 0);
  const Eigen::VectorXd params = model.initial_parameters(init);
  const std::vector<TrainingSample> samples = random_batch(model, params, 100, 14);
  LocalBatch worlds = single_rank_batch(samples);
  for (std::size_t i = 0; i < samples.size(); ++i) worlds.worlds[i] = static_cast<std::int64_t>(i * 7 / samples.size());
  PpoTrainer one(model, small_ppo(), params);
  PpoTrainer seven(model, small_ppo(), params);
  SerialCollectives serial;
  one.update(samples, 15, 1);
  seven.update(worlds, 15, 1, serial);
  const std::vector<double> a = one.export_parameters();
  const std::vector<double> b = seven.export_parameters();
  EXPECT_FALSE(bitwise_equal(a, b));
  double largest_difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) largest_difference = std::max(largest_difference, std::fabs(a[i] - b[i]));
  EXPECT_LT(largest_difference, 1e-9);
}

TEST(PpoTrainer, TheUpdatesLearningRateScalesTheStepAndZeroKeepsTheParameters) {
  const PolicyModel model(small_trainer_policy(), 2);
  Stream init(16, Purpose::training, 0);
  const Eigen::VectorXd params = model.initial_parameters(init);
  const std::vector<TrainingSample> batch = random_batch(model, params, 40, 17);
  PpoSection one_step = small_ppo();  // one epoch of one minibatch: a single Adam step
  one_step.epochs = 1;
  one_step.minibatch_size = 40;
  PpoTrainer frozen(model, one_step, params);
  EXPECT_EQ(frozen.update(batch, 1, 1, 0.0).learning_rate, 0.0);
  EXPECT_TRUE(
      bitwise_equal(frozen.export_parameters(), std::vector<double>(params.data(), params.data() + params.size())));
  PpoTrainer full(model, one_step, params);
  PpoTrainer half(model, one_step, params);
  EXPECT_EQ(full.update(batch, 1, 1).learning_rate, one_step.learning_rate);
  half.update(batch, 1, 1, 0.5 * one_step.learning_rate);
  // Adam's first step moves each parameter by about the learning rate: half of it at half the rate.
  const double moved_full = std::fabs(full.export_parameters()[0] - params[0]);
  const double moved_half = std::fabs(half.export_parameters()[0] - params[0]);
  EXPECT_GT(moved_full, 0.0);
  EXPECT_NEAR(moved_half, 0.5 * moved_full, 1e-6 * moved_full);
}

TEST(PpoTrainer, LearningRateAnnealsLinearlyToTheFinalRate) {
  PpoSection ppo = small_ppo();
  EXPECT_EQ(learning_rate_at(ppo, 3, 10), ppo.learning_rate);  // final_learning_rate < 0: constant
  ppo.final_learning_rate = 0.0;
  EXPECT_EQ(learning_rate_at(ppo, 0, 5), ppo.learning_rate);
  EXPECT_DOUBLE_EQ(learning_rate_at(ppo, 2, 5), 0.5 * ppo.learning_rate);
  EXPECT_EQ(learning_rate_at(ppo, 4, 5), 0.0);
  EXPECT_EQ(learning_rate_at(ppo, 0, 1), ppo.learning_rate);
}

TEST(PpoTrainer, TargetKlStopsAfterTheEpochThatExceedsIt) {
  const PolicyModel model(small_trainer_policy(), 2);
  Stream init(18, Purpose::training, 0);
  const Eigen::VectorXd params = model.initial_parameters(init);
  const std::vector<TrainingSample> batch = random_batch(model, params, 40, 19);
  PpoSection ppo = small_ppo();
  ppo.target_kl = 1e-12;
  PpoTrainer stopped(model, ppo, params);
  const PpoStats stats = stopped.update(batch, 1, 1);
  EXPECT_EQ(stats.epochs, 1);
  EXPECT_EQ(stats.minibatches, 3);  // 40 rows in minibatches of 16
  EXPECT_GT(stats.last_epoch_kl, ppo.target_kl);
  EXPECT_EQ(PpoTrainer(model, small_ppo(), params).update(batch, 1, 1).epochs, small_ppo().epochs);
}

TEST(PpoTrainer, ExportedStateResumesToTheSameBits) {
  const PolicyModel model(small_trainer_policy(), 2);
  Stream init(3, Purpose::training, 0);
  const Eigen::VectorXd params = model.initial_parameters(init);
  const std::vector<TrainingSample> first = random_batch(model, params, 40, 5);
  const std::vector<TrainingSample> second = random_batch(model, params, 40, 6);
  PpoTrainer original(model, small_ppo(), params);
  original.update(first, 3, 1);

  PpoTrainer resumed(model, small_ppo(), params);
  resumed.import_parameters(original.export_parameters());
  resumed.import_optimizer_state(original.export_optimizer_state());
  EXPECT_EQ(resumed.export_optimizer_state()[0], 3.0 * 3);  // Adam step count: 3 epochs x 3 minibatches

  original.update(second, 3, 2);
  resumed.update(second, 3, 2);
  EXPECT_TRUE(bitwise_equal(original.export_parameters(), resumed.export_parameters()));
  EXPECT_TRUE(bitwise_equal(original.export_optimizer_state(), resumed.export_optimizer_state()));

  EXPECT_THROW(resumed.import_parameters(std::vector<double>(3)), std::invalid_argument);
  EXPECT_THROW(resumed.import_optimizer_state(std::vector<double>(3)), std::invalid_argument);
  EXPECT_THROW(PpoTrainer(model, small_ppo(), Eigen::VectorXd::Zero(4)), std::invalid_argument);
}

TEST(PpoTrainer, StatisticsDescribeTheUpdate) {
  const PolicyModel model(small_trainer_policy(), 3);
  Stream init(8, Purpose::training, 0);
  const Eigen::VectorXd params = model.initial_parameters(init);
  std::vector<TrainingSample> batch = random_batch(model, params, 64, 9);
  // On-policy log-probabilities: the first minibatch sees ratio 1, so no KL and no clipping there.
  for (TrainingSample& s : batch)
    s.log_prob = static_cast<float>(model.log_prob(params, s.obs, s.log_bid_multiplier, s.creative));
  PpoSection ppo = small_ppo();
  ppo.epochs = 1;
  ppo.minibatch_size = 64;
  PpoTrainer trainer(model, ppo, params);
  const PpoStats stats = trainer.update(batch, 8, 1);
  EXPECT_EQ(stats.minibatches, 1);
  EXPECT_EQ(stats.clip_fraction, 0.0);
  EXPECT_NEAR(stats.approx_kl, 0.0, 1e-6);
  EXPECT_NEAR(stats.entropy, model.entropy(params, batch[0].obs), 1e-2);  // near-uniform logits at the start
  double wv = 0.0;
  double w = 0.0;
  for (const TrainingSample& s : batch) {
    const double e = model.value(params, s.obs) - s.value_target;
    wv += s.weight * e * e;
    w += s.weight;
  }
  EXPECT_NEAR(stats.value_loss, wv / w, 1e-12 * wv / w);
  EXPECT_GT(stats.grad_norm, 0.0);
  EXPECT_LT(stats.explained_variance, 1.0);
}

// A one-step bandit with fixed observation: reward = -(a - 1.2)^2 + (creative == 1 ? 0.5 : 0).
// Trained from the policy's own samples (InferencePolicy, GAE, PPO), the greedy action must reach
// the optimal log multiplier 1.2 within 0.05 and choose creative 1, with seed 2024.
TEST(PpoTrainer, LearnsTheOptimalBidOfABandit) {
  constexpr double optimum = 1.2;
  PolicySection policy;
  policy.hidden = {16};
  policy.value_hidden = {16};
  const PolicyModel model(policy, 2);
  PpoSection ppo;
  ppo.learning_rate = 1e-2;
  ppo.epochs = 4;
  ppo.minibatch_size = 64;
  ppo.entropy_coef = 0.0;
  ppo.reward_scale = 1.0;
  Stream init(2024, Purpose::training, 0);
  PpoTrainer trainer(model, ppo, model.initial_parameters(init));
  Observation obs{};
  obs[0] = 0.5f;
  obs[12] = -0.25f;
  for (int iteration = 0; iteration < 40; ++iteration) {
    InferencePolicy behaviour(model, trainer.export_parameters());
    std::vector<Experience> experiences(256);
    std::vector<TrainingSample> batch;
    for (std::size_t i = 0; i < experiences.size(); ++i) {
      Stream noise(2024, Purpose::action, 0, static_cast<std::uint32_t>(iteration), static_cast<std::uint32_t>(i));
      const DecisionNoise draw{noise.normal(), noise.uniform()};
      const Action action = behaviour.act(obs, 2, draw);
      Experience& e = experiences[i];
      e.obs = obs;
      e.log_bid_multiplier = action.log_bid_multiplier;
      e.creative = static_cast<std::uint8_t>(action.creative);
      e.log_prob = action.log_prob;
      const double gap = action.log_bid_multiplier - optimum;
      e.expected_reward = static_cast<float>(-gap * gap + (action.creative == 1 ? 0.5 : 0.0));
      e.flags = flag_done;
      behaviour.values(&e, 1, &e.value_estimate);
      compute_gae(std::span(&e, 1), ppo.gamma, ppo.gae_lambda, RewardSpec{.scale = ppo.reward_scale});
      batch.push_back(training_sample(e, 1.0));
    }
    trainer.update(batch, 2024, static_cast<std::uint32_t>(iteration + 1));
  }
  InferencePolicy greedy(model, trainer.export_parameters(), InferencePolicy::Mode::greedy);
  const Action best = greedy.act(obs, 2, DecisionNoise{});
  EXPECT_NEAR(best.log_bid_multiplier, optimum, 0.05);
  std::vector<float> creative_log_probs(2);
  greedy.distribution(obs, 2, creative_log_probs.data());
  EXPECT_GT(creative_log_probs[1], std::log(0.9f)) << "the better creative is chosen at least 90% of the time";
}

}  // namespace
}  // namespace manyworlds
