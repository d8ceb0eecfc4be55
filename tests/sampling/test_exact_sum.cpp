// Tests of ExactSum: correctly rounded sums whatever the order, across 1e-300 .. 1e300, ties, subnormals.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "manyworlds/core/collectives.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/sampling/exact_sum.hpp"

namespace manyworlds {
namespace {

__extension__ typedef __int128 int128;  // a GCC/Clang extension

std::uint64_t bits(double x) { return std::bit_cast<std::uint64_t>(x); }

double exact_sum(const std::vector<double>& values) {
  SerialCollectives serial;
  ExactSum sum(1);
  for (double v : values) sum.add(0, v);
  double out = 0;
  sum.reduce(serial, std::span<double>(&out, 1));
  return out;
}

// Values from 1e-300 to 1e300 with random signs, each with its negation and a near-negation,
// so that the big terms cancel and the result is decided by the small ones.
std::vector<double> many_binades(std::uint64_t seed) {
  Stream stream(seed, Purpose::training, 99);
  std::vector<double> values;
  for (int k = -300; k <= 300; k += 7) {
    const double x = stream.uniform(1.0, 10.0) * std::pow(10.0, k) * (stream.uniform() < 0.5 ? -1 : 1);
    values.push_back(x);
    values.push_back(-x);
    values.push_back(std::nextafter(x, 0.0));
    values.push_back(stream.uniform(-1.0, 1.0) * std::pow(10.0, -k));
  }
  values.push_back(std::numeric_limits<double>::denorm_min());
  values.push_back(-std::numeric_limits<double>::max());
  values.push_back(std::numeric_limits<double>::max());
  return values;
}

TEST(ExactSum, CancellationKeepsTheSmallTerm) {
  EXPECT_EQ(exact_sum({1e300, 1e-300, -1e300}), 1e-300);
  EXPECT_EQ(exact_sum({1e300, -1e300, 1e-300}), 1e-300);
  EXPECT_EQ(exact_sum({-1e-300, 1e300, 2e-300, -1e300}), 1e-300);
  // Plain double addition loses the small term here.
  EXPECT_NE(1e300 + 1e-300 - 1e300, 1e-300);
  const double max = std::numeric_limits<double>::max();
  EXPECT_EQ(exact_sum({max, max, max, -max, -max}), max);  // past the double range and back
  EXPECT_EQ(exact_sum({max, max}), std::numeric_limits<double>::infinity());
}

TEST(ExactSum, EveryOrderGivesTheSameBitsOverManyBinades) {
  std::vector<double> values = many_binades(5);
  const double reference = exact_sum(values);
  EXPECT_NE(reference, 0.0);
  Stream stream(6, Purpose::training, 1);
  for (int trial = 0; trial < 50; ++trial) {
    for (std::size_t i = values.size() - 1; i > 0; --i)
      std::swap(values[i], values[stream.below(static_cast<std::uint32_t>(i + 1))]);
    EXPECT_EQ(bits(exact_sum(values)), bits(reference)) << "trial " << trial;
  }
  // Sequential double addition does depend on the order: the test data can tell the difference.
  double forward = 0;
  double backward = 0;
  for (double v : values) forward += v;
  for (auto it = values.rbegin(); it != values.rend(); ++it) backward += *it;
  EXPECT_NE(bits(forward), bits(backward));
}

// Random m * 2^e with |m| < 2^53 and e in [-60, 10]: times 2^60 they are integers whose sum
// fits __int128, and GCC's __int128 -> double conversion rounds to nearest even.
TEST(ExactSum, MatchesACorrectlyRoundedIntegerReference) {
  Stream stream(7, Purpose::training, 2);
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<double> values;
    int128 scaled = 0;
    const int count = 1 + static_cast<int>(stream.below(12));
    for (int i = 0; i < count; ++i) {
      const auto mantissa =
          static_cast<std::int64_t>((static_cast<std::uint64_t>(stream.next_u32()) << 21) ^ stream.next_u32());
      const std::int64_t m = (stream.below(2) == 0 ? 1 : -1) * (mantissa & ((std::int64_t{1} << 53) - 1));
      const int e = static_cast<int>(stream.below(71)) - 60;
      values.push_back(std::ldexp(static_cast<double>(m), e));
      scaled += static_cast<int128>(m) << (e + 60);
    }
    const double expected = std::ldexp(static_cast<double>(scaled), -60);
    ASSERT_EQ(bits(exact_sum(values)), bits(expected)) << "trial " << trial;
  }
}

TEST(ExactSum, RoundsHalfwayCasesToEven) {
  const double two53 = 9007199254740992.0;                    // 2^53: from here on the spacing of doubles is 2
  EXPECT_EQ(exact_sum({two53, 1.0}), two53);                  // tie, 2^53 is even
  EXPECT_EQ(exact_sum({two53, 3.0}), two53 + 4.0);            // tie, 2^53 + 4 is even
  EXPECT_EQ(exact_sum({two53, 1.0, 0x1p-100}), two53 + 2.0);  // just above the tie
  EXPECT_EQ(exact_sum({two53, 1.0, -0x1p-100}), two53);       // just below it
  EXPECT_EQ(exact_sum({1.0, 0x1p-53}), 1.0);
  EXPECT_EQ(exact_sum({1.0, 0x1p-53, 0x1p-1074}), std::nextafter(1.0, 2.0));
}

TEST(ExactSum, SubnormalsZerosAndNonFiniteValues) {
  const double tiny = std::numeric_limits<double>::denorm_min();
  EXPECT_EQ(exact_sum({tiny, tiny, tiny}), 3 * tiny);
  EXPECT_EQ(exact_sum({std::numeric_limits<double>::min(), -tiny}),
            std::nextafter(std::numeric_limits<double>::min(), 0.0));
  EXPECT_EQ(bits(exact_sum({})), bits(0.0));
  EXPECT_EQ(bits(exact_sum({-0.0, -0.0})), bits(0.0));
  EXPECT_EQ(bits(exact_sum({2.5, -2.5})), bits(0.0));
  EXPECT_TRUE(std::isnan(exact_sum({1.0, std::numeric_limits<double>::quiet_NaN()})));
  EXPECT_TRUE(std::isnan(exact_sum({std::numeric_limits<double>::infinity(), 1.0})));
}

TEST(ExactSum, ComponentsAreIndependentAndReduceClears) {
  SerialCollectives serial;
  ExactSum sum(3);
  sum.add(std::vector<double>{1.0, -2.0, 0.0});
  sum.add(std::vector<double>{0x1p-80, 3.0, 1e300});
  std::vector<double> out(3);
  sum.reduce(serial, out);
  EXPECT_EQ(out[0], 1.0 + 0x1p-80);
  EXPECT_EQ(out[1], 1.0);
  EXPECT_EQ(out[2], 1e300);
  sum.add(1, 7.0);
  sum.reduce(serial, out);
  EXPECT_EQ(out, (std::vector<double>{0.0, 7.0, 0.0}));
  EXPECT_THROW(sum.add(std::vector<double>{1.0}), std::invalid_argument);
  EXPECT_THROW(sum.reduce(serial, std::span<double>(out.data(), 2)), std::invalid_argument);
}

// Reduce empties every accumulator, whatever it held: digits that cancelled, digits beside a NaN.
TEST(ExactSum, ReduceLeavesNoDigitBehind) {
  SerialCollectives serial;
  ExactSum sum(3);
  sum.add(std::vector<double>{1.5, 1e300, std::numeric_limits<double>::quiet_NaN()});
  sum.add(std::vector<double>{0.5, -1e300, 5.0});
  sum.add(std::vector<double>{-2.0, 0.0, 1.0});  // 1.5 + 0.5 - 2 is zero only after the carries
  std::vector<double> out(3);
  sum.reduce(serial, out);
  EXPECT_EQ(out[0], 0.0);
  EXPECT_EQ(out[1], 0.0);
  EXPECT_TRUE(std::isnan(out[2]));
  sum.add(std::vector<double>{0x1p-1070, 3.0, 2.0});
  sum.reduce(serial, out);
  EXPECT_EQ(out, (std::vector<double>{0x1p-1070, 3.0, 2.0}));
}

// Many components side by side, each with values over many binades added in several vectors: every
// component's sum is the one it has alone (the digit rows interleave the components).
TEST(ExactSum, SideBySideComponentsMatchTheirSingleSums) {
  constexpr std::size_t components = 37;
  Stream stream(8, Purpose::training, 4);
  std::vector<std::vector<double>> values(components);
  SerialCollectives serial;
  ExactSum sum(components);
  for (int add = 0; add < 20; ++add) {
    std::vector<double> vector(components);
    for (std::size_t j = 0; j < components; ++j) {
      const double scale = std::pow(10.0, static_cast<double>(stream.below(120)) - 60.0 + static_cast<double>(j % 5));
      vector[j] = stream.normal() * scale;
      values[j].push_back(vector[j]);
    }
    sum.add(vector);
  }
  std::vector<double> out(components);
  sum.reduce(serial, out);
  for (std::size_t j = 0; j < components; ++j) EXPECT_EQ(bits(out[j]), bits(exact_sum(values[j]))) << "component " << j;
}

}  // namespace
}  // namespace manyworlds
