// glibc's tanh (fdlibm's, over its FMA build of expm1) lane by lane with GCC vector types, AVX2 and AVX-512F.
#include "manyworlds/learn/exact_tanh.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "manyworlds/core/vector_isa.hpp"

// The generic code below is inlined into each entry point (always_inline), in the entry point's
// instruction set, so no vector crosses a call: -Wpsabi's ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace manyworlds {
namespace {

// L doubles as one vector and the matching 64-bit integers (spelled out per size: GCC drops a
// vector_size that depends on a template parameter).
template <int L>
struct Lanes;
template <>
struct Lanes<4> {
  using Real = double __attribute__((vector_size(32)));
  using Int = std::int64_t __attribute__((vector_size(32)));
  using Int32 = std::int32_t __attribute__((vector_size(16)));
};
template <>
struct Lanes<8> {
  using Real = double __attribute__((vector_size(64)));
  using Int = std::int64_t __attribute__((vector_size(64)));
  using Int32 = std::int32_t __attribute__((vector_size(32)));
};

// The helpers are always inlined, so they compile for the instruction set of the entry point that
// uses them; vectors go by reference (by value would change the calling convention per set).

// a * b + c rounded once, lane by lane: the fused instructions glibc's FMA build uses where it does
// (the entry points enable FMA, so these are vfmadd instructions).
template <class Real>
[[gnu::always_inline]] inline Real fused(const Real& a, const Real& b, const Real& c) {
  Real result;
  for (std::size_t lane = 0; lane < sizeof(Real) / sizeof(double); ++lane)
    result[lane] = __builtin_fma(a[lane], b[lane], c[lane]);
  return result;
}

// fdlibm's expm1 constants (glibc sysdeps/ieee754/dbl-64/s_expm1.c).
constexpr double ln2_hi = 6.93147180369123816490e-01;
constexpr double ln2_lo = 1.90821492927058770002e-10;
constexpr double inverse_ln2 = 1.44269504088896338700e+00;
constexpr double q1 = -3.33333333333331316428e-02;
constexpr double q2 = 1.58730158725481460165e-03;
constexpr double q3 = -7.93650757867487942473e-05;
constexpr double q4 = 4.00821782732936239552e-06;
constexpr double q5 = -2.01099218183624371326e-07;

// Adds k to the binary exponent of y (fdlibm's SET_HIGH_WORD(y, high + (k << 20))).
template <class Real, class Int>
[[gnu::always_inline]] inline Real with_exponent_added(const Real& y, const Int& k) {
  return std::bit_cast<Real>(std::bit_cast<Int>(y) + (k << 52));
}

// expm1(a) for a in [-2, -2^-54] and [2, 44] (what tanh asks; k is never 1 there, so that case is
// left out), as glibc's __expm1_fma computes it: the reduction a = k ln2 + x (k = +-1 exactly near
// ln2), the rational approximation of x with that build's FMA contractions, and the reconstruction
// by k's case. Every lane computes every case and selects its own at the end.
template <int L>
[[gnu::always_inline]] inline typename Lanes<L>::Real expm1_lanes(const typename Lanes<L>::Real& a) {
  using Real = typename Lanes<L>::Real;
  using Int = typename Lanes<L>::Int;
  const Real zero = Real{} + 0.0;
  const Real one = zero + 1.0;
  const Real half = zero + 0.5;
  const Int negative = a < zero;
  const Real magnitude = negative ? -a : a;
  // Cases by |a| as double comparisons (the same as fdlibm's on the high word), each used alone in a
  // select (GCC spells combined lane masks one lane at a time).
  const Int reduced = magnitude >= std::bit_cast<double>(std::uint64_t{0x3fd62e43} << 32);   // |a| > ln2 / 2
  const Int below_far = magnitude < std::bit_cast<double>(std::uint64_t{0x3ff0a2b2} << 32);  // |a| < 3 ln2 / 2
  // Far lanes: k = (int)(a / ln2 +- 1/2) (multiply, then add), truncated through 32-bit integers as
  // the scalar code's cvttsd2si (AVX-512F has no 64-bit form); near lanes: k = +-1; the rest: 0.
  const Real quotient = below_far ? zero : inverse_ln2 * a + (negative ? -half : half);
  const Real t = __builtin_convertvector(__builtin_convertvector(quotient, typename Lanes<L>::Int32), Real);
  const Real kd = below_far ? (reduced ? (negative ? zero - 1.0 : one) : zero) : t;  // k as a double (exact)
  const Int k = __builtin_convertvector(__builtin_convertvector(kd, typename Lanes<L>::Int32), Int);
  const Real hi = below_far ? (negative ? a + ln2_hi : a - ln2_hi) : fused(-t, zero + ln2_hi, a);
  const Real lo = below_far ? (negative ? zero - ln2_lo : zero + ln2_lo) : t * ln2_lo;
  const Real x = reduced ? hi - lo : a;
  const Real c = (hi - x) - lo;  // used where k != 0 only
  // The reduced argument's rational approximation.
  const Real hfx = x * half;
  const Real hxs = x * hfx;
  const Real r2 = fused(hxs, zero + q3, zero + q2);
  const Real r3 = fused(hxs, zero + q5, zero + q4);
  const Real h2 = hxs * hxs;
  const Real r1_0 = fused(hxs, zero + q1, one);
  const Real h4 = h2 * h2;
  const Real r1 = fused(h4, r3, fused(h2, r2, r1_0));
  const Real tt = fused(-r1, hfx, zero + 3.0);
  const Real e = ((r1 - tt) / fused(-x, tt, zero + 6.0)) * hxs;
  const Real k_zero = x - fused(e, x, -hxs);
  const Real ek = fused(e - c, x, -c) - hxs;
  const Real k_minus_one = fused(half, x - ek, -half);
  const Real k_far = with_exponent_added(one - (ek - x), k) - one;  // k <= -2 or k > 56
  const Int shift = k & 63;                                         // within range for every lane
  const Real one_minus = std::bit_cast<Real>((Int{} + 0x3ff00000 - ((Int{} + 0x200000) >> shift)) << 32);  // 1 - 2^-k
  const Real k_small = with_exponent_added(one_minus - (ek - x), k);                                       // k <= 19
  const Real two_minus = std::bit_cast<Real>((Int{} + 0x3ff - k) << 52);                                   // 2^-k
  const Real k_large = with_exponent_added((x - (ek + two_minus)) + one, k);                               // k > 19
  const Real above_19 = kd > 56.0 ? k_far : k_large;
  const Real below_20 = kd < -1.0 ? k_far : k_small;
  Real result = kd > 19.0 ? above_19 : below_20;
  result = kd == -1.0 ? k_minus_one : result;
  return kd == 0.0 ? k_zero : result;
}

// tanh lane by lane as glibc's __tanh: x (1 + x) below 2^-55, 1 from 22 on, 1 - 2 / (expm1(2|x|) + 2)
// from 1 on, else -t / (t + 2) with t = expm1(-2|x|); the sign of x; +-1 for +-infinity and the
// quieted NaN for a NaN (1 / x +- 1 in glibc, x + x here: the same bits).
template <int L>
[[gnu::always_inline]] inline void tanh_lanes(typename Lanes<L>::Real& v) {
  using Real = typename Lanes<L>::Real;
  using Int = typename Lanes<L>::Int;
  const Real zero = Real{} + 0.0;
  const Real one = zero + 1.0;
  const Real two = zero + 2.0;
  const Int sign = std::bit_cast<Int>(v) < 0;
  const Real magnitude = sign ? -v : v;
  const Int unsaturated = magnitude < 22.0;  // not infinity or NaN either
  const Int at_least_one = magnitude >= 1.0;
  // expm1's argument, kept at 2 in the saturated lanes (their result is not used).
  const Real argument = unsaturated ? (at_least_one ? two * magnitude : -two * magnitude) : two;
  const Real t = expm1_lanes<L>(argument);
  const Real quotient = (at_least_one ? two : -t) / (t + two);
  Real z = at_least_one ? one - quotient : quotient;
  z = unsaturated ? z : one - 1.0e-300;
  z = sign ? -z : z;
  z = magnitude < 0x1p-55 ? v * (one + v) : z;
  v = magnitude != magnitude ? v + v : z;
}

template <int L>
[[gnu::always_inline]] inline void tanh_blocks(double* values, std::size_t count) {
  using Real = typename Lanes<L>::Real;
  std::size_t i = 0;
  for (; i + L <= count; i += L) {
    Real v;
    std::memcpy(&v, values + i, sizeof v);
    tanh_lanes<L>(v);
    std::memcpy(values + i, &v, sizeof v);
  }
  for (; i < count; ++i) values[i] = std::tanh(values[i]);
}

[[gnu::target("avx2,fma")]] void tanh_avx2(double* values, std::size_t count) { tanh_blocks<4>(values, count); }
[[gnu::target("avx512f,fma")]] void tanh_avx512(double* values, std::size_t count) { tanh_blocks<8>(values, count); }

// glibc runs its FMA build of expm1 (which tanh calls) on CPUs with AVX2 and FMA, unless
// GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA turns them off: check_passes() tells that case apart.
bool cpu_qualifies() { return __builtin_cpu_supports("avx2") != 0 && __builtin_cpu_supports("fma") != 0; }

// Arguments over every case of tanh and expm1: a grid from 2^-60 to 30 in steps of 1/8 binade and
// the values around each case's boundary, both signs.
std::vector<double> check_arguments() {
  std::vector<double> values;
  for (double x = std::ldexp(1.0, -60); x < 30.0; x *= 1.0905077326652577) values.push_back(x);  // 2^(1/8)
  for (double edge : {0x1p-55, 0.17328679513998632, 0.5198603854199589, 1.0, 19.408121055678468, 22.0}) {
    double below = edge;
    double above = edge;
    for (int step = 0; step < 64; ++step) {
      values.push_back(below = std::nextafter(below, 0.0));
      values.push_back(above = std::nextafter(above, 100.0));
    }
  }
  // Arguments where glibc 2.36's FMA and non-FMA builds of tanh differ (498 of 4 M log-uniform ones
  // do), so that the check fails when glibc runs the other build.
  for (double x : {0x1.ab7cf9f0b0cap-4, 0x1.10fbd689a15c9p-1, 0x1.481b36e212c55p-3, 0x1.493b5bd38cb7ap-3,
                   0x1.ddc697ea36c5fp-5, 0x1.3d07ed39b6487p-4, 0x1.f6064fd547396p-4, 0x1.1d5a82303c092p-3})
    values.push_back(x);
  const std::size_t positive = values.size();
  for (std::size_t i = 0; i < positive; ++i) values.push_back(-values[i]);
  return values;
}

bool check_passes() {
  const std::vector<double> arguments = check_arguments();
  std::vector<double> simd = arguments;
  simd_tanh_in_place(best_vector_isa(), simd);
  for (std::size_t i = 0; i < arguments.size(); ++i)
    if (std::bit_cast<std::uint64_t>(simd[i]) != std::bit_cast<std::uint64_t>(std::tanh(arguments[i]))) return false;
  return true;
}

}  // namespace

bool simd_tanh_available() { return cpu_qualifies(); }

void simd_tanh_in_place(VectorIsa isa, std::span<double> values) {
  if (isa == VectorIsa::avx512)
    tanh_avx512(values.data(), values.size());
  else
    tanh_avx2(values.data(), values.size());
}

bool simd_tanh_in_use() {
  static const bool in_use = cpu_qualifies() && check_passes();  // decided once per process
  return in_use;
}

void tanh_in_place(std::span<double> values) {
  if (simd_tanh_in_use()) {
    simd_tanh_in_place(best_vector_isa(), values);
    return;
  }
  for (double& value : values) value = std::tanh(value);
}

}  // namespace manyworlds
