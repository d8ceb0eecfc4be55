// The actor-critic model: policy trunk with bid-mean and creative-logit heads, log_std, and a value MLP.
#pragma once

#include <Eigen/Core>

#include "manyworlds/core/config.hpp"
#include "manyworlds/core/experience.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/learn/mlp.hpp"

namespace manyworlds {

// The log bid multiplier a prior rule bids at `obs` (0 for BidPrior::none), in float.
float bid_prior_mean(BidPrior prior, float offset, const Observation& obs);

// The policy's distribution at one observation, in double precision.
struct PolicyDistribution {
  double mean = 0;         // mean of the (unclamped) Gaussian log bid multiplier
  double log_std = 0;      // its log standard deviation (state independent)
  Eigen::VectorXd logits;  // the model's C creative logits
};

// Shape and maths of the actor-critic; the parameters live in one flat vector (theta) outside.
//
// Flat parameter layout (size parameter_count()):
//   [0, log_std_index())              policy MLP: obs_dim -> PolicySection::hidden (tanh) -> 1 + C (linear);
//                                     output 0 is the mean of the log bid multiplier, outputs 1..C are
//                                     the creative logits (two linear heads on one trunk); inner layout
//                                     as documented in Mlp
//   log_std_index()                   log standard deviation of the log bid multiplier
//   [value_offset(), parameter_count()) value MLP: obs_dim -> PolicySection::value_hidden (tanh) -> 1
class PolicyModel {
 public:
  // `creatives` (C >= 1) is the largest creative count of any world. Throws std::invalid_argument on a bad shape.
  PolicyModel(const PolicySection& policy, int creatives);

  int creatives() const { return creatives_; }
  // PolicySection::max_abs_log_multiplier rounded to float, as actions are stored in float.
  float action_bound() const { return action_bound_; }
  // What the bid mean adds to the network's output 0 (PolicySection::bid_prior).
  float mean_offset(const Observation& obs) const { return bid_prior_mean(prior_, prior_offset_, obs); }
  BidPrior bid_prior() const { return prior_; }
  float prior_offset() const { return prior_offset_; }
  const Mlp& policy_net() const { return policy_net_; }
  const Mlp& value_net() const { return value_net_; }
  Eigen::Index log_std_index() const { return policy_net_.parameter_count(); }
  Eigen::Index value_offset() const { return log_std_index() + 1; }
  Eigen::Index parameter_count() const { return value_offset() + value_net_.parameter_count(); }

  // Policy-head weights Glorot-uniform times 0.01 (a near-uniform, near-zero-mean start), hidden
  // and value weights Glorot-uniform, biases 0, log_std = PolicySection::init_log_std. Draws come
  // from `stream` (use Purpose::training) in layout order.
  Eigen::VectorXd initial_parameters(Stream& stream) const;

  // Single-observation evaluation in double (for tests, evaluation and diagnostics; allocates).
  PolicyDistribution distribution(const Eigen::VectorXd& params, const Observation& obs) const;
  // log p(log_bid_multiplier, creative) = clamped-Gaussian log-probability (see bid_log_prob)
  // + log softmax over the first active_creatives(creatives, C) logits.
  double log_prob(const Eigen::VectorXd& params, const Observation& obs, float log_bid_multiplier, int creative,
                  int creatives = 0) const;
  // Gaussian entropy (unclamped) + categorical entropy over the active creatives.
  double entropy(const Eigen::VectorXd& params, const Observation& obs, int creatives = 0) const;
  double value(const Eigen::VectorXd& params, const Observation& obs) const;

  auto policy_params(const Eigen::VectorXd& params) const { return params.head(log_std_index()); }
  auto value_params(const Eigen::VectorXd& params) const {
    return params.segment(value_offset(), value_net_.parameter_count());
  }

 private:
  int creatives_;
  float action_bound_;
  BidPrior prior_;
  float prior_offset_;
  double init_log_std_;
  Mlp policy_net_;
  Mlp value_net_;
};

// One observation as a 1 x obs_dim double row.
RowMatrix observation_row(const Observation& obs);

}  // namespace manyworlds
