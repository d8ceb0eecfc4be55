// Exact, order-independent sums of doubles over contributions and ranks (fixed-point limbs, integer allreduce).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "manyworlds/core/collectives.hpp"

namespace manyworlds {

// A vector of `size()` exact accumulators. Every finite double is an integer multiple of 2^-1074,
// so each contribution is added, without rounding, into a fixed-point number of 32-bit digits held
// in int64 limbs that spans 2^-1074 .. 2^1102 (every double, plus headroom for 2^31 additions).
// reduce() agrees on each component's occupied digit window with one byte-wise max-reduce, sums
// the window's digits as integers over ranks (integer sums do not depend on order), and rounds
// the total once to the nearest double (ties to even).
//
// So the result is the correctly rounded sum of all contributions on all ranks: the same bits for
// any order of additions, any grouping into ranks and any rank count (below 2^32 ranks). Exact
// zeros give +0.0; a component with a NaN or infinite contribution gives NaN.
class ExactSum {
 public:
  explicit ExactSum(std::size_t components);

  std::size_t size() const { return components_; }

  // Adds `value` to component `component` (< size()).
  void add(std::size_t component, double value);
  // Adds values[j] to component j; values.size() must be size() (else std::invalid_argument).
  void add(std::span<const double> values);

  // Collective (every rank calls it, with the same size()): writes into `out` (size() values) the
  // correctly rounded sum of every contribution made on every rank since the last reduce, and
  // clears the accumulators. Moves 2 bytes per component (window) plus 8 bytes per occupied digit
  // and rank-count-independent: a component's window is its values' binade spread plus 53 bits.
  void reduce(Collectives& collectives, std::span<double> out);
  // Drops every contribution (local only).
  void clear();

  // The digit layout, for tests and documentation.
  static constexpr int digit_bits = 32;
  static constexpr int digits = 68;

 private:
  std::int64_t* row(int digit);  // digit `digit` of every component
  void balance_rows();           // every digit in [-2^31, 2^31), carrying upwards
  void normalize_all();
  void find_occupied_digits();  // first_ and last_ of balanced rows

  std::size_t components_;
  std::vector<std::int64_t> limbs_;       // digits x components (digit-major), balanced between normalisations
  std::vector<std::uint8_t> non_finite_;  // 1 if a NaN or infinity was added
  int low_row_ = digits;                  // digit rows any addition touched since the last clear: low_row_ ..
  int high_row_ = -1;                     // .. high_row_ (empty when high_row_ < low_row_)
  std::int64_t pending_ = 0;              // bound on any component's additions since the last normalisation
  std::vector<std::int64_t> carry_;       // balance_rows' carry per component (kept to reuse its storage)
  std::vector<std::uint8_t> first_;       // lowest non-zero digit per component (digits: none)
  std::vector<std::uint8_t> last_;        // highest non-zero digit per component
  std::vector<std::uint8_t> window_;      // reduce's agreed digit windows (kept to reuse its storage)
  std::vector<std::int64_t> packed_;      // reduce's window digits of every component, summed over ranks
};

}  // namespace manyworlds
