// Checked reads of a StateRecord's named fields.
#include "manyworlds/core/state_record.hpp"

#include <cmath>
#include <sstream>

#include "manyworlds/core/errors.hpp"

namespace manyworlds {

namespace {

template <class T>
std::string number_text(T value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

template <class T>
std::string size_problem(const std::vector<T>& values, std::optional<std::size_t> size) {
  if (!size || values.size() == *size) return {};
  return "holds " + std::to_string(values.size()) + " values, this job needs " + std::to_string(*size);
}

}  // namespace

void StateRecord::put(const std::string& name, std::vector<double> values) {
  integers_.erase(name);
  reals_[name] = std::move(values);
}

void StateRecord::put(const std::string& name, std::vector<std::int64_t> values) {
  reals_.erase(name);
  integers_[name] = std::move(values);
}

void StateRecord::refuse(const std::string& name, const std::string& problem) const {
  throw InputError(source_ + ": field '" + name + "' " + problem +
                   "; the checkpoint is damaged or from another program: start anew with --force");
}

std::vector<double> StateRecord::reals(const std::string& name, const RealRange& range) const {
  const auto found = reals_.find(name);
  if (found == reals_.end()) refuse(name, "is missing (or not real-valued)");
  const std::vector<double>& values = found->second;
  if (const std::string problem = size_problem(values, range.size); !problem.empty()) refuse(name, problem);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) refuse(name, "holds " + number_text(values[i]) + " at index " + std::to_string(i));
    if (values[i] < range.min || values[i] > range.max)
      refuse(name, "holds " + number_text(values[i]) + " at index " + std::to_string(i) + ", " +
                       (values[i] < range.min ? "below the minimum " + number_text(range.min)
                                              : "above the maximum " + number_text(range.max)));
  }
  return values;
}

std::vector<std::int64_t> StateRecord::integers(const std::string& name, const IntegerRange& range) const {
  const auto found = integers_.find(name);
  if (found == integers_.end()) refuse(name, "is missing (or not an integer)");
  const std::vector<std::int64_t>& values = found->second;
  if (const std::string problem = size_problem(values, range.size); !problem.empty()) refuse(name, problem);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] < range.min || values[i] > range.max)
      refuse(name, "holds " + std::to_string(values[i]) + (values.size() > 1 ? " at index " + std::to_string(i) : "") +
                       ", " +
                       (values[i] < range.min ? "below the minimum " + std::to_string(range.min)
                                              : "above the maximum " + std::to_string(range.max)));
  }
  return values;
}

double StateRecord::real(const std::string& name, double min, double max) const {
  return reals(name, {.size = 1, .min = min, .max = max})[0];
}

std::int64_t StateRecord::integer(const std::string& name, std::int64_t min, std::int64_t max) const {
  return integers(name, {.size = 1, .min = min, .max = max})[0];
}

}  // namespace manyworlds
