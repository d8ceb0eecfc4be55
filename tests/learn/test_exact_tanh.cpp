// Tests of tanh_in_place: the SIMD lanes give std::tanh's bits over every case of tanh and expm1.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "manyworlds/core/random.hpp"
#include "manyworlds/learn/exact_tanh.hpp"

namespace manyworlds {
namespace {

// Values of every kind tanh meets: log-uniform magnitudes from 2^-70 to 2^6 (each case of tanh and
// of expm1's reduction), uniform ones in [-25, 25], and the neighbours of every case boundary.
std::vector<double> tanh_arguments() {
  Stream stream(11, Purpose::training, 5);
  std::vector<double> values;
  for (int i = 0; i < 1'000'000; ++i) {
    const double magnitude = std::exp2(stream.uniform(-70.0, 6.0));
    values.push_back(stream.uniform() < 0.5 ? -magnitude : magnitude);
    values.push_back(stream.uniform(-25.0, 25.0));
  }
  // |x| = 2^-55, ln2/4 and 3 ln2/4 (expm1's reduction of -2|x|), 1, 56 ln2 / 2, 22.
  for (double edge : {0x1p-55, 0.17328679513998632, 0.5198603854199589, 1.0, 19.408121055678468, 22.0}) {
    double below = edge;
    double above = edge;
    for (int step = 0; step < 1000; ++step) {
      below = std::nextafter(below, 0.0);
      above = std::nextafter(above, 100.0);
      for (double x : {below, above, -below, -above}) values.push_back(x);
    }
  }
  return values;
}

std::uint64_t tanh_bits(double x) { return std::bit_cast<std::uint64_t>(x); }

// Whether GLIBC_TUNABLES tells glibc not to use FMA (then its tanh runs the other build of expm1).
bool library_without_fma() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr && std::string(tunables).find("-FMA") != std::string::npos;
}

TEST(ExactTanh, SimdLanesGiveTheLibraryBits) {
  if (!simd_tanh_available() || library_without_fma())
    GTEST_SKIP() << "AVX2 and FMA not in use (the CPU or GLIBC_TUNABLES): glibc's tanh takes another path";
  const std::vector<double> arguments = tanh_arguments();
  for (VectorIsa isa : {VectorIsa::avx2, VectorIsa::avx512}) {
    if (!supported(isa)) continue;
    std::vector<double> simd = arguments;
    simd_tanh_in_place(isa, simd);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < arguments.size(); ++i) {
      if (tanh_bits(simd[i]) == tanh_bits(std::tanh(arguments[i]))) continue;
      if (++mismatches <= 5)
        ADD_FAILURE() << to_string(isa) << ": tanh(" << arguments[i] << ") " << simd[i]
                      << " != " << std::tanh(arguments[i]);
    }
    EXPECT_EQ(mismatches, 0u) << to_string(isa) << ", of " << arguments.size();
  }
  EXPECT_TRUE(simd_tanh_in_use());
}

// Whichever build of tanh glibc chose (FMA or not: ctest also runs this with
// GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA), tanh_in_place gives its bits.
TEST(ExactTanh, FollowsTheLibrarysChoice) {
  const std::vector<double> arguments = tanh_arguments();
  std::vector<double> values = arguments;
  tanh_in_place(values);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < arguments.size(); ++i)
    mismatches += tanh_bits(values[i]) != tanh_bits(std::tanh(arguments[i])) ? 1 : 0;
  EXPECT_EQ(mismatches, 0u) << "of " << arguments.size() << "; SIMD in use: " << simd_tanh_in_use();
  EXPECT_EQ(simd_tanh_in_use(), simd_tanh_available() && !library_without_fma());
}

TEST(ExactTanh, NonFiniteValuesZerosAndTails) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> values{0.0, -0.0, inf, -inf, std::numeric_limits<double>::quiet_NaN(), 0.5, -30.0, 1e-300, 3.0};
  const std::vector<double> arguments = values;
  tanh_in_place(values);  // 9 values: one non-finite block of 8 (or two of 4) and a tail
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(arguments[i])) {
      EXPECT_TRUE(std::isnan(values[i]));
    } else {
      EXPECT_EQ(tanh_bits(values[i]), tanh_bits(std::tanh(arguments[i]))) << "tanh(" << arguments[i] << ")";
    }
  }
}

}  // namespace
}  // namespace manyworlds
