// The policy's action distribution: a clamped Gaussian log bid multiplier and a categorical creative.
#pragma once

#include <span>

namespace manyworlds {

// A log-probability and its derivatives with respect to the Gaussian's mean and log standard deviation.
struct BidLogProb {
  double value = 0;
  double d_mean = 0;
  double d_log_std = 0;
};

// The bid action is a = clamp(x, -bound, bound) with x ~ N(mean, exp(log_std)^2): a Gaussian
// density inside the bounds plus a point mass at each bound. This returns the exact
// log-probability of the action actually taken: inside the bounds the Gaussian log-density at a,
// at a bound (|a| >= bound) the log of the Gaussian tail mass beyond it. The inference policy and
// the PPO loss both use it on the same stored float action, so PPO's ratios are exact for every
// sample, including clamped ones.
BidLogProb bid_log_prob(double action, double mean, double log_std, double bound);

// Entropy of the unclamped Gaussian, 0.5 * log(2 pi e) + log_std (the clamp's point masses are
// ignored: this is the entropy bonus's regulariser, not a reported probability).
double gaussian_entropy(double log_std);

// Log of the standard normal upper tail, log Q(z), and the inverse Mills ratio phi(z) / Q(z)
// (= -d log Q / dz), accurate for any finite z (asymptotic series where Q underflows).
struct NormalTail {
  double log_q = 0;
  double mills = 0;
};
NormalTail normal_tail(double z);

// How many creatives the policy chooses among: the world's count `requested` capped at the
// model's count; requested <= 0 means all of the model's creatives. Creatives beyond it get
// probability 0.
int active_creatives(int requested, int model_creatives);

// Log-probability of `index` and entropy of softmax(logits), with their gradients w.r.t. the logits.
struct CategoricalTerms {
  double log_prob = 0;
  double entropy = 0;
};
CategoricalTerms categorical_terms(std::span<const double> logits, int index, std::span<double> d_log_prob,
                                   std::span<double> d_entropy);

}  // namespace manyworlds
