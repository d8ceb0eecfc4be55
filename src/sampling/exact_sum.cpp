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

// The digits of one component, contiguous: digit d at [d] (component-major, so that balancing,
// packing and clearing a component run over adjacent words).
std::int64_t* digits_of(std::vector<std::int64_t>& limbs, std::size_t component) {
  return limbs.data() + component * static_cast<std::size_t>(digits);
}

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

}  // namespace

ExactSum::ExactSum(std::size_t components)
    : components_(components),
      limbs_(components * digits, 0),
      low_(components, untouched),
      high_(components, 0),
      non_finite_(components, 0) {}

void ExactSum::add(std::size_t component, double value) {
  if (++pending_ >= normalise_every) normalize_all();
  accumulate(component, value);
}

void ExactSum::add(std::span<const double> values) {
  if (values.size() != components_)
    throw std::invalid_argument("ExactSum::add: " + std::to_string(values.size()) + " values for " +
                                std::to_string(components_) + " components");
  // One addition per component: one step towards the next normalisation.
  if (++pending_ >= normalise_every) normalize_all();
  for (std::size_t j = 0; j < components_; ++j) accumulate(j, values[j]);
}

void ExactSum::accumulate(std::size_t component, double value) {
  const auto bits = std::bit_cast<std::uint64_t>(value);
  const auto exponent = static_cast<int>((bits >> 52) & 0x7ff);
  std::uint64_t mantissa = bits & ((std::uint64_t{1} << 52) - 1);
  if (exponent == 0x7ff) {
    non_finite_[component] = 1;
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
  const uint128 shifted = static_cast<uint128>(mantissa) << (position % digit_bits);
  const std::int64_t sign = (bits >> 63) != 0 ? -1 : 1;
  std::int64_t* limb = digits_of(limbs_, component);
  constexpr std::uint64_t mask = digit_base - 1;
  limb[digit] += sign * static_cast<std::int64_t>(static_cast<std::uint64_t>(shifted) & mask);
  limb[digit + 1] += sign * static_cast<std::int64_t>(static_cast<std::uint64_t>(shifted >> digit_bits) & mask);
  limb[digit + 2] += sign * static_cast<std::int64_t>(static_cast<std::uint64_t>(shifted >> (2 * digit_bits)));
  low_[component] = std::min(low_[component], static_cast<std::uint8_t>(digit));
  high_[component] = std::max(high_[component], static_cast<std::uint8_t>(digit + 2));
}

void ExactSum::normalize_all() {
  for (std::size_t j = 0; j < components_; ++j) {
    if (low_[j] == untouched) continue;
    high_[j] = static_cast<std::uint8_t>(balance(digits_of(limbs_, j), low_[j], high_[j], digits).written);
  }
  pending_ = 0;
}

void ExactSum::reduce(Collectives& collectives, std::span<double> out) {
  if (out.size() != components_)
    throw std::invalid_argument("ExactSum::reduce: " + std::to_string(out.size()) + " outputs for " +
                                std::to_string(components_) + " components");
  // Window per component as [highest digit + 1, digits - lowest digit], so that one max-reduce
  // finds both ends; 0 means empty, 255 marks a non-finite contribution.
  window_.assign(2 * components_, 0);
  for (std::size_t j = 0; j < components_; ++j) {
    if (non_finite_[j] != 0) {
      window_[2 * j] = non_finite_mark;
      continue;
    }
    if (low_[j] == untouched) continue;
    const auto [first, last, written] = balance(digits_of(limbs_, j), low_[j], high_[j], digits);
    high_[j] = static_cast<std::uint8_t>(written);
    if (last < 0) continue;
    window_[2 * j] = static_cast<std::uint8_t>(last + 1);
    window_[2 * j + 1] = static_cast<std::uint8_t>(digits - first);
  }
  collectives.max_uint8(window_);

  // Digits [lowest, highest + 1] of every occupied component, in component order (the same
  // layout on every rank); the extra top digit takes the carries of the sum over ranks, whose
  // balanced digits (|d| <= 2^31) cannot overflow int64 for fewer than 2^32 ranks.
  const auto occupied = [&](std::size_t j) { return window_[2 * j] != 0 && window_[2 * j] != non_finite_mark; };
  const auto span_of = [&](std::size_t j) {
    return std::pair<int, int>{digits - window_[2 * j + 1], std::min<int>(window_[2 * j], digits - 1)};
  };
  // Packing empties the accumulators: a balanced component has no digit outside its window.
  packed_.clear();
  for (std::size_t j = 0; j < components_; ++j) {
    if (!occupied(j)) continue;
    const auto [first, last] = span_of(j);
    std::int64_t* limb = digits_of(limbs_, j);
    for (int d = first; d <= last; ++d) packed_.push_back(std::exchange(limb[d], 0));
    low_[j] = untouched;
  }
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
  clear();
}

void ExactSum::clear() {
  for (std::size_t j = 0; j < components_; ++j) {
    if (low_[j] != untouched) std::fill(digits_of(limbs_, j) + low_[j], digits_of(limbs_, j) + high_[j] + 1, 0);
    low_[j] = untouched;
    high_[j] = 0;
    non_finite_[j] = 0;
  }
  pending_ = 0;
}

}  // namespace manyworlds
