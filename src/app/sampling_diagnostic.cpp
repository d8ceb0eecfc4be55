// Batches of every sampling arm against the full population: gradient and crisis-value estimator errors.
#include "manyworlds/app/sampling_diagnostic.hpp"

#include <cmath>

namespace manyworlds {

namespace {

double crisis_value(const Experience& e) {
  return e.crisis_truth() ? static_cast<double>(e.expected_reward + e.expected_cost) : 0.0;
}

// Samples with advantages standardised by the population's mean and deviation (the same transform
// for the population and every batch, so their gradients are comparable).
struct Standardiser {
  double mean = 0;
  double scale = 1;
  TrainingSample operator()(const Experience& e, double weight) const {
    TrainingSample sample = training_sample(e, weight);
    sample.advantage = static_cast<float>((sample.advantage - mean) * scale);
    return sample;
  }
};

Standardiser standardiser(std::span<const Experience> experiences) {
  double sum = 0;
  for (const Experience& e : experiences) sum += e.advantage;
  const double mean = sum / static_cast<double>(experiences.size());
  double squares = 0;
  for (const Experience& e : experiences) squares += (e.advantage - mean) * (e.advantage - mean);
  const double deviation = std::sqrt(squares / static_cast<double>(experiences.size()));
  return {mean, deviation > 0 ? 1.0 / deviation : 1.0};
}

}  // namespace

std::vector<SamplingArm> sampling_arms(const SamplingSection& job) {
  std::vector<SamplingArm> arms;
  for (SamplingMode mode : {SamplingMode::proportional, SamplingMode::stratified, SamplingMode::without_replacement}) {
    SamplingSection sampling = job;
    sampling.mode = mode;
    sampling.beta_start = sampling.beta_end = 1.0;
    arms.push_back({to_string(mode), sampling});
  }
  SamplingSection uniform = job;
  uniform.mode = SamplingMode::proportional;
  uniform.crisis_weight = 1.0;
  uniform.advantage_priority = false;
  uniform.beta_start = uniform.beta_end = 1.0;
  arms.push_back({"uniform", uniform});
  return arms;
}

std::vector<ArmDiagnosis> diagnose_sampling(std::span<const Experience> experiences, std::span<const WorldSlice> worlds,
                                            int iteration, const JobConfig& job, const PolicyModel& model,
                                            const std::vector<double>& parameters, int draws) {
  const Eigen::VectorXd params = Eigen::Map<const Eigen::VectorXd>(parameters.data(), model.parameter_count());
  const Standardiser standardise = standardiser(experiences);
  std::vector<TrainingSample> population;
  population.reserve(experiences.size());
  double crisis_total = 0;
  for (const Experience& e : experiences) {
    population.push_back(standardise(e, 1.0));
    crisis_total += crisis_value(e);
  }
  const Eigen::VectorXd truth = policy_gradient(model, job.ppo, params, population);
  const Eigen::VectorXd crisis_truth =
      Eigen::VectorXd::Constant(1, crisis_total / static_cast<double>(experiences.size()));
  SerialCollectives serial;
  std::vector<ArmDiagnosis> result;
  for (const SamplingArm& arm : sampling_arms(job.sampling)) {
    std::vector<Eigen::VectorXd> gradients;
    std::vector<Eigen::VectorXd> crisis_estimates;
    double ess = 0;
    for (int k = 0; k < draws; ++k) {
      const BatchSampler sampler(arm.sampling, job.run.seed + 1 + static_cast<std::uint64_t>(k));
      const SampledBatch batch = sampler.draw(experiences, worlds, iteration, 1.0, serial);
      std::vector<TrainingSample> samples;
      double crisis = 0;
      for (const BatchRow& row : batch.rows) {
        samples.push_back(standardise(row.experience, row.weight));
        crisis += row.weight * crisis_value(row.experience);
      }
      gradients.push_back(policy_gradient(model, job.ppo, params, samples));
      crisis_estimates.push_back(Eigen::VectorXd::Constant(1, crisis / static_cast<double>(samples.size())));
      ess += summarize_batch(batch.rows, serial).effective_sample_size / draws;
    }
    result.push_back(
        {arm.name, estimator_error(gradients, truth), estimator_error(crisis_estimates, crisis_truth), ess});
  }
  return result;
}

}  // namespace manyworlds
