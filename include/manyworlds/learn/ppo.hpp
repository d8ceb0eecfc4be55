// The PPO trainer: shuffled minibatch epochs of the importance-weighted loss, gradient clipping, Adam.
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <span>
#include <vector>

#include "manyworlds/core/config.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/learn/adam.hpp"
#include "manyworlds/learn/policy_model.hpp"
#include "manyworlds/learn/ppo_loss.hpp"

namespace manyworlds {

// Diagnostics of one update. Loss terms are self-normalised weighted means, sum_i w_i x_i / sum_i w_i,
// accumulated over every minibatch of every epoch, each with the parameters before its step (they
// equal the optimised loss's terms when the weights average 1; NaN when every weight is 0).
struct PpoStats {
  double policy_loss = 0;          // -min(r A, clip(r) A)
  double value_loss = 0;           // (V - target)^2, before value_coef
  double entropy = 0;              // policy entropy (Gaussian + categorical)
  double approx_kl = 0;            // logp_old - logp_new
  double clip_fraction = 0;        // share of samples with |r - 1| > clip
  double grad_norm = 0;            // mean over minibatches of the global gradient norm before clipping
  double explained_variance = 0;   // 1 - Var_w(target - V) / Var_w(target), V = value head before the update; NaN if Var_w(target) = 0
  std::int64_t minibatches = 0;    // optimiser steps taken
  int epochs = 0;                  // epochs run (fewer than ppo.epochs when target_kl stopped the update)
  double learning_rate = 0;        // the learning rate of this update
};

// The learning rate of update `iteration` of `iterations`: ppo.learning_rate annealed linearly to
// ppo.final_learning_rate at the last iteration (constant when final_learning_rate < 0).
double learning_rate_at(const PpoSection& ppo, int iteration, int iterations);

// Holds the model's parameters and Adam state; rank 0 owns one. Fully deterministic: the same
// parameters, optimiser state, batch and shuffle stream give bitwise the same results (all sums in
// a fixed order, no threads, no cache-size-dependent blocking; see Mlp).
class PpoTrainer {
 public:
  // Throws std::invalid_argument on a parameter-size mismatch, epochs < 1 or minibatch_size < 1.
  PpoTrainer(const PolicyModel& model, const PpoSection& ppo, Eigen::VectorXd parameters);

  // `epochs` passes; each reorders the batch by a Fisher-Yates shuffle drawn with
  // shuffle_stream.below() (continuing from the previous pass's order) and steps once per
  // consecutive chunk of minibatch_size samples (the last chunk may be smaller). Each step: the
  // chunk's ppo_loss gradient, scaled down to max_grad_norm if its norm exceeds it (max_grad_norm
  // <= 0 disables clipping), then Adam at `learning_rate` (< 0: ppo.learning_rate). After an epoch whose weighted mean
  // approximate KL exceeds ppo.target_kl (> 0), no further epoch runs. Throws std::invalid_argument
  // on an empty batch.
  PpoStats update(std::span<const TrainingSample> batch, Stream& shuffle_stream, double learning_rate = -1);

  // ppo_loss of `samples` at the current parameters (grad resized and overwritten).
  double loss_and_gradient(std::span<const TrainingSample> samples, Eigen::VectorXd& grad) const;

  const PolicyModel& model() const { return model_; }
  const Eigen::VectorXd& parameters() const { return parameters_; }

  // For broadcast and checkpoints. The import functions throw std::invalid_argument on a size mismatch.
  std::vector<double> export_parameters() const;
  void import_parameters(std::span<const double> parameters);
  std::vector<double> export_optimizer_state() const { return adam_.state(); }  // Adam layout: [t, m..., v...]
  void import_optimizer_state(std::span<const double> state) { adam_.set_state(state); }

 private:
  PolicyModel model_;
  PpoSection ppo_;
  Eigen::VectorXd parameters_;
  Adam adam_;
};

}  // namespace manyworlds
