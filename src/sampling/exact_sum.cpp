// ExactSum: exact fixed-point accumulation of doubles, an integer allreduce over ranks, one rounding.
#include "manyworlds/sampling/exact_sum.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace manyworlds {

namespace {

constexpr int digit_bits = ExactSum::digit_bits;
constexpr int digits = ExactSum::digits;
constexpr std::int64_t digit_base = std::int64_t{1} << digit_bits;
constexpr std::int64_t half_base = digit_base / 2;
constexpr std::uint8_t untouched = static_cast<std::uint8_t>(digits);
constexpr std::uint8_t non_finite_mark = 255;
// Additions between normalisations: each adds < 2^32 per digit, so int64 digits cannot overflow.
constexpr std::int64_t normalise_every = std::int64_t{1} << 30;

// 128-bit arithmetic for the leading bits (a GCC/Clang extension).
__extension__ typedef unsigned __int128 uint128;

// Where a balanced number's digits are: lowest and highest non-zero digit ({digits, -1} when it is
// zero), and the highest digit that balance() wrote.
struct Occupied {
  int low = digits;
  int high = -1;
  int written = -1;
};

// Carries digits [first, last] of `limb` into balanced form, each in [-2^31, 2^31), continuing
// above `last` (below `end`) while a carry remains. Balanced digits keep later additions far from
// overflow, a negative number stays as short as its magnitude, and the form is unique, so it does
// not depend on where below the number's lowest digit `first` lies.
Occupied balance(std::int64_t* limb, int first, int last, int end) {
  std::int64_t carry = 0;
  const auto carry_into = [&](int d) {
    const std::int64_t value = limb[d] + carry;
    carry = (value + half_base) >> digit_bits;  // arithmetic shift: floor division
    limb[d] = value - carry * digit_base;
  };
  int d = first;
  for (; d <= last; ++d) carry_into(d);
  for (; carry != 0 && d < end; ++d) carry_into(d);
  Occupied occupied;
  occupied.written = d - 1;
  int low = first;
  while (low <= occupied.written && limb[low] == 0) ++low;
  if (low > occupied.written) return occupied;
  int high = occupied.written;
  while (limb[high] == 0) --high;
  occupied.low = low;
  occupied.high = high;
  return occupied;
}

// Bit length of a non-zero 128-bit value.
int bit_length(uint128 value) {
  const auto upper = static_cast<std::uint64_t>(value >> 64);
  return upper != 0 ? 128 - std::countl_zero(upper) : 64 - std::countl_zero(static_cast<std::uint64_t>(value));
}

// The double nearest to the number whose `count` digits are limb[0 .. count) (digit `first_digit`
// upwards), times 2^-1074, ties to even. The top digit must leave room for the carries (so the
// balanced number fits in `count` digits). Overwrites the digits.
double rounded(std::int64_t* limb, int count, int first_digit) {
  const auto [low, high, written] = balance(limb, 0, count - 1, count);
  if (high < 0) return 0.0;
  // The sign of a balanced number is the sign of its highest non-zero digit; make the magnitude's
  // digits standard, in [0, 2^32) (it is positive, so no carry leaves the top).
  const bool negative = limb[high] < 0;
  std::int64_t carry = 0;
  for (int d = low; d <= high; ++d) {
    const std::int64_t value = (negative ? -limb[d] : limb[d]) + carry;
    carry = value >> digit_bits;
    limb[d] = value - carry * digit_base;
  }
  int top = high;
  while (top > low && limb[top] == 0) --top;
  // The top three digits hold the leading 65..96 bits; lower digits only break ties (sticky).
  const int base = std::max(top - 2, low);
  uint128 leading = 0;
  for (int d = top; d >= base; --d) leading = (leading << digit_bits) | static_cast<std::uint64_t>(limb[d]);
  bool sticky = false;
  for (int d = low; d < base; ++d) sticky = sticky || limb[d] != 0;
  const int shift = std::max(bit_length(leading) - std::numeric_limits<double>::digits, 0);
  auto mantissa = static_cast<std::uint64_t>(leading >> shift);
  if (shift > 0) {
    const uint128 remainder = leading & ((static_cast<uint128>(1) << shift) - 1);
    const uint128 half = static_cast<uint128>(1) << (shift - 1);
    if (remainder > half || (remainder == half && (sticky || (mantissa & 1) != 0))) ++mantissa;
  }
  // A mantissa that rounded up to 2^53 is still exact as a double, and scaling by a power of two
  // does not round: with shift 0 the number is exact, with shift > 0 it is at least 2^53 units, a
  // normal double (or beyond the range: infinity).
  const int exponent = shift + (first_digit + base) * digit_bits - 1074;
  const double magnitude =
      exponent >= -1022 && exponent <= 1023
          ? static_cast<double>(mantissa) * std::bit_cast<double>(static_cast<std::uint64_t>(exponent + 1023) << 52)
          : std::ldexp(static_cast<double>(mantissa), exponent);
  return negative ? -magnitude : magnitude;
}

// Where add() writes: the accumulators as plain pointers and the touched digit rows as locals, so
// that a loop keeps them in registers (byte stores could alias the vectors' own pointers).
struct Accumulators {
  std::int64_t* limbs;  // digit d of component j at limbs[d * stride + j]
  std::size_t stride;   // components
  std::uint8_t* non_finite;
  int low;   // lowest digit row touched
  int high;  // highest digit row touched
};

// Adds `value` to component `component` without rounding: its mantissa, shifted to its binary
// position, spread over three digits.
inline void accumulate(Accumulators& to, std::size_t component, double value) {
  const auto bits = std::bit_cast<std::uint64_t>(value);
  const auto exponent = static_cast<int>((bits >> 52) & 0x7ff);
  std::uint64_t mantissa = bits & ((std::uint64_t{1} << 52) - 1);
  if (exponent == 0x7ff) {
    to.non_finite[component] = 1;
    return;
  }
  if (exponent == 0 && mantissa == 0) return;
  // value = mantissa * 2^(position - 1074): subnormals have exponent 0 and no hidden bit.
  int position = 0;
  if (exponent != 0) {
    mantissa |= std::uint64_t{1} << 52;
    position = exponent - 1;
  }
  const int digit = position / digit_bits;
  const int shift = position % digit_bits;
  // The 53-bit mantissa shifted by < 32 bits fills bits 0..83: two words' worth of digits.
  const std::uint64_t below = mantissa << shift;
  const std::uint64_t above = (mantissa >> digit_bits) >> (digit_bits - shift);
  // Two's-complement negation when the sign bit is set: (x ^ m) - m with m all ones.
  const auto negate = static_cast<std::int64_t>(0 - (bits >> 63));
  const auto signed_digit = [negate](std::uint64_t x) { return (static_cast<std::int64_t>(x) ^ negate) - negate; };
  constexpr std::uint64_t mask = digit_base - 1;
  std::int64_t* limb = to.limbs + static_cast<std::size_t>(digit) * to.stride + component;
  limb[0] += signed_digit(below & mask);
  limb[to.stride] += signed_digit(below >> digit_bits);
  limb[2 * to.stride] += signed_digit(above);
  to.low = std::min(to.low, digit);
  to.high = std::max(to.high, digit + 2);
}

}  // namespace

ExactSum::ExactSum(std::size_t components)
    : components_(components),
      limbs_(components * digits, 0),
      non_finite_(components, 0),
      carry_(components, 0),
      first_(components, untouched),
      last_(components, 0) {}

void ExactSum::add(std::size_t component, double value) {
  if (++pending_ >= normalise_every) normalize_all();
  Accumulators to{limbs_.data(), components_, non_finite_.data(), low_row_, high_row_};
  accumulate(to, component, value);
  low_row_ = to.low;
  high_row_ = to.high;
}

void ExactSum::add(std::span<const double> values) {
  if (values.size() != components_)
    throw std::invalid_argument("ExactSum::add: " + std::to_string(values.size()) + " values for " +
                                std::to_string(components_) + " components");
  // One addition per component: one step towards the next normalisation.
  if (++pending_ >= normalise_every) normalize_all();
  Accumulators to{limbs_.data(), components_, non_finite_.data(), low_row_, high_row_};
  const double* value = values.data();
  for (std::size_t j = 0; j < components_; ++j) accumulate(to, j, value[j]);
  low_row_ = to.low;
  high_row_ = to.high;
}

std::int64_t* ExactSum::row(int digit) { return limbs_.data() + static_cast<std::size_t>(digit) * components_; }

void ExactSum::balance_rows() {
  if (high_row_ < low_row_) return;
  // Row by row over all components at once: the same carries as balancing each component alone
  // (zero digits below a component's own lowest digit carry nothing), in loops that vectorise.
  std::fill(carry_.begin(), carry_.end(), 0);
  std::int64_t* carry = carry_.data();
  for (int d = low_row_; d < digits; ++d) {
    std::int64_t* limb = row(d);
    std::int64_t any = 0;
    for (std::size_t j = 0; j < components_; ++j) {
      const std::int64_t value = limb[j] + carry[j];
      carry[j] = (value + half_base) >> digit_bits;  // arithmetic shift: floor division
      limb[j] = value - carry[j] * digit_base;
      any |= carry[j];
    }
    high_row_ = std::max(high_row_, d);
    if (any == 0 && d >= high_row_) break;
  }
}

void ExactSum::normalize_all() {
  balance_rows();
  pending_ = 0;
}

void ExactSum::find_occupied_digits() {
  std::fill(first_.begin(), first_.end(), untouched);
  std::fill(last_.begin(), last_.end(), 0);
  for (int d = low_row_; d <= high_row_; ++d) {
    const std::int64_t* limb = row(d);
    const auto digit = static_cast<std::uint8_t>(d);
    for (std::size_t j = 0; j < components_; ++j) {
      const bool occupied = limb[j] != 0;
      first_[j] = occupied && first_[j] == untouched ? digit : first_[j];
      last_[j] = occupied ? digit : last_[j];
    }
  }
}

void ExactSum::reduce(Collectives& collectives, std::span<double> out) {
  if (out.size() != components_)
    throw std::invalid_argument("ExactSum::reduce: " + std::to_string(out.size()) + " outputs for " +
                                std::to_string(components_) + " components");
  // Window per component as [highest digit + 1, digits - lowest digit], so that one max-reduce
  // finds both ends; 0 means empty, 255 marks a non-finite contribution.
  balance_rows();
  find_occupied_digits();
  window_.assign(2 * components_, 0);
  for (std::size_t j = 0; j < components_; ++j) {
    if (non_finite_[j] != 0) {
      window_[2 * j] = non_finite_mark;
    } else if (first_[j] != untouched) {
      window_[2 * j] = static_cast<std::uint8_t>(last_[j] + 1);
      window_[2 * j + 1] = static_cast<std::uint8_t>(digits - first_[j]);
    }
  }
  collectives.max_uint8(window_);

  // Digits [lowest, highest + 1] of every occupied component, in component order (the same
  // layout on every rank); the extra top digit takes the carries of the sum over ranks, whose
  // balanced digits (|d| <= 2^31) cannot overflow int64 for fewer than 2^32 ranks.
  const auto occupied = [&](std::size_t j) { return window_[2 * j] != 0 && window_[2 * j] != non_finite_mark; };
  const auto span_of = [&](std::size_t j) {
    return std::pair<int, int>{digits - window_[2 * j + 1], std::min<int>(window_[2 * j], digits - 1)};
  };
  // A balanced component has no digit outside its window, and clear() empties the rows after packing.
  packed_.clear();
  for (std::size_t j = 0; j < components_; ++j) {
    if (!occupied(j)) continue;
    const auto [first, last] = span_of(j);
    for (int d = first; d <= last; ++d) packed_.push_back(row(d)[j]);
  }
  clear();
  collectives.sum_int64(packed_);

  // The sum over fewer than 2^32 ranks fits its window (its carries stay inside the top digit), so
  // each component is rounded in place from its packed digits.
  std::size_t next = 0;
  for (std::size_t j = 0; j < components_; ++j) {
    if (window_[2 * j] == 0) {
      out[j] = 0.0;
    } else if (window_[2 * j] == non_finite_mark) {
      out[j] = std::numeric_limits<double>::quiet_NaN();
    } else {
      const auto [first, last] = span_of(j);
      const int count = last - first + 1;
      out[j] = rounded(packed_.data() + next, count, first);
      next += static_cast<std::size_t>(count);
    }
  }
}

void ExactSum::clear() {
  if (high_row_ >= low_row_) std::fill(row(low_row_), row(high_row_ + 1), 0);
  std::fill(non_finite_.begin(), non_finite_.end(), 0);
  low_row_ = digits;
  high_row_ = -1;
  pending_ = 0;
}

}  // namespace manyworlds
