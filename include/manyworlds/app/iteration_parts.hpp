// The parts of one run iteration (simulate, classify, sample, train, evaluate, record, checkpoint), each usable alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "manyworlds/app/evaluation_protocol.hpp"
#include "manyworlds/app/job.hpp"
#include "manyworlds/app/timed_collectives.hpp"
#include "manyworlds/core/state_record.hpp"
#include "manyworlds/io/output_file.hpp"
#include "manyworlds/learn/policy_model.hpp"
#include "manyworlds/learn/ppo.hpp"
#include "manyworlds/sampling/event_types.hpp"
#include "manyworlds/sampling/sampler.hpp"
#include "manyworlds/world/lockstep.hpp"
#include "manyworlds/world/world.hpp"

namespace manyworlds {

// The parts take a Collectives (MpiCollectives in a run, SerialCollectives in unit tests) and
// leave the agreement on failures (agreed) and the timing of phases to the run loop (runner.cpp).

// Per-world sums a rank sends to rank 0 each iteration (so rank 0 can add them in world order).
struct WorldIterationSummary {
  EpisodeStats stats;
  double log_multiplier_sum = 0;
};

// simulate: a rank's worlds in lockstep with the current policy; each episode's values and
// advantages are computed when it ends; the experiences land in world order.
class SimulatePart {
 public:
  // `config` and `model` must outlive the part. `lanes`: worlds stepped in lockstep (RunOptions::lanes).
  SimulatePart(const JobConfig& config, const PolicyModel& model, std::size_t lanes);

  // Reserves room for `experiences` rows (at most run.max_experiences_per_rank); std::bad_alloc if it cannot.
  void reserve(std::size_t experiences);

  struct Result {
    std::vector<WorldIterationSummary> summaries;  // one per world, in the order of `worlds`
    std::vector<WorldSlice> slices;                // each world's rows in experiences()
  };
  // Runs iteration `iteration`'s episodes of `worlds` with the policy `parameters`; the rows
  // replace experiences(). RuntimeFailure if they would exceed run.max_experiences_per_rank.
  Result run(int iteration, std::span<World> worlds, const std::vector<double>& parameters);

  std::vector<Experience>& experiences() { return experiences_; }
  const std::vector<Experience>& experiences() const { return experiences_; }

 private:
  const JobConfig& config_;
  const PolicyModel& model_;
  std::size_t capacity_;
  Lockstep lockstep_;
  std::vector<Experience> experiences_;
  std::vector<float> value_scratch_;
};

// classify: the event type of every experience (collective: the value percentile spans all ranks).
class ClassifyPart {
 public:
  ClassifyPart(const JobConfig& config, const Priors& priors);
  IdentificationCounts run(std::span<Experience> experiences, Collectives& collectives) const;

 private:
  EventTyper typer_;
};

// The behaviour policy's distribution at each of a rank's batch rows (for offline learners).
struct BehaviourColumns {
  std::vector<float> bid_mean;
  float log_std = 0;
  std::vector<float> creative_log_prob;  // [row][creative]
};

// sample: the iteration's batch (collective), decided from per-world summaries; rows stay with
// their owners. `beta` follows the job's schedule in proportional mode and is 1 otherwise.
class SamplePart {
 public:
  // `config`, `model` and `priors` must outlive the part.
  SamplePart(const JobConfig& config, const PolicyModel& model, const Priors& priors);
  SampledBatch run(int iteration, std::span<const Experience> experiences, std::span<const WorldSlice> slices,
                   Collectives& collectives) const;
  // The behaviour policy `parameters` at each of `rows`.
  BehaviourColumns behaviour_of(std::span<const BatchRow> rows, const std::vector<double>& parameters) const;

 private:
  const JobConfig& config_;
  const PolicyModel& model_;
  const Priors& priors_;
  BatchSampler sampler_;
};

// train: batch statistics and the PPO update on this rank's own rows (collective); every rank ends
// with the same parameters, so none are broadcast.
class TrainPart {
 public:
  // Starts from the model's initial parameters drawn from the job's seed.
  TrainPart(const JobConfig& config, const PolicyModel& model);

  // Fills the batch and PPO fields of `metrics` (and policy_log_std) and the update split of `runtime`.
  void run(int iteration, const SampledBatch& sampled, TimedCollectives& collectives, IterationMetrics& metrics,
           RuntimeMetrics& runtime);

  const std::vector<double>& parameters() const { return parameters_; }
  PpoTrainer& trainer() { return trainer_; }
  const PpoTrainer& trainer() const { return trainer_; }
  // Sets the parameters and Adam's state (layout of PpoTrainer::export_optimizer_state).
  void restore(const std::vector<double>& parameters, std::span<const double> optimizer_state);

 private:
  const JobConfig& config_;
  const PolicyModel& model_;
  std::vector<double> parameters_;
  PpoTrainer trainer_;
};

// The figures of the batch draw and of the per-world sums (added in world order): rank 0's part of
// an iteration's metrics before the update fills in its own.
IterationMetrics iteration_metrics(const JobConfig& config, std::span<const WorldIterationSummary> summaries,
                                   const IdentificationCounts& identification, const DrawSummary& draw);

// evaluate: validation of the policy every evaluation.every iterations and after the last.
class EvaluatePart {
 public:
  // `protocol` must outlive the part.
  EvaluatePart(const JobConfig& config, EvaluationProtocol& protocol);
  // Whether iteration `iteration` (0-based) ends with a validation round.
  bool due(int iteration) const;
  // Collective: the round of `parameters` after `iterations` training iterations.
  ValidationRound run(int iterations, const std::vector<double>& parameters, const ProgressLog& log);

 private:
  const JobConfig& config_;
  EvaluationProtocol& protocol_;
};

// What an iteration leaves for the output file on this rank.
struct IterationData {
  int iteration = 0;
  std::int64_t first_world = 0;                      // the rank's first world
  std::span<const WorldIterationSummary> summaries;  // its worlds'
  const SampledBatch* batch = nullptr;               // its batch rows
  const BehaviourColumns* behaviour = nullptr;       // the behaviour policy at those rows
  std::span<const double> behaviour_parameters;      // the policy the iteration simulated with
  IterationMetrics metrics;                          // read on rank 0
};

// record: appends an iteration to the output file (collective).
class RecordPart {
 public:
  void run(OutputFile& output, const IterationData& data);

 private:
  std::vector<EpisodeStats> world_stats_;
};

// checkpoint: the learner's state in a checkpoint, one line per field in learner_state and one
// checked read per field in restore_learner_state. Bump learner_state_version when a field changes meaning.
inline constexpr std::int64_t learner_state_version = 2;
StateRecord learner_state(const TrainPart& train, const SelectedSnapshot& selected);
// Restores `train` from `record` and returns the selected snapshot it holds; InputError (naming the
// field) if a field is missing, of the wrong size or out of range. `iterations`: the job's.
SelectedSnapshot restore_learner_state(const StateRecord& record, TrainPart& train, int iterations);

}  // namespace manyworlds
