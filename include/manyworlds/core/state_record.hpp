// A versioned record of named numeric arrays with checked reads: the learner's state in a checkpoint.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace manyworlds {

// What a real-valued field must satisfy when it is read back. Values are always finite.
struct RealRange {
  std::optional<std::size_t> size;  // exact number of values, if known
  double min = -std::numeric_limits<double>::max();
  double max = std::numeric_limits<double>::max();
};

// What an integer field must satisfy when it is read back.
struct IntegerRange {
  std::optional<std::size_t> size;
  std::int64_t min = std::numeric_limits<std::int64_t>::min();
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
};

// Named float64 and int64 arrays. Writing a field is one put(); reading one is one checked call
// that throws InputError naming the source file, the field and what is wrong (missing, wrong
// size, NaN or infinite, out of range). Adding a field later: put() it on the writing side, read
// it with reals()/integers() (or test has() first, for records written before the field existed).
class StateRecord {
 public:
  explicit StateRecord(std::string source = {}) : source_(std::move(source)) {}

  void put(const std::string& name, std::vector<double> values);
  void put(const std::string& name, std::vector<std::int64_t> values);
  void put_real(const std::string& name, double value) { put(name, std::vector<double>{value}); }
  void put_integer(const std::string& name, std::int64_t value) { put(name, std::vector<std::int64_t>{value}); }

  bool has(const std::string& name) const { return reals_.contains(name) || integers_.contains(name); }
  std::vector<double> reals(const std::string& name, const RealRange& range) const;
  std::vector<std::int64_t> integers(const std::string& name, const IntegerRange& range) const;
  double real(const std::string& name, double min, double max) const;
  std::int64_t integer(const std::string& name, std::int64_t min, std::int64_t max) const;

  const std::map<std::string, std::vector<double>>& all_reals() const { return reals_; }
  const std::map<std::string, std::vector<std::int64_t>>& all_integers() const { return integers_; }
  const std::string& source() const { return source_; }

 private:
  [[noreturn]] void refuse(const std::string& name, const std::string& problem) const;

  std::string source_;  // named in every error message
  std::map<std::string, std::vector<double>> reals_;
  std::map<std::string, std::vector<std::int64_t>> integers_;
};

}  // namespace manyworlds
