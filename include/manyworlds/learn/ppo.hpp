// The PPO trainer: minibatch epochs of the importance-weighted loss over a batch spread over ranks, exact gradient
// sums, Adam.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <vector>

#include "manyworlds/core/collectives.hpp"
#include "manyworlds/core/config.hpp"
#include "manyworlds/learn/adam.hpp"
#include "manyworlds/learn/policy_model.hpp"
#include "manyworlds/learn/ppo_loss.hpp"
#include "manyworlds/sampling/exact_sum.hpp"

namespace manyworlds {

// Diagnostics of one update, the same on every rank. Loss terms are self-normalised weighted means,
// sum_i w_i x_i / sum_i w_i, accumulated over every minibatch of every epoch, each with the
// parameters before its step (they equal the optimised loss's terms when the weights average 1;
// NaN when every weight is 0). Sums are exact per epoch (ExactSum), then added in epoch order.
struct PpoStats {
  double policy_loss = 0;    // -min(r A, clip(r) A)
  double value_loss = 0;     // (V - target)^2, before value_coef
  double entropy = 0;        // policy entropy (Gaussian + categorical)
  double approx_kl = 0;      // logp_old - logp_new
  double clip_fraction = 0;  // share of samples with |r - 1| > clip
  double grad_norm = 0;      // mean over minibatches of the global gradient norm before clipping
  double explained_variance =
      0;  // 1 - Var_w(target - V) / Var_w(target), V = value head before the update; NaN if Var_w(target) = 0
  double last_epoch_kl = 0;      // approx_kl of the last epoch run alone (exact, the same on every rank)
  double learning_rate = 0;      // the learning rate of this update
  std::int64_t minibatches = 0;  // optimiser steps taken
  std::int64_t epochs = 0;       // epochs run (fewer than ppo.epochs when target_kl stopped the update)
};

// The learning rate of update `iteration` of `iterations`: ppo.learning_rate annealed linearly to
// ppo.final_learning_rate at the last iteration (constant when final_learning_rate < 0).
double learning_rate_at(const PpoSection& ppo, int iteration, int iterations);

// This rank's share of a batch whose rows may be spread over ranks. The global batch order is
// rank order: rank r's rows are rows [first_row, first_row + samples.size()). Each world's rows
// must all be on one rank (the partial gradients are per world).
struct LocalBatch {
  std::vector<TrainingSample> samples;  // this rank's rows, in global batch order
  std::vector<std::int64_t> worlds;     // the world of each row
  std::int64_t first_row = 0;           // global batch index of samples[0]
  std::int64_t total_rows = 0;          // rows over all ranks
};

// A whole batch held by one process, every row in world 0 (for single-process use and tests).
LocalBatch single_rank_batch(std::span<const TrainingSample> samples);

// Wall-clock seconds of the last update on this rank, for /runtime.
struct UpdateTiming {
  double compute_seconds = 0;  // this rank's rows: forward and backward passes, per-world partials, row sums
  double combine_seconds = 0;  // exact reductions (with waiting for other ranks), clipping, Adam
};

// Holds the model's parameters and Adam state; every rank owns one, and they stay bitwise equal:
// each rank computes the partial gradients of its own rows, ExactSum combines them into the
// correctly rounded sum of the per-world partials (independent of the partition and rank count),
// and every rank applies the same clipping and Adam step. No threads, no cache-size-dependent
// blocking (see Mlp), so the same inputs give the same bits.
class PpoTrainer {
 public:
  // Throws std::invalid_argument on a parameter-size mismatch, epochs < 1 or minibatch_size < 1.
  PpoTrainer(const PolicyModel& model, const PpoSection& ppo, Eigen::VectorXd parameters);

  // Collective over `collectives`. Up to `epochs` passes; pass e orders the batch's global row
  // indices by Permutation(seed, iteration, e, total_rows) and steps once per consecutive chunk of
  // minibatch_size positions (the last chunk may be smaller). Each step: the chunk's ppo_loss
  // gradient (n = the chunk's rows on all ranks) as the exact sum of per-world partials, scaled
  // down to max_grad_norm if its norm exceeds it (max_grad_norm <= 0 disables clipping), then
  // Adam at `learning_rate` (< 0: ppo.learning_rate). After an epoch whose weighted mean
  // approximate KL over all ranks (exact) exceeds ppo.target_kl (> 0), no further epoch runs.
  // Throws std::invalid_argument (on every rank) when the batch is empty.
  PpoStats update(const LocalBatch& batch, std::uint64_t seed, std::uint32_t iteration, Collectives& collectives,
                  double learning_rate = -1);
  // The same for a batch held whole by this process (single_rank_batch).
  PpoStats update(std::span<const TrainingSample> batch, std::uint64_t seed, std::uint32_t iteration,
                  double learning_rate = -1);

  // Collective: the gradient of the whole batch as one minibatch (n = total_rows) at the current
  // parameters, combined exactly like an update's (for tests of the reduction).
  Eigen::VectorXd batch_gradient(const LocalBatch& batch, Collectives& collectives);

  // ppo_loss of `samples` at the current parameters (grad resized and overwritten).
  double loss_and_gradient(std::span<const TrainingSample> samples, Eigen::VectorXd& grad) const;

  const PolicyModel& model() const { return model_; }
  const Eigen::VectorXd& parameters() const { return parameters_; }
  const UpdateTiming& last_timing() const { return timing_; }

  // For checkpoints. The import functions throw std::invalid_argument on a size mismatch.
  std::vector<double> export_parameters() const;
  void import_parameters(std::span<const double> parameters);
  std::vector<double> export_optimizer_state() const { return adam_.state(); }  // Adam layout: [t, m..., v...]
  void import_optimizer_state(std::span<const double> state) { adam_.set_state(state); }

 private:
  // Adds the per-world partial gradients and loss terms of `rows` (indices into batch.samples,
  // in minibatch order) to gradient_ and sums.
  void add_rows(const LocalBatch& batch, std::span<const std::uint32_t> rows, double minibatch_rows, ExactSum& sums);

  PolicyModel model_;
  PpoSection ppo_;
  Eigen::VectorXd parameters_;
  Adam adam_;
  ExactSum gradient_;
  PpoWorkspace workspace_;
  std::vector<std::uint32_t> grouped_;  // a minibatch's rows grouped by world
  std::vector<TrainingSample> chunk_;
  std::vector<std::size_t> world_ends_;
  UpdateTiming timing_;
};

}  // namespace manyworlds
