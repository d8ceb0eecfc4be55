// Tests of the PPO trainer: bitwise determinism, state export and import, and convergence on a bandit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "manyworlds/learn/gae.hpp"
#include "manyworlds/learn/inference_policy.hpp"
#include "manyworlds/learn/ppo.hpp"

namespace manyworlds {
namespace {

PolicySection small_policy() {
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
    s.log_prob = static_cast<float>(model.log_prob(params, s.obs, s.log_bid_multiplier, s.creative) +
                                    stream.uniform(-0.3, 0.3));
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
  const PolicyModel model(small_policy(), 3);
  Stream init(1, Purpose::training, 0);
  const Eigen::VectorXd params = model.initial_parameters(init);
  const std::vector<TrainingSample> batch = random_batch(model, params, 100, 4);
  PpoTrainer a(model, small_ppo(), params);
  PpoTrainer b(model, small_ppo(), params);
  Stream sa(1, Purpose::training, 0, 1);
  Stream sb(1, Purpose::training, 0, 1);
  const PpoStats stats_a = a.update(batch, sa);
  const PpoStats stats_b = b.update(batch, sb);
  EXPECT_TRUE(bitwise_equal(a.export_parameters(), b.export_parameters()));
  EXPECT_TRUE(bitwise_equal(a.export_optimizer_state(), b.export_optimizer_state()));
  EXPECT_EQ(std::memcmp(&stats_a, &stats_b, sizeof(PpoStats)), 0);
  EXPECT_EQ(stats_a.minibatches, 3 * 7);  // ceil(100 / 16) steps per epoch
  EXPECT_FALSE(bitwise_equal(a.export_parameters(),
                             std::vector<double>(params.data(), params.data() + params.size())));
  // A different shuffle changes the result: the stream really drives the minibatches.
  PpoTrainer c(model, small_ppo(), params);
  Stream sc(2, Purpose::training, 0, 1);
  c.update(batch, sc);
  EXPECT_FALSE(bitwise_equal(a.export_parameters(), c.export_parameters()));
}

TEST(PpoTrainer, ExportedStateResumesToTheSameBits) {
  const PolicyModel model(small_policy(), 2);
  Stream init(3, Purpose::training, 0);
  const Eigen::VectorXd params = model.initial_parameters(init);
  const std::vector<TrainingSample> first = random_batch(model, params, 40, 5);
  const std::vector<TrainingSample> second = random_batch(model, params, 40, 6);
  PpoTrainer original(model, small_ppo(), params);
  Stream s1(3, Purpose::training, 0, 1);
  original.update(first, s1);

  PpoTrainer resumed(model, small_ppo(), params);
  resumed.import_parameters(original.export_parameters());
  resumed.import_optimizer_state(original.export_optimizer_state());
  EXPECT_EQ(resumed.export_optimizer_state()[0], 3.0 * 3);  // Adam step count: 3 epochs x 3 minibatches

  Stream s2a(3, Purpose::training, 0, 2);
  Stream s2b(3, Purpose::training, 0, 2);
  original.update(second, s2a);
  resumed.update(second, s2b);
  EXPECT_TRUE(bitwise_equal(original.export_parameters(), resumed.export_parameters()));
  EXPECT_TRUE(bitwise_equal(original.export_optimizer_state(), resumed.export_optimizer_state()));

  EXPECT_THROW(resumed.import_parameters(std::vector<double>(3)), std::invalid_argument);
  EXPECT_THROW(resumed.import_optimizer_state(std::vector<double>(3)), std::invalid_argument);
  EXPECT_THROW(PpoTrainer(model, small_ppo(), Eigen::VectorXd::Zero(4)), std::invalid_argument);
}

TEST(PpoTrainer, StatisticsDescribeTheUpdate) {
  const PolicyModel model(small_policy(), 3);
  Stream init(8, Purpose::training, 0);
  const Eigen::VectorXd params = model.initial_parameters(init);
  std::vector<TrainingSample> batch = random_batch(model, params, 64, 9);
  // On-policy log-probabilities: the first minibatch sees ratio 1, so no KL and no clipping there.
  for (TrainingSample& s : batch) s.log_prob = static_cast<float>(model.log_prob(params, s.obs, s.log_bid_multiplier, s.creative));
  PpoSection ppo = small_ppo();
  ppo.epochs = 1;
  ppo.minibatch_size = 64;
  PpoTrainer trainer(model, ppo, params);
  Stream shuffle(8, Purpose::training, 0, 1);
  const PpoStats stats = trainer.update(batch, shuffle);
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
    Stream shuffle(2024, Purpose::training, 0, static_cast<std::uint32_t>(iteration + 1));
    trainer.update(batch, shuffle);
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
