// Tests of the counter-based random streams: addressing, determinism, and every distribution's moments.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "manyworlds/core/random.hpp"

namespace manyworlds {
namespace {

// Every moment check below allows 5 standard errors: with fixed seeds the draws are deterministic, and a
// correct generator lands within 5 SE with probability 1 - 6e-7 per check, so a failure means a wrong
// distribution (or a changed generator that is then off by more than chance explains), not bad luck.
constexpr double z_tolerance = 5.0;
constexpr int draws = 200000;

struct Sample {
  double mean = 0;
  double variance = 0;  // population (1/n) variance
  double skewness = 0;
  double kurtosis = 0;  // not excess
};

template <class Draw>
Sample sample_of(Draw draw, int n = draws) {
  std::vector<double> x(static_cast<std::size_t>(n));
  for (double& v : x) v = draw();
  Sample s;
  for (double v : x) s.mean += v;
  s.mean /= n;
  double m2 = 0, m3 = 0, m4 = 0;
  for (double v : x) {
    const double d = v - s.mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  s.variance = m2;
  s.skewness = m3 / std::pow(m2, 1.5);
  s.kurtosis = m4 / (m2 * m2);
  return s;
}

// Mean within 5 SE (SE = sqrt(var/n)) and variance within 5 SE (SE = sqrt((mu4 - var^2)/n)).
void expect_mean_and_variance(const Sample& s, double mean, double variance, double fourth_central, const char* what,
                              int n = draws) {
  const double mean_se = std::sqrt(variance / n);
  EXPECT_NEAR(s.mean, mean, z_tolerance * mean_se) << what;
  const double variance_se = std::sqrt((fourth_central - variance * variance) / n);
  EXPECT_NEAR(s.variance, variance, z_tolerance * variance_se) << what;
}

// Pearson chi-square of observed counts against expected counts.
double chi_square(const std::vector<double>& observed, const std::vector<double>& expected) {
  double chi = 0;
  for (std::size_t i = 0; i < observed.size(); ++i)
    chi += (observed[i] - expected[i]) * (observed[i] - expected[i]) / expected[i];
  return chi;
}

// 0.999 quantiles of the chi-square distribution by degrees of freedom (a false alarm rate of 1 in 1000):
// tabulated up to 30, Wilson-Hilferty above (accurate to better than 0.5% there).
double chi_square_999(int df) {
  static const std::array<double, 31> table{0,     10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59,
                                            31.26, 32.91, 34.53, 36.12, 37.70, 39.25, 40.79, 42.31, 43.82, 45.31, 46.80,
                                            48.27, 49.73, 51.18, 52.62, 54.05, 55.48, 56.89, 58.30, 59.70};
  if (df <= 30) return table.at(static_cast<std::size_t>(df));
  const double k = df;
  const double z = 3.090232;  // standard normal 0.999 quantile
  return k * std::pow(1 - 2 / (9 * k) + z * std::sqrt(2 / (9 * k)), 3);
}

std::array<std::uint32_t, 8> first_words(Stream stream) {
  std::array<std::uint32_t, 8> words{};
  for (auto& w : words) w = stream.next_u32();
  return words;
}

TEST(Stream, SameAddressGivesTheSameNumbers) {
  Stream a(12345, Purpose::auction, 7, 3, 11);
  Stream b(12345, Purpose::auction, 7, 3, 11);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(a.next_u32(), b.next_u32()) << "draw " << i;
  }
  // Mixed draws stay in step too (normals keep a spare; gammas reject a variable number of times).
  Stream c(99, Purpose::world_params, 1);
  Stream d(99, Purpose::world_params, 1);
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(c.normal(), d.normal());
    ASSERT_EQ(c.gamma(0.7), d.gamma(0.7));
    ASSERT_EQ(c.poisson(40.0), d.poisson(40.0));
  }
}

TEST(Stream, EveryPartOfTheAddressChangesTheNumbers) {
  const auto base = first_words(Stream(12345, Purpose::auction, 7, 3, 11));
  EXPECT_NE(base, first_words(Stream(12346, Purpose::auction, 7, 3, 11)));  // seed, low bits
  EXPECT_NE(base,
            first_words(Stream(12345 + (std::uint64_t{1} << 40), Purpose::auction, 7, 3, 11)));  // seed, high bits
  EXPECT_NE(base, first_words(Stream(12345, Purpose::action, 7, 3, 11)));                        // purpose
  EXPECT_NE(base, first_words(Stream(12345, Purpose::auction, 8, 3, 11)));                       // world
  EXPECT_NE(base, first_words(Stream(12345, Purpose::auction, validation_world_base + 7, 3, 11)));
  EXPECT_NE(base, first_words(Stream(12345, Purpose::auction, 7, 4, 11)));  // episode
  EXPECT_NE(base, first_words(Stream(12345, Purpose::auction, 7, 3, 12)));  // step
  // Swapping world and episode must not alias either.
  EXPECT_NE(first_words(Stream(1, Purpose::auction, 2, 5)), first_words(Stream(1, Purpose::auction, 5, 2)));
}

TEST(Stream, SeekStepEqualsAFreshStreamAtThatStep) {
  Stream moving(77, Purpose::action, 4, 2, 0);
  for (std::uint32_t step : {5u, 0u, 123456u, 6u}) {
    (void)moving.normal();  // leaves a spare normal and a partly used block behind
    (void)moving.next_u32();
    moving.seek_step(step);
    Stream fresh(77, Purpose::action, 4, 2, step);
    for (int i = 0; i < 20; ++i) {
      ASSERT_EQ(moving.normal(), fresh.normal()) << "step " << step << " draw " << i;
      ASSERT_EQ(moving.uniform(), fresh.uniform());
    }
  }
}

TEST(Stream, ManyDrawsDoNotRepeatWithinAStream) {
  // 2^20 consecutive 32-bit words from one address: a counter that failed to advance would repeat whole blocks.
  Stream stream(5, Purpose::sampler, 0);
  std::vector<std::array<std::uint32_t, 4>> blocks(1 << 18);
  for (auto& block : blocks)
    for (auto& w : block) w = stream.next_u32();
  std::sort(blocks.begin(), blocks.end());
  EXPECT_EQ(std::adjacent_find(blocks.begin(), blocks.end()), blocks.end());
}

TEST(Stream, UniformIsOpenAndHasUniformMoments) {
  Stream stream(2024, Purpose::auction, 1, 2, 3);
  double low = 1, high = 0;
  const Sample s = sample_of([&] {
    const double u = stream.uniform();
    low = std::min(low, u);
    high = std::max(high, u);
    // 52 random bits centred in their cell: u * 2^52 - 0.5 is a whole number (so u can never round to 1).
    const double scaled = u * 0x1.0p52 - 0.5;
    EXPECT_EQ(scaled, std::floor(scaled));
    return u;
  });
  EXPECT_GT(low, 0.0);
  EXPECT_LT(high, 1.0);
  EXPECT_LT(low, 1e-4);  // 2e5 draws: the smallest is about 5e-6; a stuck high bit would keep it near 0.5
  EXPECT_GT(high, 1 - 1e-4);
  // U(0,1): mean 1/2, variance 1/12, fourth central moment 1/80; skewness 0, kurtosis 9/5.
  expect_mean_and_variance(s, 0.5, 1.0 / 12, 1.0 / 80, "uniform");
  EXPECT_NEAR(s.skewness, 0.0, z_tolerance * std::sqrt(6.0 / draws));
  EXPECT_NEAR(s.kurtosis, 1.8, 0.02);  // SE of the kurtosis of U(0,1) is about 0.0027 at n = 2e5
  // Deciles by chi-square (df 9).
  Stream again(2024, Purpose::auction, 1, 2, 4);
  std::vector<double> counts(10, 0.0);
  for (int i = 0; i < draws; ++i) counts[static_cast<std::size_t>(again.uniform() * 10)] += 1;
  EXPECT_LT(chi_square(counts, std::vector<double>(10, draws / 10.0)), chi_square_999(9));
  // The interval form.
  Stream ranged(3, Purpose::auction, 0);
  for (int i = 0; i < 1000; ++i) {
    const double x = ranged.uniform(-2.0, 5.0);
    ASSERT_GT(x, -2.0);
    ASSERT_LT(x, 5.0);
  }
}

TEST(Stream, BelowIsExactlyUniformByChiSquare) {
  struct Case {
    std::uint32_t n;
    int bins;
  };
  // 7 and 10: small n (rejection rarely needed); 8: a power of two (no rejection); 3e9: more than half of
  // 2^32, where a modulo without rejection would make the lower 1.29e9 values twice as likely as the rest.
  for (const Case c : {Case{7, 7}, Case{8, 8}, Case{10, 10}, Case{3000000000u, 10}}) {
    Stream stream(31337, Purpose::sampler, c.n);
    const int n = 100000;
    std::vector<double> counts(static_cast<std::size_t>(c.bins), 0.0);
    for (int i = 0; i < n; ++i) {
      const std::uint32_t x = stream.below(c.n);
      ASSERT_LT(x, c.n);
      counts[static_cast<std::size_t>(static_cast<std::uint64_t>(x) * static_cast<std::uint64_t>(c.bins) / c.n)] += 1;
    }
    // Bins of x * bins / n hold equally many values for all cases above (3e9 / 10 is whole).
    const double chi = chi_square(counts, std::vector<double>(counts.size(), static_cast<double>(n) / c.bins));
    EXPECT_LT(chi, chi_square_999(c.bins - 1)) << "below(" << c.n << ")";
  }
  Stream one(1, Purpose::sampler, 0);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(one.below(1), 0u);
}

TEST(Stream, NormalHasStandardMoments) {
  Stream stream(8, Purpose::action, 2, 0, 0);
  const Sample s = sample_of([&] { return stream.normal(); });
  // N(0,1): mean 0, variance 1, fourth central moment 3; SE of skewness sqrt(6/n), of kurtosis sqrt(24/n).
  expect_mean_and_variance(s, 0.0, 1.0, 3.0, "normal");
  EXPECT_NEAR(s.skewness, 0.0, z_tolerance * std::sqrt(6.0 / draws));
  EXPECT_NEAR(s.kurtosis, 3.0, z_tolerance * std::sqrt(24.0 / draws));
  // Tail mass beyond 3 sd: 0.0027 (binomial SE sqrt(p(1-p)/n) = 1.2e-4).
  Stream tails(9, Purpose::action, 2, 0, 0);
  int beyond = 0;
  for (int i = 0; i < draws; ++i) beyond += std::fabs(tails.normal()) > 3.0 ? 1 : 0;
  EXPECT_NEAR(static_cast<double>(beyond) / draws, 0.0026998, z_tolerance * std::sqrt(0.0027 / draws));
  Stream shifted(10, Purpose::action, 2, 0, 0);
  const Sample t = sample_of([&] { return shifted.normal(-3.0, 0.5); });
  expect_mean_and_variance(t, -3.0, 0.25, 3 * 0.0625, "normal(-3, 0.5)");
}

TEST(Stream, NormalFollowsTheNormalCdfIncludingTheTails) {
  // One million draws in 34 bins: below -4, 32 bins of width 0.25 over [-4, 4], above 4 (each tail expects 32).
  // Pearson chi-square against Phi (df 33, 0.999 quantile 63.9): checks the shape everywhere, e.g. the
  // layer edges and the tail beyond 3.44 of a ziggurat, which moment checks would barely notice.
  Stream stream(19, Purpose::action, 3);
  const int n = 1000000;
  const auto phi = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  std::vector<double> observed(34, 0.0), expected(34, 0.0);
  for (int i = 0; i < n; ++i) {
    const double x = stream.normal();
    const int bin = x < -4.0 ? 0 : x >= 4.0 ? 33 : std::min(32, 1 + static_cast<int>(std::floor((x + 4.0) / 0.25)));
    observed[static_cast<std::size_t>(bin)] += 1;
  }
  expected[0] = n * phi(-4.0);
  for (int b = 1; b <= 32; ++b)
    expected[static_cast<std::size_t>(b)] = n * (phi(-4.0 + 0.25 * b) - phi(-4.0 + 0.25 * (b - 1)));
  expected[33] = n * (1 - phi(4.0));
  EXPECT_LT(chi_square(observed, expected), chi_square_999(33));
  // Beyond 3.5 sd (the ziggurat's tail algorithm): probability 4.65e-4, so 465 expected, binomial SE 21.6.
  const double beyond = observed[0] + observed[1] + observed[2] + observed[31] + observed[32] + observed[33];
  EXPECT_NEAR(beyond, n * 2 * phi(-3.5), z_tolerance * std::sqrt(n * 2 * phi(-3.5)));
}

TEST(Stream, GammaHasItsMoments) {
  // Gamma(k, 1): mean k, variance k, excess kurtosis 6/k, so mu4 = k^2 (3 + 6/k). Shape < 1 uses the boost path.
  std::uint32_t world = 0;
  for (double k : {0.3, 0.9, 1.0, 2.0, 7.5, 60.0}) {
    Stream stream(11, Purpose::world_params, world++);
    const Sample s = sample_of([&] {
      const double x = stream.gamma(k);
      EXPECT_GT(x, 0.0);
      return x;
    });
    expect_mean_and_variance(s, k, k, k * k * (3.0 + 6.0 / k), "gamma");
    EXPECT_NEAR(s.skewness, 2.0 / std::sqrt(k), 0.1 * 2.0 / std::sqrt(k) + 0.02) << "gamma shape " << k;
  }
}

TEST(Stream, BetaHasItsMoments) {
  std::uint32_t world = 0;
  for (const auto& [a, b] : std::vector<std::pair<double, double>>{{0.5, 0.5}, {2.0, 5.0}, {15.0, 5.0}, {0.3, 6.0}}) {
    Stream stream(12, Purpose::world_params, world++);
    const double mean = a / (a + b);
    const double variance = a * b / ((a + b) * (a + b) * (a + b + 1));
    // Fourth central moment of Beta(a, b) from its excess kurtosis.
    const double excess =
        6 * ((a - b) * (a - b) * (a + b + 1) - a * b * (a + b + 2)) / (a * b * (a + b + 2) * (a + b + 3));
    const Sample s = sample_of([&] {
      const double x = stream.beta(a, b);
      EXPECT_GE(x, 0.0);
      EXPECT_LE(x, 1.0);
      return x;
    });
    expect_mean_and_variance(s, mean, variance, variance * variance * (3 + excess), "beta");
  }
}

TEST(Stream, PoissonHasItsMomentsAndProbabilities) {
  // Poisson(l): mean = variance = l, mu4 = l (1 + 3 l). Means below 10 use inversion, the others PTRS.
  std::uint32_t world = 0;
  for (double l : {0.05, 0.7, 4.0, 9.99, 10.0, 25.0, 300.0, 5000.0}) {
    Stream stream(13, Purpose::schedule, world++);
    const Sample s = sample_of([&] {
      const std::int64_t k = stream.poisson(l);
      EXPECT_GE(k, 0);
      return static_cast<double>(k);
    });
    expect_mean_and_variance(s, l, l, l * (1 + 3 * l), "poisson");
  }
  Stream zero(13, Purpose::schedule, 99);
  EXPECT_EQ(zero.poisson(0.0), 0);
  EXPECT_EQ(zero.poisson(-1.0), 0);
  // The probabilities themselves, by chi-square over k with tails pooled so that every bin expects >= 20.
  for (double l : {3.0, 30.0}) {
    Stream stream(14, Purpose::schedule, static_cast<std::uint32_t>(l));
    const int n = 100000;
    std::vector<double> pmf;
    double p = std::exp(-l);
    for (int k = 0; k < 200; ++k) {
      pmf.push_back(p);
      p *= l / (k + 1);
    }
    int lo = 0;
    double below_lo = 0;
    while (n * (below_lo + pmf[static_cast<std::size_t>(lo)]) < 20) below_lo += pmf[static_cast<std::size_t>(lo++)];
    int hi = lo;
    while (n * pmf[static_cast<std::size_t>(hi + 1)] >= 20) ++hi;
    // Bins: [0, lo], lo+1 .. hi-1, [hi, inf).
    std::vector<double> expected, observed(static_cast<std::size_t>(hi - lo + 1), 0.0);
    double cumulative = below_lo + pmf[static_cast<std::size_t>(lo)];
    expected.push_back(n * cumulative);
    for (int k = lo + 1; k < hi; ++k) {
      expected.push_back(n * pmf[static_cast<std::size_t>(k)]);
      cumulative += pmf[static_cast<std::size_t>(k)];
    }
    expected.push_back(n * (1 - cumulative));
    for (int i = 0; i < n; ++i) {
      const std::int64_t k = std::clamp<std::int64_t>(stream.poisson(l), lo, hi);
      observed[static_cast<std::size_t>(k - lo)] += 1;
    }
    EXPECT_LT(chi_square(observed, expected), chi_square_999(static_cast<int>(observed.size()) - 1))
        << "poisson(" << l << ") over " << observed.size() << " bins";
  }
}

TEST(Stream, LognormalAndExponentialHaveTheirMoments) {
  Stream stream(15, Purpose::world_params, 0);
  const double mu = 0.4, sigma = 0.6;
  std::vector<double> logs;
  const Sample s = sample_of([&] {
    const double x = stream.lognormal(mu, sigma);
    logs.push_back(std::log(x));
    return x;
  });
  // Mean exp(mu + s^2/2), variance (e^{s^2} - 1) e^{2 mu + s^2}; only the mean is checked on the raw scale
  // (its heavy tail makes the sample variance's SE unreliable), the log scale must be exactly N(mu, sigma^2).
  const double mean = std::exp(mu + sigma * sigma / 2);
  const double variance = (std::exp(sigma * sigma) - 1) * std::exp(2 * mu + sigma * sigma);
  EXPECT_NEAR(s.mean, mean, z_tolerance * std::sqrt(variance / draws));
  std::size_t i = 0;
  const Sample l = sample_of([&] { return logs[i++]; });
  expect_mean_and_variance(l, mu, sigma * sigma, 3 * std::pow(sigma, 4), "log of lognormal");

  Stream exponential(16, Purpose::world_params, 0);
  // Exp(rate 2.5): mean 0.4, variance 0.16, mu4 = 9 / rate^4.
  const Sample e = sample_of([&] { return exponential.exponential(2.5); });
  expect_mean_and_variance(e, 0.4, 0.16, 9 / std::pow(2.5, 4), "exponential");
}

TEST(Stream, CategoricalAndDirichletFollowTheirWeights) {
  Stream stream(17, Purpose::world_params, 0);
  const std::vector<double> cumulative{0.1, 0.5, 0.5, 1.7, 2.0};  // weights 0.1, 0.4, 0, 1.2, 0.3
  const std::vector<double> weights{0.1, 0.4, 0.0, 1.2, 0.3};
  const int n = 100000;
  std::vector<double> counts(weights.size(), 0.0);
  for (int i = 0; i < n; ++i) counts[stream.categorical_cdf(cumulative)] += 1;
  EXPECT_EQ(counts[2], 0.0);  // a zero weight is never drawn
  std::vector<double> observed{counts[0], counts[1], counts[3], counts[4]};
  std::vector<double> expected{n * 0.05, n * 0.2, n * 0.6, n * 0.15};
  EXPECT_LT(chi_square(observed, expected), chi_square_999(3));

  // Dirichlet(alpha): components sum to 1, mean alpha_i / A, variance a_i (A - a_i) / (A^2 (A + 1)).
  const std::vector<double> alpha{40.0, 100.0, 120.0, 140.0};
  const double total = 400.0;
  std::vector<double> sums(alpha.size(), 0.0);
  std::vector<double> out(alpha.size());
  const int m = 20000;
  for (int i = 0; i < m; ++i) {
    stream.dirichlet(alpha, out);
    double sum = 0;
    for (std::size_t j = 0; j < out.size(); ++j) {
      sum += out[j];
      sums[j] += out[j];
    }
    ASSERT_NEAR(sum, 1.0, 1e-12);
  }
  for (std::size_t j = 0; j < alpha.size(); ++j) {
    const double mean = alpha[j] / total;
    const double variance = alpha[j] * (total - alpha[j]) / (total * total * (total + 1));
    EXPECT_NEAR(sums[j] / m, mean, z_tolerance * std::sqrt(variance / m)) << "component " << j;
  }
}

TEST(Stream, BernoulliFollowsItsProbability) {
  Stream stream(18, Purpose::auction, 0);
  int hits = 0;
  for (int i = 0; i < draws; ++i) hits += stream.bernoulli(0.03) ? 1 : 0;
  EXPECT_NEAR(static_cast<double>(hits) / draws, 0.03, z_tolerance * std::sqrt(0.03 * 0.97 / draws));
  EXPECT_FALSE(stream.bernoulli(0.0));
  EXPECT_TRUE(stream.bernoulli(1.0));
}

}  // namespace
}  // namespace manyworlds
