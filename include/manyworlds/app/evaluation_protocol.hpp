// How a run judges its policy: baselines tuned on training worlds, snapshots chosen on validation
// worlds, every strategy scored once on test worlds.
#pragma once

#include <cstdint>
#include <vector>

#include "manyworlds/app/job.hpp"
#include "manyworlds/app/progress.hpp"
#include "manyworlds/core/collectives.hpp"
#include "manyworlds/core/partition.hpp"
#include "manyworlds/io/evaluation_output.hpp"
#include "manyworlds/learn/policy_model.hpp"

namespace manyworlds {

// The reported policy so far: the validation round with the highest mean normalised score.
struct SelectedSnapshot {
  int iteration = -1;  // training iterations completed when it was validated; -1: none yet
  double score = 0;
  std::vector<double> parameters;
};

// Every rank holds a contiguous block of balanced estimated cost of the validation, test and tuning
// worlds (so no rank waits for the others' evaluation); rank 0 gathers the
// per-world figures (O(worlds x strategies) bytes) and sums them in world order, so every choice
// and figure is the same for any number of ranks.
class EvaluationProtocol {
 public:
  EvaluationProtocol(const Job& job, const PolicyModel& model, Collectives& collectives);

  // Collective: tunes the baselines on the tuning worlds.
  void tune(const ProgressLog& log);
  // Collective: the tuned constant bid and the hindsight optimum on the validation worlds (after tune).
  void measure_validation_references();
  const ValidationReferences& references() const { return references_; }  // rank 0's

  // Collective: the policy `parameters` (after `iteration` training iterations) on the validation
  // worlds; keeps it as the selected snapshot when its mean score is the best so far.
  ValidationRound validate(int iteration, const std::vector<double>& parameters, const ProgressLog& log);
  const SelectedSnapshot& selected() const { return selected_; }
  void restore_selected(SelectedSnapshot snapshot) { selected_ = std::move(snapshot); }

  // Collective: the selected snapshot, `final_parameters`, the hindsight optimum and the tuned
  // baselines on the test worlds (rank 0 holds the results).
  TestResults test(const std::vector<double>& final_parameters, const ProgressLog& log);

  // This rank's blocks of evaluation worlds (for the output's world parameters).
  const std::vector<World>& validation_worlds() const { return validation_; }
  const std::vector<World>& test_worlds() const { return test_; }
  IdRange validation_range() const { return validation_range_; }
  IdRange test_range() const { return test_range_; }

 private:
  // Collective: this rank's block of `count` worlds (ids id_base + i) of balanced estimated cost.
  IdRange balanced_range(std::int64_t count, std::uint64_t seed, std::uint32_t id_base);
  std::vector<BaselineSpec> tune_baselines();
  std::vector<EpisodeStats> policy_outcomes(std::vector<World>& worlds, const std::vector<double>& parameters);
  Bootstrap bootstrap(std::size_t worlds) const;

  const Job& job_;
  const PolicyModel& model_;
  Collectives& collectives_;
  std::size_t capacity_;
  IdRange validation_range_;
  IdRange test_range_;
  IdRange tuning_range_;
  std::vector<World> validation_;
  std::vector<World> test_;
  std::vector<World> tuning_;
  std::vector<Experience> scratch_;
  ValidationReferences references_;
  std::vector<BaselineSpec> tuned_;  // every rank's copy
  SelectedSnapshot selected_;
};

// The test results as log lines: per strategy its mean normalised score with the CI, the paired
// difference to adaptive pacing, mean return and success share; then per world type.
std::vector<std::string> describe_test_results(const TestResults& results, const std::vector<std::string>& type_names);

}  // namespace manyworlds
