// The learned policy in float32 for the simulation hot path: act() per decision or per batch, batched values().
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <span>
#include <vector>

#include "manyworlds/core/experience.hpp"
#include "manyworlds/core/vector_isa.hpp"
#include "manyworlds/learn/batch_forward.hpp"
#include "manyworlds/learn/policy_model.hpp"
#include "manyworlds/world/bid_policy.hpp"
#include "manyworlds/world/lockstep.hpp"

namespace manyworlds {

// A read-only float32 copy of a PolicyModel's parameters plus a preallocated workspace.
//
// The act()s and values() allocate nothing (all buffers are sized at construction). An object is
// used by one thread at a time (the workspace is its own); copies are independent.
//
// Every layer computes each row on its own, out_j = b_j + sum_k x_k * W(k, j), with the sum over k
// in an order fixed by the layer's shape (ascending k; output blocks narrower than 32 floats split
// it into 2 or 4 interleaved partial sums added in a fixed tree). One decision at a time the kernel
// is vectorised across j (row_forward); a batch of decisions (the lockstep interface) and values()
// run batch_forward, vectorised across rows; both on `isa` and with the same float operations per
// row. So a row's results are bitwise the same whether it is evaluated alone or in a batch, with
// whatever other rows, in whatever order, on whatever instruction set; no matrix-matrix product
// (whose blocking would depend on the batch) is involved.
class InferencePolicy : public BidPolicy, public BatchBidPolicy {
 public:
  enum class Mode {
    sample,  // draw actions from the policy (training episodes)
    greedy,  // clamped mean bid, creative drawn as in sample mode, log_prob 0 (evaluation: a fixed
             // creative would wear out with fatigue, so the policy's own creative mix is kept)
  };

  // `parameters` is the model's flat vector (PolicyModel layout). Throws std::invalid_argument on a
  // size mismatch, RuntimeFailure if this CPU does not support `isa` (for batches and values()).
  InferencePolicy(const PolicyModel& model, std::span<const double> parameters, Mode mode = Mode::sample,
                  VectorIsa isa = best_vector_isa());

  // Sample mode: x = mean + exp(log_std) * noise.normal, log_bid_multiplier = clamp(x, -bound, +bound)
  // with bound = PolicyModel::action_bound(); creative (both modes) = the first c with noise.uniform * S < sum_{j<=c}
  // e_j (inverse CDF of the softmax over the first active_creatives(creatives, C) logits, e_j their unnormalised
  // probabilities, S their sum); log_prob = bid_log_prob(returned multiplier) + log softmax of the creative, i.e. the
  // exact log-probability of the returned (clamped) action, the same quantity PolicyModel::log_prob and the PPO loss
  // compute from the stored action.
  Action act(const Observation& obs, int creatives, const DecisionNoise& noise) override;
  // The same for many decisions at once (bitwise the same actions): rows vectorised on isa().
  void act(std::span<const Decision> decisions, std::span<Action> actions) override;

  // The policy's distribution at `obs` as act() computes it: returns the Gaussian mean of the log bid
  // multiplier and writes the log-probability of each of the model's C creatives to
  // creative_log_probs[0 .. C) (-infinity beyond the world's `creatives`).
  float distribution(const Observation& obs, int creatives, float* creative_log_probs);
  float log_std() const { return static_cast<float>(log_std_); }

  // V(obs) of `count` experiences into out[0 .. count), rows vectorised on isa().
  void values(const Experience* experiences, std::size_t count, float* out);

  Mode mode() const { return mode_; }
  int creatives() const { return creatives_; }
  VectorIsa isa() const { return isa_; }

 private:
  // Float storage aligned for the SIMD kernels (rows are a multiple of 8 floats long).
  using Buffer = std::vector<float, Eigen::aligned_allocator<float>>;
  struct Layer {
    int inputs = 0;
    int outputs = 0;  // padded to a multiple of the 8-float block; padding weights and biases are 0
    Buffer weights;   // inputs x outputs, row-major
    Buffer bias;      // outputs
  };
  using Network = std::vector<Layer>;

  static Network convert(const Mlp& net, std::span<const double> params);
  // Runs `net` on one input row (row_forward); returns its output (inside the workspace).
  const float* run(const Network& net, const float* input);
  // Points views_ at `net`'s layers; the last layer computes its first `outputs` outputs.
  void set_views(const Network& net, int outputs);
  // Runs `net` on the transposed rows in batch_input_ (batch_forward); computes the last layer's
  // first `outputs` outputs; returns them transposed.
  const float* run_batch(const Network& net, int outputs);
  // The action from the bid mean (network output plus the prior rule's bid) and the creative logits logits[j * stride].
  Action choose(float mean, const float* logits, std::ptrdiff_t stride, int creatives, const DecisionNoise& noise);

  Network policy_;
  Network value_;
  int creatives_;
  float bound_;
  double log_std_;
  double std_;
  Mode mode_;
  VectorIsa isa_;
  int lanes_;       // rows per batch_forward call
  BidPrior prior_;  // the bid mean adds the prior rule's bid (PolicyModel::mean_offset)
  float prior_offset_;
  Buffer front_;                     // workspace: the current layer's output ...
  Buffer back_;                      // ... and the previous one's
  std::vector<float> unnormalised_;  // workspace: exp(logit - max logit) of each creative
  Buffer batch_input_;               // workspace: obs_dim x lanes_, rows transposed
  Buffer batch_a_;                   // workspaces of batch_forward: widest layer x lanes_
  Buffer batch_b_;
  std::vector<DenseLayerView> views_;  // workspace: the layers of the network being run
};

}  // namespace manyworlds
