// Log-probabilities, entropies and their gradients for the clamped Gaussian bid and the softmax creative.
#include "manyworlds/learn/action_distribution.hpp"

#include <algorithm>
#include <cmath>

namespace manyworlds {
namespace {

constexpr double half_log_two_pi = 0.91893853320467274178;  // 0.5 * log(2 pi)
// Above this z, Q(z) = erfc(z / sqrt 2) / 2 nears underflow: use the asymptotic series instead.
constexpr double tail_series_from = 30.0;

}  // namespace

NormalTail normal_tail(double z) {
  if (z > tail_series_from) {
    // Q(z) = phi(z) / z * s, s = 1 - 1/z^2 + 3/z^4 - 15/z^6 + 105/z^8 - ...; at z = 30 the next
    // term is below 2e-12 relative.
    const double r = 1.0 / (z * z);
    const double s = 1.0 + r * (-1.0 + r * (3.0 + r * (-15.0 + r * 105.0)));
    return {-0.5 * z * z - half_log_two_pi - std::log(z) + std::log(s), z / s};
  }
  const double log_q = std::log(0.5 * std::erfc(z * 0.70710678118654752440));
  return {log_q, std::exp(-0.5 * z * z - half_log_two_pi - log_q)};
}

BidLogProb bid_log_prob(double action, double mean, double log_std, double bound) {
  const double sd = std::exp(log_std);
  if (action >= bound) {
    const double z = (bound - mean) / sd;
    const NormalTail tail = normal_tail(z);
    return {tail.log_q, tail.mills / sd, tail.mills * z};
  }
  if (action <= -bound) {
    const double z = (mean + bound) / sd;
    const NormalTail tail = normal_tail(z);
    return {tail.log_q, -tail.mills / sd, tail.mills * z};
  }
  const double u = (action - mean) / sd;
  return {-0.5 * u * u - log_std - half_log_two_pi, u / sd, u * u - 1.0};
}

double gaussian_entropy(double log_std) { return 0.5 + half_log_two_pi + log_std; }

int active_creatives(int requested, int model_creatives) {
  return requested <= 0 ? model_creatives : std::min(requested, model_creatives);
}

CategoricalTerms categorical_terms(std::span<const double> logits, int index, std::span<double> d_log_prob,
                                   std::span<double> d_entropy) {
  const std::size_t n = logits.size();
  double max_logit = logits[0];
  for (std::size_t j = 1; j < n; ++j) max_logit = std::max(max_logit, logits[j]);
  double sum = 0.0;
  for (std::size_t j = 0; j < n; ++j) sum += std::exp(logits[j] - max_logit);
  const double log_sum = std::log(sum);
  double entropy = 0.0;
  for (std::size_t j = 0; j < n; ++j) {
    const double log_p = logits[j] - max_logit - log_sum;
    const double p = std::exp(log_p);
    d_log_prob[j] = -p;
    d_entropy[j] = log_p;  // finished below, once the entropy is known
    entropy -= p * log_p;
  }
  for (std::size_t j = 0; j < n; ++j) d_entropy[j] = d_log_prob[j] * (d_entropy[j] + entropy);
  d_log_prob[static_cast<std::size_t>(index)] += 1.0;
  return {logits[static_cast<std::size_t>(index)] - max_logit - log_sum, entropy};
}

}  // namespace manyworlds
