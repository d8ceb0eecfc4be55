// The sample part of an iteration: the importance-sampled batch and the behaviour policy at its rows.
#include "manyworlds/app/iteration_parts.hpp"
#include "manyworlds/learn/inference_policy.hpp"

namespace manyworlds {

SamplePart::SamplePart(const JobConfig& config, const PolicyModel& model, const Priors& priors)
    : config_(config), model_(model), priors_(priors), sampler_(config.sampling, config.run.seed) {}

SampledBatch SamplePart::run(int iteration, std::span<const Experience> experiences, std::span<const WorldSlice> slices,
                             Collectives& collectives) const {
  const double beta = config_.sampling.mode == SamplingMode::proportional
                          ? beta_at(config_.sampling, iteration, config_.run.iterations)
                          : 1.0;
  return sampler_.draw(experiences, slices, iteration, beta, collectives);
}

BehaviourColumns SamplePart::behaviour_of(std::span<const BatchRow> rows, const std::vector<double>& parameters) const {
  InferencePolicy policy(model_, parameters, InferencePolicy::Mode::sample);
  BehaviourColumns columns;
  columns.log_std = policy.log_std();
  const auto creatives = static_cast<std::size_t>(model_.creatives());
  columns.creative_log_prob.resize(rows.size() * creatives);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const int world_creatives = priors_.creatives;
    columns.bid_mean.push_back(
        policy.distribution(rows[i].experience.obs, world_creatives, columns.creative_log_prob.data() + i * creatives));
  }
  return columns;
}

}  // namespace manyworlds
