// What each sampling arm's batches estimate, against the whole population of one iteration (one rank).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "manyworlds/core/config.hpp"
#include "manyworlds/learn/gradient_diagnostic.hpp"
#include "manyworlds/sampling/sampler.hpp"

namespace manyworlds {

// A sampling rule to compare: the three modes with the job's settings and weights made unbiased
// (beta 1), and uniform sampling (every experience equally likely) at the same batch size.
struct SamplingArm {
  std::string name;
  SamplingSection sampling;
};
std::vector<SamplingArm> sampling_arms(const SamplingSection& job);

// One arm's batches against the population: the policy gradient, and the mean expected conversion
// value of crisis-parent experiences per experience (what weighting towards crisis events should
// estimate better).
struct ArmDiagnosis {
  std::string arm;
  EstimatorError gradient;
  EstimatorError crisis_value;
  double effective_sample_size = 0;  // mean Kish ESS of its batches
};

// `draws` batches per arm from one iteration's experiences (all of them: one rank), each drawn
// with its own sampler seed; event types and advantages must be set.
std::vector<ArmDiagnosis> diagnose_sampling(std::span<const Experience> experiences, std::span<const WorldSlice> worlds,
                                            int iteration, const JobConfig& job, const PolicyModel& model,
                                            const std::vector<double>& parameters, int draws);

}  // namespace manyworlds
