// The distributed importance sampler: every rank decides the batch alike from all-gathered per-world summaries.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "manyworlds/core/collectives.hpp"
#include "manyworlds/core/config.hpp"
#include "manyworlds/core/experience.hpp"

namespace manyworlds {

// One local world's experiences: [begin, end) into the rank's experience buffer.
struct WorldSlice {
  std::int64_t world = 0;
  std::int64_t begin = 0;
  std::int64_t end = 0;
};

// One row of a training batch.
struct BatchRow {
  Experience experience;
  Observation next_obs{};  // observation of step + 1 (zeros when done)
  double probability =
      0;              // proportional/stratified: chance one draw picks it; without replacement: inclusion probability
  double weight = 0;  // importance weight; the weighted batch mean (1/B) sum w r estimates the population mean
};

// Facts about the population and the draw, identical on every rank.
struct DrawSummary {
  std::int64_t population = 0;         // experiences over all ranks
  std::int64_t crisis_population = 0;  // ... of event type crisis
  double predicted_crisis_share = 0;   // expected crisis share of the batch under the sampling rule
  double beta = 1;                     // weight exponent used (1 unless proportional mode)
  double max_weight = 0;               // largest weight any experience could get (PER normalises by it)
  double threshold = 0;                // without replacement: the priority threshold tau
  std::int64_t crisis_draws = 0;       // stratified: rows drawn from the crisis stratum
};

struct SampledBatch {
  std::vector<BatchRow> rows;  // this rank's rows, in global batch order (by world, then step)
  std::int64_t first_row = 0;  // global batch index of rows[0]
  DrawSummary summary;
};

class BatchSampler {
 public:
  BatchSampler(const SamplingSection& config, std::uint64_t seed);

  // The priority of an experience (before the exponent alpha).
  double priority(const Experience& e) const;

  // Draws iteration `iteration`'s batch (collective). `experiences` are this rank's, each local
  // world's contiguous and in ascending world order as given by `worlds`, and the ranks' worlds
  // ascend with the rank; event types and advantages must be set. Every rank all-gathers the
  // per-world summaries (O(worlds) bytes) and derives the same decision from them: with
  // replacement, every rank draws the same B points and resolves those in its own worlds (O(B)
  // uniforms per rank, nothing sent); without replacement, the threshold key is found by sixteen
  // 16-bin histogram reductions (2 kB per rank, independent of the batch and of the experiences).
  SampledBatch draw(std::span<const Experience> experiences, std::span<const WorldSlice> worlds, int iteration,
                    double beta, Collectives& collectives) const;

 private:
  SampledBatch draw_proportional(std::span<const double> scores, std::span<const Experience> experiences,
                                 std::span<const WorldSlice> worlds, int iteration, double beta,
                                 Collectives& collectives) const;
  SampledBatch draw_stratified(std::span<const double> scores, std::span<const Experience> experiences,
                               std::span<const WorldSlice> worlds, int iteration, Collectives& collectives) const;
  SampledBatch draw_without_replacement(std::span<const double> scores, std::span<const Experience> experiences,
                                        std::span<const WorldSlice> worlds, int iteration,
                                        Collectives& collectives) const;

  SamplingSection config_;
  std::uint64_t seed_;
};

// Batch statistics over the rows of all ranks (collective; exact sums, so rank-count independent).
struct BatchStatistics {
  double crisis_share = 0;        // of event type crisis
  double crisis_truth_share = 0;  // of ground-truth crisis users
  double weight_mean = 0;
  double weight_std = 0;
  double weight_min = 0;
  double weight_max = 0;
  double effective_sample_size = 0;  // Kish: (sum w)^2 / sum w^2
  double weighted_reward_mean = 0;   // (1/B) sum w r: unbiased for the population mean reward
};
BatchStatistics summarize_batch(std::span<const BatchRow> rows, Collectives& collectives);

// Kish effective sample size of a set of weights.
double kish_effective_sample_size(std::span<const double> weights);

}  // namespace manyworlds
