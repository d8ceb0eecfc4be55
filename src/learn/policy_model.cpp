// The actor-critic model's initialisation and single-observation evaluation in double precision.
#include "manyworlds/learn/policy_model.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include "manyworlds/learn/action_distribution.hpp"
#include "manyworlds/world/observation.hpp"

namespace manyworlds {
namespace {

constexpr double policy_output_gain = 0.01;
constexpr int max_creatives = 255;  // Experience::creative is one byte

int checked_creatives(int creatives) {
  if (creatives < 1 || creatives > max_creatives) {
    throw std::invalid_argument("the policy needs 1.." + std::to_string(max_creatives) + " creatives, got " +
                                std::to_string(creatives));
  }
  return creatives;
}

float checked_bound(double max_abs_log_multiplier) {
  if (!(max_abs_log_multiplier > 0.0)) {
    throw std::invalid_argument("policy.max_abs_log_multiplier must be positive, got " +
                                std::to_string(max_abs_log_multiplier));
  }
  return static_cast<float>(max_abs_log_multiplier);
}

}  // namespace

RowMatrix observation_row(const Observation& obs) {
  RowMatrix row(1, obs_dim);
  for (int k = 0; k < obs_dim; ++k) row(0, k) = obs[static_cast<std::size_t>(k)];
  return row;
}

PolicyModel::PolicyModel(const PolicySection& policy, int creatives)
    : creatives_(checked_creatives(creatives)),
      action_bound_(checked_bound(policy.max_abs_log_multiplier)),
      prior_(policy.bid_prior),
      prior_offset_(static_cast<float>(policy.prior_offset)),
      init_log_std_(policy.init_log_std),
      policy_net_(obs_dim, policy.hidden, 1 + creatives),
      value_net_(obs_dim, policy.value_hidden, 1) {}

Eigen::VectorXd PolicyModel::initial_parameters(Stream& stream) const {
  Eigen::VectorXd params(parameter_count());
  policy_net_.initialize(params.head(log_std_index()), stream, policy_output_gain);
  params[log_std_index()] = init_log_std_;
  value_net_.initialize(params.segment(value_offset(), value_net_.parameter_count()), stream, 1.0);
  return params;
}

PolicyDistribution PolicyModel::distribution(const Eigen::VectorXd& params, const Observation& obs) const {
  MlpCache cache;
  const RowMatrix& out = policy_net_.forward(policy_params(params), observation_row(obs), cache);
  return {out(0, 0) + mean_offset(obs), params[log_std_index()], out.row(0).tail(creatives_).transpose()};
}

float bid_prior_mean(BidPrior prior, float offset, const Observation& obs) {
  switch (prior) {
    case BidPrior::none:
      return 0.0f;
    case BidPrior::value:
      return obs[obs::log_value_per_click] + offset;
    case BidPrior::adaptive_pacing:
      return obs[obs::log_value_per_click] + offset - obs[obs::pacing_pressure];
  }
  return 0.0f;
}

double PolicyModel::log_prob(const Eigen::VectorXd& params, const Observation& obs, float log_bid_multiplier,
                             int creative, int creatives) const {
  const PolicyDistribution d = distribution(params, obs);
  const int n = active_creatives(creatives, creatives_);
  std::vector<double> scratch(2 * static_cast<std::size_t>(n));
  const CategoricalTerms cat =
      categorical_terms(std::span<const double>(d.logits.data(), static_cast<std::size_t>(n)), creative,
                        std::span<double>(scratch).first(n), std::span<double>(scratch).last(n));
  return bid_log_prob(log_bid_multiplier, d.mean, d.log_std, action_bound_).value + cat.log_prob;
}

double PolicyModel::entropy(const Eigen::VectorXd& params, const Observation& obs, int creatives) const {
  const PolicyDistribution d = distribution(params, obs);
  const int n = active_creatives(creatives, creatives_);
  std::vector<double> scratch(2 * static_cast<std::size_t>(n));
  const CategoricalTerms cat =
      categorical_terms(std::span<const double>(d.logits.data(), static_cast<std::size_t>(n)), 0,
                        std::span<double>(scratch).first(n), std::span<double>(scratch).last(n));
  return gaussian_entropy(d.log_std) + cat.entropy;
}

double PolicyModel::value(const Eigen::VectorXd& params, const Observation& obs) const {
  MlpCache cache;
  return value_net_.forward(value_params(params), observation_row(obs), cache)(0, 0);
}

}  // namespace manyworlds
