// Tests of the gradient-MSE diagnostic: zero error for the whole population, exact chunked means, the bias/variance
// split.
#include <gtest/gtest.h>

#include <vector>

#include "manyworlds/learn/gradient_diagnostic.hpp"

namespace manyworlds {
namespace {

struct DiagnosticPopulation {
  PolicyModel model;
  PpoSection ppo;
  Eigen::VectorXd params;
  std::vector<TrainingSample> samples;
};

// 300 samples with random observations, actions from the policy and advantages of both signs, unit weights.
DiagnosticPopulation make_population() {
  PolicySection policy;
  policy.hidden = {8, 6};
  policy.value_hidden = {4};
  DiagnosticPopulation population{PolicyModel(policy, 3), PpoSection{}, {}, {}};
  Stream stream(5, Purpose::training, 0);
  population.params = population.model.initial_parameters(stream);
  for (int i = 0; i < 300; ++i) {
    TrainingSample s;
    for (float& x : s.obs) x = static_cast<float>(stream.uniform(-1.0, 1.0));
    const PolicyDistribution d = population.model.distribution(population.params, s.obs);
    s.log_bid_multiplier = static_cast<float>(d.mean + std::exp(d.log_std) * stream.normal());
    s.creative = static_cast<int>(stream.below(3));
    s.log_prob =
        static_cast<float>(population.model.log_prob(population.params, s.obs, s.log_bid_multiplier, s.creative, 0) +
                           stream.uniform(-0.3, 0.3));
    s.advantage = static_cast<float>(stream.uniform(-2.0, 2.0));
    population.samples.push_back(s);
  }
  return population;
}

TEST(GradientDiagnostic, TheWholePopulationWithUnitWeightsHasZeroError) {
  const DiagnosticPopulation p = make_population();
  const Eigen::VectorXd truth = policy_gradient(p.model, p.ppo, p.params, p.samples);
  ASSERT_GT(truth.squaredNorm(), 0.0);
  const std::vector<Eigen::VectorXd> estimates(3, policy_gradient(p.model, p.ppo, p.params, p.samples));
  const EstimatorError error = estimator_error(estimates, truth);
  EXPECT_EQ(error.mean_squared_error, 0.0);
  EXPECT_EQ(error.bias_squared, 0.0);
  EXPECT_EQ(error.relative_error, 0.0);
}

TEST(GradientDiagnostic, ChunksCombineToTheMeanOfTheWhole) {
  const DiagnosticPopulation p = make_population();
  const Eigen::VectorXd truth = policy_gradient(p.model, p.ppo, p.params, p.samples);
  const std::vector<Eigen::VectorXd> chunked{policy_gradient(p.model, p.ppo, p.params, p.samples, 7)};
  EXPECT_LT(estimator_error(chunked, truth).relative_error, 1e-24);
}

TEST(GradientDiagnostic, EveryExperienceTwiceIsThePopulationAndDoubledWeightsAreNot) {
  const DiagnosticPopulation p = make_population();
  const Eigen::VectorXd truth = policy_gradient(p.model, p.ppo, p.params, p.samples);
  std::vector<TrainingSample> twice = p.samples;
  twice.insert(twice.end(), p.samples.begin(), p.samples.end());
  EXPECT_LT(estimator_error(std::vector<Eigen::VectorXd>{policy_gradient(p.model, p.ppo, p.params, twice)}, truth)
                .relative_error,
            1e-24);
  std::vector<TrainingSample> reweighted = p.samples;
  for (std::size_t i = 0; i < reweighted.size(); i += 2) reweighted[i].weight = 2.0F;
  EXPECT_GT(estimator_error(std::vector<Eigen::VectorXd>{policy_gradient(p.model, p.ppo, p.params, reweighted)}, truth)
                .relative_error,
            1e-4);
}

TEST(GradientDiagnostic, MeanSquaredErrorIsBiasSquaredPlusVariance) {
  const Eigen::VectorXd truth = Eigen::Vector2d(1.0, 0.0);
  const std::vector<Eigen::VectorXd> estimates{Eigen::Vector2d(1.0, 0.0), Eigen::Vector2d(3.0, 0.0)};
  const EstimatorError error = estimator_error(estimates, truth);
  EXPECT_DOUBLE_EQ(error.mean_squared_error, 2.0);  // (0 + 4) / 2
  EXPECT_DOUBLE_EQ(error.bias_squared, 1.0);        // mean 2 vs truth 1; variance 1
  EXPECT_DOUBLE_EQ(error.relative_error, 2.0);
}

}  // namespace
}  // namespace manyworlds
