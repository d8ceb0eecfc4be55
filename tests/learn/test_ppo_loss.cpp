// Tests of the importance-weighted PPO loss: finite-difference gradients, the weighting, the clip regimes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "manyworlds/learn/action_distribution.hpp"
#include "manyworlds/learn/ppo.hpp"

namespace manyworlds {
namespace {

PolicySection small_policy() {
  PolicySection policy;
  policy.hidden = {6, 5};
  policy.value_hidden = {4};
  policy.init_log_std = -0.3;
  policy.max_abs_log_multiplier = 1.5;
  return policy;
}

PpoSection test_ppo() {
  PpoSection ppo;
  ppo.clip = 0.2;
  ppo.value_coef = 0.5;
  ppo.entropy_coef = 0.05;
  return ppo;
}

// Initial parameters plus U(-0.5, 0.5) noise, so that no head is near zero.
Eigen::VectorXd perturbed_parameters(const PolicyModel& model, std::uint64_t seed) {
  Stream stream(seed, Purpose::training, 0);
  Eigen::VectorXd params = model.initial_parameters(stream);
  for (Eigen::Index i = 0; i < params.size(); ++i) params[i] += stream.uniform(-0.5, 0.5);
  return params;
}

// Samples covering every branch: interior and clamped actions (unless interior_only), masked and
// full creative sets, ratios exp(-offset) inside and outside [1 - clip, 1 + clip] with both
// advantage signs (so both the clipped, zero-gradient and the unclipped branch of the min occur).
std::vector<TrainingSample> make_samples(const PolicyModel& model, const Eigen::VectorXd& params, int count,
                                         std::uint64_t seed, bool interior_only) {
  const double offsets[] = {0.0, 0.5, -0.5, 0.1, -0.1, 0.4};
  Stream stream(seed, Purpose::training, 1);
  const double bound = model.action_bound();
  std::vector<TrainingSample> samples;
  for (int i = 0; i < count; ++i) {
    TrainingSample s;
    for (float& x : s.obs) x = static_cast<float>(stream.uniform(-1.0, 1.0));
    const PolicyDistribution d = model.distribution(params, s.obs);
    if (!interior_only && i % 8 == 6) {
      s.log_bid_multiplier = model.action_bound();
    } else if (!interior_only && i % 8 == 7) {
      s.log_bid_multiplier = -model.action_bound();
    } else {
      const double a = d.mean + std::exp(d.log_std) * stream.normal();
      s.log_bid_multiplier = static_cast<float>(std::clamp(a, -bound + 0.05, bound - 0.05));
    }
    s.creatives = i % 3 == 0 ? 2 : 0;
    s.creative =
        static_cast<int>(stream.below(static_cast<std::uint32_t>(active_creatives(s.creatives, model.creatives()))));
    const double log_prob = model.log_prob(params, s.obs, s.log_bid_multiplier, s.creative, s.creatives);
    s.log_prob = static_cast<float>(log_prob + offsets[i % 6]);
    const double sign = (i / 6) % 2 == 0 ? 1.0 : -1.0;
    s.advantage = static_cast<float>(sign * stream.uniform(0.5, 2.0));
    s.value_target = static_cast<float>(stream.uniform(-1.0, 1.0));
    s.weight = static_cast<float>(stream.uniform(0.2, 3.0));
    samples.push_back(s);
  }
  return samples;
}

double loss_at(const PolicyModel& model, const PpoSection& ppo, const Eigen::VectorXd& params,
               const std::vector<TrainingSample>& samples) {
  Eigen::VectorXd scratch;
  return ppo_loss(model, ppo, params, samples, scratch).loss;
}

// Central differences of f at p, step h.
template <class F>
Eigen::VectorXd numeric_gradient(F f, const Eigen::VectorXd& p, double h) {
  Eigen::VectorXd g(p.size());
  for (Eigen::Index i = 0; i < p.size(); ++i) {
    Eigen::VectorXd plus = p;
    Eigen::VectorXd minus = p;
    plus[i] += h;
    minus[i] -= h;
    g[i] = (f(plus) - f(minus)) / (2 * h);
  }
  return g;
}

TEST(PpoLoss, GradientOfTheFullWeightedLossMatchesCentralDifferences) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const PolicyModel model(small_policy(), 3);
    const PpoSection ppo = test_ppo();
    const Eigen::VectorXd params = perturbed_parameters(model, seed);
    const std::vector<TrainingSample> samples = make_samples(model, params, 24, seed, false);
    const PpoTrainer trainer(model, ppo, params);
    Eigen::VectorXd grad;
    const double loss = trainer.loss_and_gradient(samples, grad);
    EXPECT_EQ(loss, loss_at(model, ppo, params, samples));
    const Eigen::VectorXd fd =
        numeric_gradient([&](const Eigen::VectorXd& q) { return loss_at(model, ppo, q, samples); }, params, 1e-6);
    const double relative = (fd - grad).norm() / grad.norm();
    const double worst = (fd - grad).cwiseAbs().maxCoeff() / grad.cwiseAbs().maxCoeff();
    EXPECT_LT(relative, 1e-5) << "seed " << seed;
    EXPECT_LT(worst, 1e-5) << "seed " << seed;
  }
}

TEST(PpoLoss, ClippedSamplesWithFavourableRatioHaveZeroPolicyGradient) {
  const PolicyModel model(small_policy(), 3);
  PpoSection ppo = test_ppo();
  ppo.value_coef = 0.0;
  ppo.entropy_coef = 0.0;
  const Eigen::VectorXd params = perturbed_parameters(model, 5);
  std::vector<TrainingSample> samples = make_samples(model, params, 12, 5, true);
  Eigen::VectorXd grad;
  // Sample 2: ratio exp(0.5) > 1 + clip with A > 0: clipped, no gradient.  Sample 8: exp(0.5) with
  // A < 0: the unclipped branch is the minimum, gradient flows. Sample 1: exp(-0.5) with A > 0: flows.
  const LossResult clipped = ppo_loss(model, ppo, params, std::span(samples).subspan(2, 1), grad);
  EXPECT_TRUE(grad.isZero(0.0));
  EXPECT_NEAR(clipped.loss, -samples[2].weight * (1.0 + ppo.clip) * samples[2].advantage, 1e-6);
  EXPECT_EQ(clipped.sums.clipped, samples[2].weight);
  ppo_loss(model, ppo, params, std::span(samples).subspan(8, 1), grad);
  EXPECT_GT(grad.norm(), 1e-3);
  ppo_loss(model, ppo, params, std::span(samples).subspan(1, 1), grad);
  EXPECT_GT(grad.norm(), 1e-3);
}

// The PPO loss with unit weights, written out independently from the model's mean, logits and value.
double unweighted_loss(const PolicyModel& model, const PpoSection& ppo, const Eigen::VectorXd& params,
                       const std::vector<TrainingSample>& samples) {
  double total = 0.0;
  for (const TrainingSample& s : samples) {
    const PolicyDistribution d = model.distribution(params, s.obs);
    const double sd = std::exp(d.log_std);
    const double u = (s.log_bid_multiplier - d.mean) / sd;
    const double gauss = -0.5 * u * u - std::log(sd) - 0.5 * std::log(2 * std::numbers::pi);
    const Eigen::Index n = active_creatives(s.creatives, model.creatives());
    const Eigen::VectorXd logits = d.logits.head(n);
    const double log_z = std::log(logits.array().exp().sum());
    const double log_softmax = logits[s.creative] - log_z;
    double categorical_entropy = 0.0;
    for (Eigen::Index j = 0; j < n; ++j) categorical_entropy -= std::exp(logits[j] - log_z) * (logits[j] - log_z);
    const double entropy = 0.5 * std::log(2 * std::numbers::pi * std::numbers::e) + std::log(sd) + categorical_entropy;
    const double ratio = std::exp(gauss + log_softmax - s.log_prob);
    const double clipped = std::min(std::max(ratio, 1.0 - ppo.clip), 1.0 + ppo.clip);
    const double surrogate = std::min(ratio * s.advantage, clipped * s.advantage);
    const double error = model.value(params, s.obs) - s.value_target;
    total += -surrogate + ppo.value_coef * error * error - ppo.entropy_coef * entropy;
  }
  return total / static_cast<double>(samples.size());
}

TEST(PpoLoss, UnitWeightsGiveTheUnweightedPpoLossAndGradient) {
  const PolicyModel model(small_policy(), 3);
  const PpoSection ppo = test_ppo();
  const Eigen::VectorXd params = perturbed_parameters(model, 9);
  std::vector<TrainingSample> samples = make_samples(model, params, 12, 9, true);
  for (TrainingSample& s : samples) s.weight = 1.0f;
  const PpoTrainer trainer(model, ppo, params);
  Eigen::VectorXd grad;
  const double loss = trainer.loss_and_gradient(samples, grad);
  const double expected = unweighted_loss(model, ppo, params, samples);
  EXPECT_NEAR(loss, expected, 1e-12 * std::abs(expected));
  const Eigen::VectorXd fd =
      numeric_gradient([&](const Eigen::VectorXd& q) { return unweighted_loss(model, ppo, q, samples); }, params, 1e-6);
  EXPECT_LT((fd - grad).norm() / grad.norm(), 1e-6);
}

TEST(PpoLoss, ScalingOneWeightByKScalesItsGradientContributionByK) {
  const PolicyModel model(small_policy(), 3);
  const PpoSection ppo = test_ppo();
  const Eigen::VectorXd params = perturbed_parameters(model, 13);
  std::vector<TrainingSample> samples = make_samples(model, params, 16, 13, false);
  for (TrainingSample& s : samples) s.weight = 1.0f;
  const double n = static_cast<double>(samples.size());
  for (std::size_t j : {1u, 6u, 7u, 8u}) {
    const float k = 3.7f;
    std::vector<TrainingSample> with = samples;
    with[j].weight = k;
    std::vector<TrainingSample> without = samples;
    without.erase(without.begin() + static_cast<std::ptrdiff_t>(j));
    std::vector<TrainingSample> alone{samples[j]};
    Eigen::VectorXd g_with;
    Eigen::VectorXd g_without;
    Eigen::VectorXd g_alone;
    const double l_with = ppo_loss(model, ppo, params, with, g_with).loss;
    const double l_without = ppo_loss(model, ppo, params, without, g_without).loss;
    const double l_alone = ppo_loss(model, ppo, params, alone, g_alone).loss;
    // The loss is a mean over the minibatch: undo the 1/n before comparing sums of contributions.
    const Eigen::VectorXd contribution = n * g_with - (n - 1) * g_without;
    ASSERT_GT(g_alone.norm(), 0.0);
    EXPECT_LT((contribution - k * g_alone).norm() / (k * g_alone).norm(), 1e-12) << "sample " << j;
    EXPECT_NEAR(n * l_with - (n - 1) * l_without, k * l_alone, 1e-12 * (std::abs(k * l_alone) + 1.0));
  }
}

TEST(PpoLoss, RejectsCreativesOutsideTheActiveSetAndHandlesEmptyInput) {
  const PolicyModel model(small_policy(), 3);
  const Eigen::VectorXd params = perturbed_parameters(model, 17);
  std::vector<TrainingSample> samples(1);
  samples[0].creatives = 2;
  samples[0].creative = 2;
  Eigen::VectorXd grad;
  EXPECT_THROW(ppo_loss(model, test_ppo(), params, samples, grad), std::invalid_argument);
  const LossResult empty = ppo_loss(model, test_ppo(), params, {}, grad);
  EXPECT_EQ(empty.loss, 0.0);
  EXPECT_EQ(grad.size(), model.parameter_count());
  EXPECT_TRUE(grad.isZero(0.0));
}

TEST(PpoLoss, TrainingSampleCopiesTheExperience) {
  Experience e;
  e.obs[3] = 0.25f;
  e.log_bid_multiplier = -0.5f;
  e.creative = 2;
  e.log_prob = -1.25f;
  e.advantage = 0.75f;
  e.value_target = 2.5f;
  const TrainingSample s = training_sample(e, 1.5, 3);
  EXPECT_EQ(s.obs, e.obs);
  EXPECT_EQ(s.log_bid_multiplier, -0.5f);
  EXPECT_EQ(s.creative, 2);
  EXPECT_EQ(s.log_prob, -1.25f);
  EXPECT_EQ(s.advantage, 0.75f);
  EXPECT_EQ(s.value_target, 2.5f);
  EXPECT_EQ(s.weight, 1.5f);
  EXPECT_EQ(s.creatives, 3);
}

}  // namespace
}  // namespace manyworlds
