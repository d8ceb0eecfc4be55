// The /evaluation group: validation rounds (growable) and the test results, shared by run and evaluate.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "manyworlds/core/config.hpp"
#include "manyworlds/io/hdf5.hpp"
#include "manyworlds/learn/baselines.hpp"
#include "manyworlds/learn/evaluation.hpp"
#include "manyworlds/world/world.hpp"

namespace manyworlds {

// What the validation worlds are measured against; rank 0 holds it (all validation worlds, in order).
struct ValidationReferences {
  std::vector<std::int32_t> world_type;  // [validation world]
  std::vector<double> constant_return;   // tuned constant bid's expected return
  std::vector<double> hindsight_return;  // hindsight optimum's expected return
  std::vector<BaselineSpec> tuned;       // [family]: the baselines' tuned constants
};

// One validation round of the policy; rank 0 holds it.
struct ValidationRound {
  int iteration = 0;
  std::vector<double> returns;  // [validation world]: the policy's expected return
  Interval score;               // mean normalised score with its bootstrap 95% CI
  double mean_return = 0;
  std::vector<double> parameters;  // the evaluated snapshot
};

// The test evaluation; rank 0 holds it (all test worlds, in order).
struct TestResults {
  std::vector<std::string> strategies;
  std::vector<std::int32_t> world_type;      // [test world]
  std::vector<double> hindsight_multiplier;  // [test world]: the hindsight optimum's c
  std::vector<EpisodeStats> outcomes;        // [strategy][test world]
  ScoreSummary summary;                      // comparison strategy: adaptive_pacing
  int selected_iteration = -1;               // iteration whose snapshot is the reported policy
  std::vector<BaselineSpec> tuned;
};

// Growable validation datasets under /evaluation/validation (created or reopened).
class ValidationDatasets {
 public:
  // Collective: creates /evaluation (attributes from `job` and `strategies`) with its validation group.
  static ValidationDatasets create(const h5::Group& root, const JobConfig& job, std::int64_t validation_worlds,
                                   std::int64_t parameters, const std::vector<std::string>& strategies);
  static ValidationDatasets open(const h5::Group& root);
  // Collective: appends rank 0's round.
  void append(const ValidationRound& round, bool root);
  int rounds() const { return rounds_; }

 private:
  std::map<std::string, h5::Dataset> datasets_;
  int rounds_ = 0;
};

// Collective: rank 0's validation references under /evaluation/validation (once, before the first round).
void write_validation_references(const h5::Group& file_root, const ValidationReferences& references,
                                 std::int64_t validation_worlds, bool root);

// Collective: writes rank 0's test results under `parent`/test (and the selection and tuning
// attributes on `parent`). `results.strategies` and `tuned` must be set on every rank.
void write_test_results(const h5::Group& parent, const TestResults& results, std::int64_t test_worlds, int world_types,
                        bool root);

}  // namespace manyworlds
