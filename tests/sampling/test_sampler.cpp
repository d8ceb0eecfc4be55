// Statistical proofs of the importance sampler: target distribution, unbiased weights, inclusion probabilities, ESS,
// shares.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iostream>
#include <numeric>
#include <span>
#include <tuple>
#include <vector>

#include "manyworlds/core/collectives.hpp"
#include "manyworlds/core/config.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/experience.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/sampling/sampler.hpp"

namespace manyworlds {
namespace {

// ============================ statistics the tests rely on ============================

// Regularized upper incomplete gamma Q(a, x): the power series of P = 1 - Q below x = a + 1,
// Lentz's continued fraction for Q above (Numerical Recipes, section 6.2). Relative accuracy ~1e-14.
double regularized_upper_gamma(double a, double x) {
  if (x <= 0) return 1.0;
  const double log_prefactor = -x + a * std::log(x) - std::lgamma(a);
  if (x < a + 1) {
    double term = 1.0 / a;
    double sum = term;
    for (int n = 1; n < 100000 && term > sum * 1e-17; ++n) {
      term *= x / (a + n);
      sum += term;
    }
    return 1.0 - sum * std::exp(log_prefactor);
  }
  constexpr double tiny = 1e-300;
  double b = x + 1 - a;
  double c = 1 / tiny;
  double d = 1 / b;
  double fraction = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double delta = d * c;
    fraction *= delta;
    if (std::fabs(delta - 1) < 1e-16) break;
  }
  return std::exp(log_prefactor) * fraction;
}

// P(X >= statistic) for X chi-square distributed with `degrees_of_freedom`: exactly Q(k/2, x/2)
// (no Wilson-Hilferty approximation).
double chi_square_survival(double statistic, int degrees_of_freedom) {
  return regularized_upper_gamma(0.5 * degrees_of_freedom, 0.5 * statistic);
}

struct ChiSquareResult {
  double statistic = 0;
  int degrees_of_freedom = 0;
  double p_value = 1;
  double smallest_expected = 0;  // Pearson's approximation needs this >= 5
};

// Pearson's goodness of fit of `observed` counts against cell `probabilities` (summing to 1).
ChiSquareResult chi_square_test(std::span<const std::int64_t> observed, std::span<const double> probabilities) {
  const double total = static_cast<double>(std::accumulate(observed.begin(), observed.end(), std::int64_t{0}));
  ChiSquareResult result;
  result.smallest_expected = total;
  for (std::size_t cell = 0; cell < observed.size(); ++cell) {
    const double expected = total * probabilities[cell];
    const double difference = static_cast<double>(observed[cell]) - expected;
    result.statistic += difference * difference / expected;
    result.smallest_expected = std::min(result.smallest_expected, expected);
  }
  result.degrees_of_freedom = static_cast<int>(observed.size()) - 1;
  result.p_value = chi_square_survival(result.statistic, result.degrees_of_freedom);
  return result;
}

// Exact two-sided binomial test: the probability of outcomes no more likely than `successes`.
double binomial_two_sided_p_value(std::int64_t successes, std::int64_t trials, double probability) {
  const double n = static_cast<double>(trials);
  const auto log_pmf = [&](std::int64_t k) {
    const double kd = static_cast<double>(k);
    return std::lgamma(n + 1) - std::lgamma(kd + 1) - std::lgamma(n - kd + 1) + kd * std::log(probability) +
           (n - kd) * std::log1p(-probability);
  };
  const double observed = log_pmf(successes);
  double p_value = 0;
  for (std::int64_t k = 0; k <= trials; ++k) {
    const double log_probability = log_pmf(k);
    if (log_probability <= observed + 1e-7) p_value += std::exp(log_probability);
  }
  return std::min(1.0, p_value);
}

// Mean and standard error of independent observations (Welford's update).
class RunningMean {
 public:
  void add(double value) {
    ++count_;
    const double delta = value - mean_;
    mean_ += delta / static_cast<double>(count_);
    squares_ += delta * (value - mean_);
  }
  double mean() const { return mean_; }
  double standard_error() const {
    const double n = static_cast<double>(count_);
    return std::sqrt(squares_ / (n - 1) / n);
  }
  double z_against(double truth) const { return (mean_ - truth) / standard_error(); }

 private:
  std::int64_t count_ = 0;
  double mean_ = 0;
  double squares_ = 0;
};

TEST(SamplerStatisticsTools, ChiSquareSurvivalMatchesKnownValues) {
  // Two degrees of freedom: the survival function is exactly exp(-x/2).
  for (double x : {0.1, 1.0, 5.0, 30.0, 200.0}) EXPECT_NEAR(chi_square_survival(x, 2), std::exp(-x / 2), 1e-14);
  // One degree of freedom: erfc(sqrt(x/2)).
  for (double x : {0.01, 0.5, 3.0, 20.0}) EXPECT_NEAR(chi_square_survival(x, 1), std::erfc(std::sqrt(x / 2)), 1e-13);
  // Critical values and tail probabilities from scipy.stats.chi2 (isf / sf).
  EXPECT_NEAR(chi_square_survival(3.841458820694124, 1), 0.05, 1e-12);
  EXPECT_NEAR(chi_square_survival(18.307038053275146, 10), 0.05, 1e-12);
  EXPECT_NEAR(chi_square_survival(66.15168462853948, 29), 1e-4, 1e-12);
  EXPECT_NEAR(chi_square_survival(12.0, 7), 0.10055886850835878, 1e-13);
  EXPECT_NEAR(chi_square_survival(100.0, 29), 9.783455552333214e-10, 1e-20);
  EXPECT_NEAR(chi_square_survival(0.5, 29), 1.0, 1e-14);
}

TEST(SamplerStatisticsTools, BinomialTestMatchesSmallExactCases) {
  // Fair coin, 10 tosses, 8 heads: P = 2 * (45 + 10 + 1) / 1024.
  EXPECT_NEAR(binomial_two_sided_p_value(8, 10, 0.5), 112.0 / 1024.0, 1e-12);
  EXPECT_NEAR(binomial_two_sided_p_value(5, 10, 0.5), 1.0, 1e-12);
}

// ============================ synthetic populations ============================

constexpr int steps_per_episode = 5;

struct Population {
  std::vector<Experience> experiences;
  std::vector<WorldSlice> worlds;  // world id == its index here

  std::size_t index_of(const Experience& e) const {
    return static_cast<std::size_t>(worlds[static_cast<std::size_t>(e.world)].begin + e.episode * steps_per_episode +
                                    e.step);
  }
  double size() const { return static_cast<double>(experiences.size()); }
};

using Describe = std::function<void(Experience& e, int world, int index)>;

// One world per entry of `sizes` (0: an empty world), episodes of 5 steps; `describe` sets the content.
// The event type follows the ground-truth label.
Population build_population(const std::vector<int>& sizes, const Describe& describe) {
  Population population;
  for (std::size_t world = 0; world < sizes.size(); ++world) {
    WorldSlice slice{static_cast<std::int64_t>(world), static_cast<std::int64_t>(population.experiences.size()), 0};
    for (int index = 0; index < sizes[world]; ++index) {
      Experience e;
      e.world = static_cast<std::int32_t>(world);
      e.episode = index / steps_per_episode;
      e.step = index % steps_per_episode;
      e.obs[0] = static_cast<float>(world);
      e.obs[1] = static_cast<float>(index);
      const bool last = e.step == steps_per_episode - 1 || index + 1 == sizes[world];
      e.flags = last ? flag_done : 0;
      describe(e, static_cast<int>(world), index);
      e.event_type = static_cast<std::uint8_t>(e.crisis_truth() ? EventType::crisis : EventType::regular);
      population.experiences.push_back(e);
    }
    slice.end = static_cast<std::int64_t>(population.experiences.size());
    population.worlds.push_back(slice);
  }
  return population;
}

void mark_crisis(Experience& e, bool crisis) {
  if (crisis) e.flags = static_cast<std::uint8_t>(e.flags | flag_crisis_truth);
}

// 30 experiences over 4 worlds: world 0 mixed, world 1 EMPTY, world 2 regular only, world 3 crisis
// only; advantages vary from 0.05 to 1.85 in size, rewards grow with event weight and |advantage|.
Population mixed_population() {
  return build_population({12, 0, 10, 8}, [](Experience& e, int world, int index) {
    const bool crisis = world == 3 || (world == 0 && index % 3 == 0);
    mark_crisis(e, crisis);
    const double magnitude = 0.05 + 0.15 * ((7 * world + 3 * index) % 13);
    e.advantage = static_cast<float>((index % 2 == 0 ? 1.0 : -1.0) * magnitude);
    e.expected_reward = static_cast<float>((crisis ? 12.0 : -0.5) + 4.0 * magnitude);
  });
}

SamplingSection mixed_config(SamplingMode mode) {
  SamplingSection config;
  config.mode = mode;
  config.batch_size = 16;
  config.crisis_weight = 5.0;
  config.alpha = 0.6;
  config.advantage_priority = true;
  config.priority_epsilon = 0.01;
  config.min_crisis_share = 0.05;
  return config;
}

// `crisis` crisis and `regular` regular experiences over `worlds` worlds of (nearly) equal size,
// the crisis ones spread evenly through the global order; no advantages (event weight only).
Population two_type_population(int crisis, int regular, int worlds) {
  const int total = crisis + regular;
  std::vector<int> sizes(static_cast<std::size_t>(worlds), total / worlds);
  for (int w = 0; w < total % worlds; ++w) ++sizes[static_cast<std::size_t>(w)];
  int global = 0;
  return build_population(sizes, [&](Experience& e, int, int) {
    mark_crisis(e, (global + 1) * crisis / total > global * crisis / total);
    e.expected_reward = static_cast<float>(global % 7);
    e.conversion_value = static_cast<float>(global % 5);  // realized reward = conversion_value - cost
    ++global;
  });
}

SamplingSection event_weight_config(SamplingMode mode, std::int64_t batch, double alpha, double min_share) {
  SamplingSection config;
  config.mode = mode;
  config.batch_size = batch;
  config.crisis_weight = 5.0;
  config.alpha = alpha;
  config.advantage_priority = false;
  config.min_crisis_share = min_share;
  return config;
}

bool is_crisis(const Experience& e) { return e.event_type == static_cast<std::uint8_t>(EventType::crisis); }

// The score s_i = priority^alpha, written out independently of BatchSampler.
std::vector<double> target_scores(const Population& population, const SamplingSection& config) {
  std::vector<double> scores;
  for (const Experience& e : population.experiences) {
    double priority = is_crisis(e) ? config.crisis_weight : 1.0;
    if (config.advantage_priority) priority *= std::fabs(static_cast<double>(e.advantage)) + config.priority_epsilon;
    scores.push_back(std::pow(priority, config.alpha));
  }
  return scores;
}

double sum_of(std::span<const double> values) { return std::accumulate(values.begin(), values.end(), 0.0); }

// Calls `visit(batch)` for the batches of iterations 0 .. batches - 1 (one process).
template <class Visit>
void for_each_batch(const BatchSampler& sampler, const Population& population, int batches, double beta, Visit visit) {
  SerialCollectives serial;
  for (int iteration = 0; iteration < batches; ++iteration)
    visit(sampler.draw(population.experiences, population.worlds, iteration, beta, serial));
}

void report(const char* what, double value) { std::cout << "[ stats    ] " << what << " = " << value << "\n"; }

// ============================ 1. chi-square goodness of fit ============================

// False alarm: each chi-square test rejects a correct sampler with probability 1e-4 (its p-value
// is uniform); the tests below make 3 + 6 such checks, so at most ~1e-3 for the whole set.
constexpr double chi_square_p_threshold = 1e-4;

TEST(SamplerProportional, SampledCountsFollowTheTargetDistribution) {
  const Population population = mixed_population();
  const SamplingSection config = mixed_config(SamplingMode::proportional);
  const auto scores = target_scores(population, config);
  const double total = sum_of(scores);
  std::vector<double> target;
  for (double s : scores) target.push_back(s / total);
  std::vector<double> uniform(scores.size(), 1.0 / population.size());

  for (std::uint64_t seed : {11u, 12u, 13u}) {
    const BatchSampler sampler(config, seed);
    std::vector<std::int64_t> counts(scores.size(), 0);
    for_each_batch(sampler, population, 2000, 1.0, [&](const SampledBatch& batch) {
      for (const BatchRow& row : batch.rows) ++counts[population.index_of(row.experience)];
    });
    const ChiSquareResult fit = chi_square_test(counts, target);
    ASSERT_GE(fit.smallest_expected, 5.0);
    report("proportional chi-square (29 dof)", fit.statistic);
    report("proportional chi-square p-value", fit.p_value);
    EXPECT_GT(fit.p_value, chi_square_p_threshold) << "seed " << seed;
    // Power: the same counts are clearly not uniform (a sampler ignoring priorities would pass this instead).
    EXPECT_LT(chi_square_test(counts, uniform).p_value, 1e-12);
  }
}

TEST(SamplerStratified, SampledCountsFollowTheTargetWithinEachStratum) {
  const Population population = mixed_population();
  const SamplingSection config = mixed_config(SamplingMode::stratified);
  const auto scores = target_scores(population, config);
  double crisis_total = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) crisis_total += is_crisis(population.experiences[i]) ? scores[i] : 0;
  const double regular_total = sum_of(scores) - crisis_total;

  for (std::uint64_t seed : {21u, 22u, 23u}) {
    const BatchSampler sampler(config, seed);
    std::vector<std::int64_t> counts(scores.size(), 0);
    for_each_batch(sampler, population, 2000, 1.0, [&](const SampledBatch& batch) {
      const double crisis_rows = static_cast<double>(batch.summary.crisis_draws);
      for (const BatchRow& row : batch.rows) {
        const std::size_t i = population.index_of(row.experience);
        ++counts[i];
        // P_eff = (n_s / B) s_i / S_s and weight 1 / (N P_eff).
        const double effective = is_crisis(row.experience) ? crisis_rows / 16 * scores[i] / crisis_total
                                                           : (16 - crisis_rows) / 16 * scores[i] / regular_total;
        EXPECT_NEAR(row.probability, effective, 1e-13 * effective);
        EXPECT_NEAR(row.weight, 1 / (population.size() * effective), 1e-12 / (population.size() * effective));
      }
    });
    for (bool crisis : {true, false}) {
      std::vector<std::int64_t> stratum_counts;
      std::vector<double> stratum_scores;
      for (std::size_t i = 0; i < scores.size(); ++i) {
        if (is_crisis(population.experiences[i]) != crisis) continue;
        stratum_counts.push_back(counts[i]);
        stratum_scores.push_back(scores[i]);
      }
      const double stratum_total = sum_of(stratum_scores);
      for (double& s : stratum_scores) s /= stratum_total;
      const ChiSquareResult fit = chi_square_test(stratum_counts, stratum_scores);
      ASSERT_GE(fit.smallest_expected, 5.0);
      report(crisis ? "stratified crisis-stratum chi-square p-value" : "stratified regular-stratum chi-square p-value",
             fit.p_value);
      EXPECT_GT(fit.p_value, chi_square_p_threshold) << "seed " << seed << (crisis ? " crisis" : " regular");
    }
  }
}

TEST(SamplerProportional, RowsCarryTheirExactProbabilityAndWeight) {
  const Population population = mixed_population();
  const SamplingSection config = mixed_config(SamplingMode::proportional);
  const auto scores = target_scores(population, config);
  const double total = sum_of(scores);
  const BatchSampler sampler(config, 5);
  SerialCollectives serial;
  const double beta = 0.7;
  const SampledBatch batch = sampler.draw(population.experiences, population.worlds, 3, beta, serial);
  ASSERT_EQ(batch.rows.size(), 16u);
  for (const BatchRow& row : batch.rows) {
    const double probability = scores[population.index_of(row.experience)] / total;
    EXPECT_NEAR(row.probability, probability, 1e-13 * probability);
    EXPECT_NEAR(row.weight, std::pow(population.size() * probability, -beta), 1e-12);
  }
  const double smallest = *std::min_element(scores.begin(), scores.end());
  EXPECT_NEAR(batch.summary.max_weight, std::pow(population.size() * smallest / total, -beta), 1e-12);
  EXPECT_EQ(batch.summary.population, 30);
  EXPECT_EQ(batch.summary.crisis_population, 12);
  EXPECT_EQ(batch.summary.beta, beta);
  EXPECT_EQ(batch.first_row, 0);
}

TEST(SamplerPriority, IsEventWeightTimesAbsoluteAdvantagePlusEpsilon) {
  SamplingSection config = mixed_config(SamplingMode::proportional);
  const BatchSampler with_advantage(config, 1);
  Experience e;
  e.advantage = -0.5f;
  EXPECT_DOUBLE_EQ(with_advantage.priority(e), 0.5 + 0.01);
  e.event_type = static_cast<std::uint8_t>(EventType::crisis);
  EXPECT_DOUBLE_EQ(with_advantage.priority(e), 5.0 * (0.5 + 0.01));
  config.advantage_priority = false;
  EXPECT_DOUBLE_EQ(BatchSampler(config, 1).priority(e), 5.0);
}

// ============================ 2. binomial test of the crisis share ============================

TEST(SamplerProportional, BatchCrisisShareMatchesTheFormulaNotTheSeedClaim) {
  // 10% crisis (100 of 1000 over 10 worlds), crisis weight 5, no advantage priority.
  const Population population = two_type_population(100, 900, 10);
  struct Expectation {
    double alpha;
    double stated;  // the figure, to 3 decimals
  };
  for (const Expectation& expectation : {Expectation{1.0, 0.357}, Expectation{0.6, 0.226}}) {
    const double alpha = expectation.alpha;
    const double stated = expectation.stated;
    const SamplingSection config = event_weight_config(SamplingMode::proportional, 128, alpha, 0.0);
    const BatchSampler sampler(config, 31);
    const double crisis_mass = 100 * std::pow(5.0, alpha);
    const double formula = crisis_mass / (crisis_mass + 900);
    std::int64_t crisis_rows = 0;
    std::int64_t rows = 0;
    for_each_batch(sampler, population, 500, 1.0, [&](const SampledBatch& batch) {
      EXPECT_NEAR(batch.summary.predicted_crisis_share, formula, 1e-12);
      EXPECT_NEAR(batch.summary.predicted_crisis_share, stated, 1e-3);  // the arithmetic
      for (const BatchRow& row : batch.rows) crisis_rows += is_crisis(row.experience) ? 1 : 0;
      rows += static_cast<std::int64_t>(batch.rows.size());
    });
    // Draws are independent with replacement, so crisis_rows ~ Binomial(rows, formula).
    // False alarm of the threshold: 1e-4 per alpha.
    const double p_value = binomial_two_sided_p_value(crisis_rows, rows, formula);
    report(alpha == 1.0 ? "crisis share at alpha 1" : "crisis share at alpha 0.6",
           static_cast<double>(crisis_rows) / static_cast<double>(rows));
    report("binomial p-value", p_value);
    EXPECT_GT(p_value, 1e-4) << "alpha " << alpha;
    // The seed's "5x weight => 25% crisis" is rejected by the same test (power check).
    EXPECT_LT(binomial_two_sided_p_value(crisis_rows, rows, 0.25), 1e-12) << "alpha " << alpha;
  }
}

// ============================ 3 + 4. unbiasedness and its negative controls ============================

// A fixed per-experience 3-vector standing in for a per-sample gradient.
std::array<double, 3> gradient_of(const Experience& e) {
  Stream stream(7, Purpose::training, static_cast<std::uint32_t>(e.world), static_cast<std::uint32_t>(e.episode),
                static_cast<std::uint32_t>(e.step));
  return {stream.normal(), stream.normal(2.0, 1.0), stream.normal(-1.0, 3.0)};
}

using WeightRule = std::function<double(const BatchRow&)>;

struct BiasZScores {
  double reward = 0;
  std::array<double, 3> gradient{};
};

// z-scores of the mean over `batches` batches of the estimates (1/B) sum w_i x_i against the
// population means, for x = reward and each gradient component. Batches of different iterations
// are independent, so z ~ N(0, 1) when the estimator is unbiased.
BiasZScores weighted_mean_z_scores(const BatchSampler& sampler, const Population& population, int batches, double beta,
                                   const WeightRule& weight_of) {
  double reward_truth = 0;
  std::array<double, 3> gradient_truth{};
  for (const Experience& e : population.experiences) {
    reward_truth += e.expected_reward / population.size();
    const auto g = gradient_of(e);
    for (std::size_t k = 0; k < 3; ++k) gradient_truth[k] += g[k] / population.size();
  }
  RunningMean reward;
  std::array<RunningMean, 3> gradient;
  for_each_batch(sampler, population, batches, beta, [&](const SampledBatch& batch) {
    const double rows = static_cast<double>(batch.rows.size());
    double reward_estimate = 0;
    std::array<double, 3> gradient_estimate{};
    for (const BatchRow& row : batch.rows) {
      const double w = weight_of(row);
      reward_estimate += w * row.experience.expected_reward / rows;
      const auto g = gradient_of(row.experience);
      for (std::size_t k = 0; k < 3; ++k) gradient_estimate[k] += w * g[k] / rows;
    }
    reward.add(reward_estimate);
    for (std::size_t k = 0; k < 3; ++k) gradient[k].add(gradient_estimate[k]);
  });
  // Estimates that never vary would make any z meaningless (the sample would be the same every time).
  EXPECT_GT(reward.standard_error(), 0.0);
  BiasZScores z;
  z.reward = reward.z_against(reward_truth);
  for (std::size_t k = 0; k < 3; ++k) z.gradient[k] = gradient[k].z_against(gradient_truth[k]);
  return z;
}

double sampler_weight(const BatchRow& row) { return row.weight; }

// |z| < 4: false alarm 6.3e-5 per statistic (normal tails), 4 statistics per mode.
constexpr double unbiased_z_limit = 4.0;
constexpr int unbiasedness_batches = 10000;

void expect_unbiased(SamplingMode mode, std::uint64_t seed, const char* name) {
  const Population population = mixed_population();
  const BatchSampler sampler(mixed_config(mode), seed);
  const BiasZScores z = weighted_mean_z_scores(sampler, population, unbiasedness_batches, 1.0, sampler_weight);
  std::cout << "[ stats    ] " << name << ": z(reward) = " << z.reward << ", z(gradient) = " << z.gradient[0] << ", "
            << z.gradient[1] << ", " << z.gradient[2] << "\n";
  EXPECT_LT(std::fabs(z.reward), unbiased_z_limit);
  for (double gz : z.gradient) EXPECT_LT(std::fabs(gz), unbiased_z_limit);
}

TEST(SamplerUnbiased, ProportionalWithBetaOne) {
  expect_unbiased(SamplingMode::proportional, 41, "proportional beta 1");
}
TEST(SamplerUnbiased, Stratified) { expect_unbiased(SamplingMode::stratified, 42, "stratified"); }
TEST(SamplerUnbiased, WithoutReplacement) {
  expect_unbiased(SamplingMode::without_replacement, 43, "without replacement");
}

TEST(SamplerUnbiasedNegativeControl, ProportionalWithBetaBelowOneIsCaught) {
  // PER's beta = 0.4 under-corrects, so the high-reward, high-priority rows dominate: the same
  // z-test must flag it. Deterministic (fixed seed); |z| far beyond 4 is expected.
  const Population population = mixed_population();
  const BatchSampler sampler(mixed_config(SamplingMode::proportional), 44);
  const BiasZScores z = weighted_mean_z_scores(sampler, population, unbiasedness_batches, 0.4, sampler_weight);
  report("negative control, proportional beta 0.4: z(reward)", z.reward);
  EXPECT_GT(std::fabs(z.reward), unbiased_z_limit);
}

// 40 experiences over 4 worlds (one empty), 5 of them crisis with large |advantage| and reward:
// with B = 8 their B P(i) is about 1.6, so priority sampling includes them with probability ~1.
Population skewed_population() {
  return build_population({10, 0, 14, 16}, [](Experience& e, int, int index) {
    const bool crisis = index % 10 == 0;
    mark_crisis(e, crisis);
    e.advantage = static_cast<float>(crisis ? 2.0 : 0.05 + 0.05 * (index % 5));
    e.expected_reward = static_cast<float>(crisis ? 50.0 : 1.0 + index % 3);
  });
}

TEST(SamplerUnbiasedNegativeControl, NaiveWeightsWithoutReplacementAreCaught) {
  // 1/(N P(i)) with P(i) = s_i / S, computed here from the rows' own scores: wrong for a sample
  // without replacement (rows with B P(i) > 1 are included at most once, not B P(i) times).
  // The same helper on the same population passes the sampler's own weights.
  const Population population = skewed_population();
  SamplingSection config = mixed_config(SamplingMode::without_replacement);
  config.batch_size = 8;
  config.alpha = 1.0;
  const auto scores = target_scores(population, config);
  const double total = sum_of(scores);
  const WeightRule naive = [&](const BatchRow& row) {
    return total / (population.size() * scores[population.index_of(row.experience)]);
  };
  const BatchSampler sampler(config, 45);
  const BiasZScores z = weighted_mean_z_scores(sampler, population, unbiasedness_batches, 1.0, naive);
  report("negative control, naive 1/(N P) without replacement: z(reward)", z.reward);
  EXPECT_GT(std::fabs(z.reward), unbiased_z_limit);

  const BiasZScores correct = weighted_mean_z_scores(sampler, population, unbiasedness_batches, 1.0, sampler_weight);
  report("same population, the sampler's weights: z(reward)", correct.reward);
  EXPECT_LT(std::fabs(correct.reward), unbiased_z_limit);
  for (double gz : correct.gradient) EXPECT_LT(std::fabs(gz), unbiased_z_limit);
}

TEST(SamplerWithoutReplacement, EachIterationDrawsFreshKeysAndRepeatsExactly) {
  const Population population = mixed_population();
  const BatchSampler sampler(mixed_config(SamplingMode::without_replacement), 46);
  SerialCollectives serial;
  const auto addresses = [&](int iteration) {
    std::vector<std::size_t> picked;
    for (const BatchRow& row : sampler.draw(population.experiences, population.worlds, iteration, 1.0, serial).rows)
      picked.push_back(population.index_of(row.experience));
    return picked;
  };
  const auto first = addresses(0);
  EXPECT_EQ(addresses(0), first);  // reproducible
  int differing = 0;
  for (int iteration = 1; iteration <= 5; ++iteration) differing += addresses(iteration) != first ? 1 : 0;
  EXPECT_EQ(differing, 5);  // a new iteration is a new, independent sample of the same population
}

// ============================ 5. exact inclusion probabilities of priority sampling ============================

// Exact inclusion probability of each item under priority sampling (keys s_j / u_j, u_j uniform
// on (0, 1], the `batch` largest keys kept). With u = s_i / t the item's own key is uniform in u, and
// another item j beats it with probability min(1, u s_j / s_i), so
//   pi_i = integral over u in (0, 1] of P(fewer than `batch` other keys exceed s_i / u) du,
// where the probability enumerates the subsets of the other items that exceed. The integrand is a
// polynomial of degree < n between the breakpoints u = s_i / s_j, so Gauss-Legendre with 5 nodes
// per piece is exact up to rounding.
std::vector<double> exact_inclusion_probabilities(std::span<const double> scores, int batch) {
  constexpr std::array<double, 5> nodes{-0.9061798459386640, -0.5384693101056831, 0.0, 0.5384693101056831,
                                        0.9061798459386640};
  constexpr std::array<double, 5> node_weights{0.2369268850561891, 0.4786286704993665, 0.5688888888888889,
                                               0.4786286704993665, 0.2369268850561891};
  const std::size_t n = scores.size();
  std::vector<double> inclusion(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::size_t> others;
    std::vector<double> breakpoints{0.0, 1.0};
    for (std::size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      others.push_back(j);
      if (scores[i] < scores[j]) breakpoints.push_back(scores[i] / scores[j]);
    }
    std::sort(breakpoints.begin(), breakpoints.end());
    const auto fewer_than_batch_exceed = [&](double u) {
      double probability = 0;
      for (std::uint32_t subset = 0; subset < (1u << others.size()); ++subset) {
        if (std::popcount(subset) >= batch) continue;
        double term = 1;
        for (std::size_t k = 0; k < others.size(); ++k) {
          const double exceeds = std::min(1.0, u * scores[others[k]] / scores[i]);
          term *= (subset >> k & 1u) != 0 ? exceeds : 1 - exceeds;
        }
        probability += term;
      }
      return probability;
    };
    for (std::size_t piece = 0; piece + 1 < breakpoints.size(); ++piece) {
      const double low = breakpoints[piece];
      const double half = 0.5 * (breakpoints[piece + 1] - low);
      for (std::size_t q = 0; q < nodes.size(); ++q)
        inclusion[i] += half * node_weights[q] * fewer_than_batch_exceed(low + half * (1 + nodes[q]));
    }
  }
  return inclusion;
}

TEST(SamplerWithoutReplacement, InclusionFrequenciesMatchExactProbabilitiesAndWeightsAreUnbiasedPerItem) {
  // Five experiences in one world, B = 2, alpha = 1: scores 3 x 0.5 (crisis), 1, 2, 4, 8.
  const Population population = build_population({5}, [](Experience& e, int, int index) {
    static constexpr std::array<float, 5> sizes{0.49f, 0.99f, 1.99f, 3.99f, 7.99f};
    e.advantage = sizes[static_cast<std::size_t>(index)];
    mark_crisis(e, index == 0);
  });
  SamplingSection config = event_weight_config(SamplingMode::without_replacement, 2, 1.0, 0.0);
  config.crisis_weight = 3.0;
  config.advantage_priority = true;
  const auto scores = target_scores(population, config);
  const auto exact = exact_inclusion_probabilities(scores, 2);
  EXPECT_NEAR(sum_of(exact), 2.0, 1e-12);  // a sample of exactly B items

  const BatchSampler sampler(config, 51);
  constexpr int iterations = 20000;
  std::vector<std::int64_t> included(scores.size(), 0);
  std::vector<RunningMean> horvitz_thompson(scores.size());        // 1{i in S} * N w_i / B: mean 1 if unbiased
  std::vector<RunningMean> naive_horvitz_thompson(scores.size());  // 1{i in S} / (B P(i)): the wrong factor
  const double total = sum_of(scores);
  for_each_batch(sampler, population, iterations, 1.0, [&](const SampledBatch& batch) {
    ASSERT_EQ(batch.rows.size(), 2u);
    std::vector<double> factor(scores.size(), 0.0);
    std::vector<double> naive(scores.size(), 0.0);
    for (const BatchRow& row : batch.rows) {
      const std::size_t i = population.index_of(row.experience);
      ++included[i];
      EXPECT_NEAR(row.probability, std::min(1.0, scores[i] / batch.summary.threshold), 1e-15);
      factor[i] = row.weight * population.size() / 2.0;
      naive[i] = total / (2.0 * scores[i]);
    }
    for (std::size_t i = 0; i < scores.size(); ++i) {
      horvitz_thompson[i].add(factor[i]);
      naive_horvitz_thompson[i].add(naive[i]);
    }
  });
  double worst_naive_z = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    // Per item, the inclusion count is Binomial(iterations, pi_i); false alarm 1e-4 per item.
    const double p_value = binomial_two_sided_p_value(included[i], iterations, exact[i]);
    std::cout << "[ stats    ] item " << i << ": score " << scores[i] << ", exact pi " << exact[i] << ", observed "
              << static_cast<double>(included[i]) / iterations << ", binomial p " << p_value << ", HT mean "
              << horvitz_thompson[i].mean() << " (z " << horvitz_thompson[i].z_against(1.0) << ")\n";
    EXPECT_GT(p_value, 1e-4) << "item " << i;
    // E[1{i in S} / pi_hat_i] = 1 (Duffield-Lund-Thorup); |z| < 4, false alarm 6.3e-5 per item.
    EXPECT_LT(std::fabs(horvitz_thompson[i].z_against(1.0)), unbiased_z_limit) << "item " << i;
    worst_naive_z = std::max(worst_naive_z, std::fabs(naive_horvitz_thompson[i].z_against(1.0)));
  }
  report("negative control, per-item naive factor 1/(B P(i)): worst |z|", worst_naive_z);
  EXPECT_GT(worst_naive_z, unbiased_z_limit);
}

// ============================ 6. Kish effective sample size ============================

TEST(SamplerKish, EffectiveSampleSizeOfAStratifiedBatchIsTheTwoStrataFormula) {
  // 6 crisis + 34 regular over 4 worlds, B = 20: equal scores within each stratum, so every crisis
  // row weighs w_c = B N_c / (N n_c) and every regular row w_r = B N_r / (N n_r).
  const Population population = two_type_population(6, 34, 4);
  for (const auto& [min_share, crisis_rows] : {std::pair{0.3, 9}, std::pair{0.6, 12}}) {
    const BatchSampler sampler(event_weight_config(SamplingMode::stratified, 20, 1.0, min_share), 61);
    SerialCollectives serial;
    const SampledBatch batch = sampler.draw(population.experiences, population.worlds, 0, 1.0, serial);
    ASSERT_EQ(batch.summary.crisis_draws, crisis_rows);
    const double n_c = crisis_rows;
    const double n_r = 20 - n_c;
    const double w_c = 20.0 * 6 / (40 * n_c);
    const double w_r = 20.0 * 34 / (40 * n_r);
    for (const BatchRow& row : batch.rows) EXPECT_NEAR(row.weight, is_crisis(row.experience) ? w_c : w_r, 1e-12);
    const BatchStatistics stats = summarize_batch(batch.rows, serial);
    const double ess = (n_c * w_c + n_r * w_r) * (n_c * w_c + n_r * w_r) / (n_c * w_c * w_c + n_r * w_r * w_r);
    report("Kish ESS (analytic)", ess);
    EXPECT_NEAR(stats.effective_sample_size, ess, 1e-12 * ess);
    EXPECT_NEAR(stats.weight_mean, (n_c * w_c + n_r * w_r) / 20, 1e-12);
    EXPECT_NEAR(stats.weight_std, std::fabs(w_c - w_r) * std::sqrt(n_c * n_r) / 20, 1e-12);
    EXPECT_DOUBLE_EQ(stats.weight_min, std::min(w_c, w_r));
    EXPECT_DOUBLE_EQ(stats.weight_max, std::max(w_c, w_r));
    EXPECT_DOUBLE_EQ(stats.crisis_share, n_c / 20);
    double weighted_reward = 0;
    for (const BatchRow& row : batch.rows)
      weighted_reward += row.weight * (row.experience.conversion_value - row.experience.cost) / 20;
    EXPECT_NEAR(stats.weighted_reward_mean, weighted_reward, 1e-12);
  }
}

TEST(SamplerKish, EffectiveSampleSizeOfPlainWeightVectors) {
  EXPECT_DOUBLE_EQ(kish_effective_sample_size(std::vector<double>(7, 2.5)), 7.0);
  EXPECT_DOUBLE_EQ(kish_effective_sample_size(std::vector<double>{1.0, 0.0, 0.0, 0.0}), 1.0);
  EXPECT_DOUBLE_EQ(kish_effective_sample_size(std::vector<double>{}), 0.0);
}

// ============================ 7. stratified allocation ============================

struct AllocationCase {
  int crisis;
  int regular;
  std::int64_t batch;
  int min_share_percent;
  std::int64_t expected_crisis_rows;
  const char* why;
};

TEST(SamplerStratified, CrisisRowsAreTheFormulaShareOrTheGuaranteedMinimum) {
  // Crisis weight 5, alpha 1: S_c / S = 5 N_c / (5 N_c + N_r). Expected rows:
  // max(round(B S_c / S), ceil(min_share B)), and at least one row for each non-empty stratum.
  const std::vector<AllocationCase> cases{
      {4, 96, 20, 25, 5, "round(3.45) = 3 < minimum 5"},
      {10, 90, 32, 5, 11, "round(11.43) = 11 > minimum 2"},
      {2, 198, 50, 14, 7, "minimum ceil(0.14 * 50) = 7 exactly (0.14 * 50 is 7.000000000000001 in doubles)"},
      {1, 199, 8, 0, 1, "round(0.196) = 0, but the crisis stratum is not empty"},
      {40, 1, 8, 5, 7, "round(7.96) = 8, but the regular stratum is not empty"},
      {0, 50, 8, 25, 0, "no crisis experiences"},
      {50, 0, 8, 5, 8, "only crisis experiences"},
  };
  for (const AllocationCase& c : cases) {
    const Population population = two_type_population(c.crisis, c.regular, 3);
    const BatchSampler sampler(event_weight_config(SamplingMode::stratified, c.batch, 1.0, c.min_share_percent / 100.0),
                               71);
    SerialCollectives serial;
    for (int iteration = 0; iteration < 3; ++iteration) {
      const SampledBatch batch = sampler.draw(population.experiences, population.worlds, iteration, 1.0, serial);
      const auto rows = static_cast<std::int64_t>(batch.rows.size());
      const auto crisis_rows = std::count_if(batch.rows.begin(), batch.rows.end(),
                                             [](const BatchRow& row) { return is_crisis(row.experience); });
      EXPECT_EQ(rows, c.batch) << c.why;
      EXPECT_EQ(batch.summary.crisis_draws, c.expected_crisis_rows) << c.why;
      EXPECT_EQ(crisis_rows, c.expected_crisis_rows) << c.why;
      EXPECT_DOUBLE_EQ(batch.summary.predicted_crisis_share,
                       static_cast<double>(c.expected_crisis_rows) / static_cast<double>(c.batch))
          << c.why;
      for (const BatchRow& row : batch.rows) {
        EXPECT_TRUE(std::isfinite(row.weight) && row.weight > 0) << c.why;
        const double stratum_rows = static_cast<double>(is_crisis(row.experience) ? crisis_rows : rows - crisis_rows);
        const double stratum_size = is_crisis(row.experience) ? c.crisis : c.regular;
        // Equal scores inside a stratum: P_eff = (n_s / B) / N_s, weight = 1 / (N P_eff).
        EXPECT_NEAR(row.probability, stratum_rows / static_cast<double>(c.batch) / stratum_size, 1e-15) << c.why;
        EXPECT_NEAR(row.weight, 1.0 / ((c.crisis + c.regular) * row.probability), 1e-12) << c.why;
      }
    }
  }
}

// ============================ edge cases: empty worlds, one-stratum worlds, failures ============================

TEST(SamplerEdgeCases, EmptyAndSingleStratumWorldsWorkInEveryMode) {
  // Worlds: empty, crisis only, empty, regular only, empty.
  const Population population = build_population({0, 6, 0, 9, 0}, [](Experience& e, int world, int index) {
    mark_crisis(e, world == 1);
    e.advantage = static_cast<float>(0.1 * (index + 1));
    e.expected_reward = static_cast<float>(world + index);
  });
  for (SamplingMode mode : {SamplingMode::proportional, SamplingMode::stratified, SamplingMode::without_replacement}) {
    SamplingSection config = mixed_config(mode);
    config.batch_size = 8;
    const BatchSampler sampler(config, 81);
    SerialCollectives serial;
    for (int iteration = 0; iteration < 20; ++iteration) {
      const SampledBatch batch = sampler.draw(population.experiences, population.worlds, iteration, 1.0, serial);
      ASSERT_EQ(batch.rows.size(), 8u) << to_string(mode);
      for (std::size_t r = 0; r < batch.rows.size(); ++r) {
        const BatchRow& row = batch.rows[r];
        EXPECT_TRUE(row.experience.world == 1 || row.experience.world == 3) << to_string(mode);
        EXPECT_TRUE(std::isfinite(row.weight) && row.weight > 0) << to_string(mode);
        EXPECT_TRUE(row.probability > 0 && row.probability <= 1) << to_string(mode);
        if (r > 0) {  // batch order: world, episode, step
          const Experience& previous = batch.rows[r - 1].experience;
          EXPECT_LE(std::tuple(previous.world, previous.episode, previous.step),
                    std::tuple(row.experience.world, row.experience.episode, row.experience.step));
        }
        // The next observation is the next step's, or zeros at the end of an episode.
        const std::size_t i = population.index_of(row.experience);
        const Observation expected_next = row.experience.done() ? Observation{} : population.experiences[i + 1].obs;
        EXPECT_EQ(row.next_obs, expected_next) << to_string(mode);
      }
    }
  }
}

TEST(SamplerEdgeCases, NothingToSampleIsAClearFailure) {
  const Population empty = build_population({0, 0, 0}, [](Experience&, int, int) {});
  SerialCollectives serial;
  for (SamplingMode mode : {SamplingMode::proportional, SamplingMode::stratified, SamplingMode::without_replacement}) {
    const BatchSampler sampler(mixed_config(mode), 1);
    EXPECT_THROW(sampler.draw(empty.experiences, empty.worlds, 0, 1.0, serial), RuntimeFailure) << to_string(mode);
  }
  // Priority sampling needs B + 1 experiences for its threshold.
  const Population sixteen = build_population({10, 6}, [](Experience&, int, int) {});
  const BatchSampler sampler(mixed_config(SamplingMode::without_replacement), 1);
  EXPECT_THROW(sampler.draw(sixteen.experiences, sixteen.worlds, 0, 1.0, serial), RuntimeFailure);
}

}  // namespace
}  // namespace manyworlds
