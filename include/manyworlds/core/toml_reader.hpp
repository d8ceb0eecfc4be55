// Checked reading of TOML tables: typed, range-checked, unknown keys reported with the nearest valid key.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <toml.hpp>
#include <vector>

namespace manyworlds {

// Inclusive numeric bounds a value must lie in.
struct Bounds {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool exclusive_min = false;  // the value must be strictly above min
};
inline constexpr Bounds positive{0.0, std::numeric_limits<double>::infinity(), true};
inline constexpr Bounds non_negative{0.0, std::numeric_limits<double>::infinity(), false};
inline constexpr Bounds unit_interval{0.0, 1.0, false};

// Parses TOML text; a syntax error becomes an InputError naming the file and line.
toml::value parse_toml_text(const std::string& text, const std::string& file);

// Reads a whole file into a string; InputError naming the file if it cannot.
// The deepest nesting of arrays and inline tables a job or priors file may use.
inline constexpr int max_toml_nesting = 64;

std::string read_text_file(const std::string& path);

// One TOML table being read. Every key asked for is "known"; finish() rejects the rest.
class TomlTable {
 public:
  TomlTable(const toml::value& table, std::string file, std::string path);

  bool has(const std::string& key) const;
  bool is_table(const std::string& key) const;  // present and a table
  std::vector<std::string> keys() const;        // keys present, in file order where TOML keeps it

  double number(const std::string& key, Bounds bounds = {}) const;
  double number(const std::string& key, double fallback, Bounds bounds = {}) const;
  std::int64_t integer(const std::string& key, std::int64_t min, std::int64_t max) const;
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max) const;
  bool boolean(const std::string& key, bool fallback) const;
  std::string string(const std::string& key) const;
  std::string string(const std::string& key, const std::string& fallback) const;
  // A string that must be one of `allowed`.
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& allowed) const;
  std::vector<double> numbers(const std::string& key, Bounds bounds = {}) const;
  std::vector<double> numbers(const std::string& key, const std::vector<double>& fallback, Bounds bounds = {}) const;
  std::vector<std::string> strings(const std::string& key, const std::vector<std::string>& fallback) const;

  TomlTable table(const std::string& key) const;
  std::optional<TomlTable> optional_table(const std::string& key) const;

  // Throws InputError for the first key that nothing asked for, naming the nearest known key.
  void finish() const;

  // Throws InputError about `key` of this table (its line if present, else the table's).
  [[noreturn]] void fail(const std::string& key, const std::string& reason) const;

  const std::string& file() const { return file_; }
  std::string qualified(const std::string& key) const;  // "section.key"

 private:
  const toml::value& at(const std::string& key) const;
  double checked_number(const std::string& key, const toml::value& value, Bounds bounds) const;
  std::int64_t line_of(const std::string& key) const;

  const toml::value* table_;
  std::string file_;
  std::string path_;
  mutable std::set<std::string> known_;
};

// Edit distance, used to suggest the nearest valid key.
std::size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace manyworlds
