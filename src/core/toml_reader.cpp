// Checked reading of TOML tables with one-line errors naming file, line, key and fix.
#include "manyworlds/core/toml_reader.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "manyworlds/core/errors.hpp"

namespace manyworlds {

namespace {

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string describe_bounds(Bounds bounds) {
  const bool has_min = std::isfinite(bounds.min);
  const bool has_max = std::isfinite(bounds.max);
  if (has_min && has_max)
    return (bounds.exclusive_min ? "in (" : "in [") + format_number(bounds.min) + ", " + format_number(bounds.max) +
           "]";
  if (has_min) return (bounds.exclusive_min ? "> " : ">= ") + format_number(bounds.min);
  if (has_max) return "<= " + format_number(bounds.max);
  return "a finite number";
}

std::string type_name(const toml::value& value) {
  switch (value.type()) {
    case toml::value_t::boolean:
      return "a boolean";
    case toml::value_t::integer:
      return "an integer";
    case toml::value_t::floating:
      return "a float";
    case toml::value_t::string:
      return "a string";
    case toml::value_t::array:
      return "an array";
    case toml::value_t::table:
      return "a table";
    default:
      return "a date or time";
  }
}

}  // namespace

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> previous(b.size() + 1);
  std::vector<std::size_t> current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the file (does it exist and is it readable?)");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError(path + ": cannot read the file");
  return text.str();
}

namespace {

// toml11 parses nested arrays and inline tables recursively: deep nesting would overflow the stack
// (found by fuzz/fuzz_job). Refuses nesting deeper than max_toml_nesting, counting brackets and
// braces outside strings and comments.
void check_nesting(const std::string& text, const std::string& file) {
  int depth = 0;
  std::int64_t line = 1;
  std::string quote;  // the open string's delimiter: ", ', """ or '''
  bool comment = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      comment = false;
    }
    if (comment) continue;
    if (!quote.empty()) {
      if (c == '\\' && quote[0] == '"')
        ++i;  // an escaped character
      else if (text.compare(i, quote.size(), quote) == 0) {
        i += quote.size() - 1;
        quote.clear();
      }
      continue;
    }
    if (c == '#')
      comment = true;
    else if (c == '"' || c == '\'')
      quote = text.compare(i, 3, std::string(3, c)) == 0 ? std::string(3, c) : std::string(1, c);
    else if (c == '[' || c == '{') {
      if (++depth > max_toml_nesting)
        throw InputError(file + ":" + std::to_string(line) + ": arrays or inline tables nested deeper than " +
                         std::to_string(max_toml_nesting) + " levels; flatten them");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
    if (quote.size() == 3) i += 2;
  }
}

// Length of the valid UTF-8 sequence starting at text[i], or 0 (overlong forms, surrogates, > U+10FFFF).
std::size_t utf8_length(const std::string& text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return k < text.size() ? static_cast<unsigned char>(text[k]) : 0u; };
  const unsigned lead = byte(i);
  if (lead < 0x80) return 1;
  const std::size_t length = lead >= 0xC2 && lead <= 0xDF   ? 2
                             : lead >= 0xE0 && lead <= 0xEF ? 3
                             : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                            : 0;
  for (std::size_t k = 1; k < length; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  const unsigned second = byte(i + 1);
  if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) || (lead == 0xF0 && second < 0x90) ||
      (lead == 0xF4 && second > 0x8F))
    return 0;
  return length;
}

// TOML files are UTF-8; toml11 3.7's error path for invalid UTF-8 in literal strings reads out of
// bounds (found by fuzz/fuzz_job), so invalid bytes are refused before it sees them.
void check_utf8(const std::string& text, const std::string& file) {
  std::int64_t line = 1;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_length(text, i);
    if (length == 0)
      throw InputError(file + ":" + std::to_string(line) + ": not valid UTF-8 (byte " + std::to_string(i) +
                       "); TOML files must be UTF-8");
    if (text[i] == '\n') ++line;
    i += length;
  }
}

}  // namespace

toml::value parse_toml_text(const std::string& text, const std::string& file) {
  check_utf8(text, file);
  check_nesting(text, file);
  std::istringstream stream(text);
  try {
    return toml::parse(stream, file);
  } catch (const toml::syntax_error& error) {
    const toml::source_location& where = error.location();
    // toml11 messages span several lines; keep the first line of the reason only.
    std::string reason = error.what();
    const auto reason_start = reason.find("] ");
    if (reason_start != std::string::npos) reason = reason.substr(reason_start + 2);
    reason = reason.substr(0, reason.find('\n'));
    throw InputError(file + ":" + std::to_string(where.line()) + ": TOML syntax error: " + reason);
  }
}

TomlTable::TomlTable(const toml::value& table, std::string file, std::string path)
    : table_(&table), file_(std::move(file)), path_(std::move(path)) {
  if (!table.is_table()) {
    throw InputError(file_ + ":" + std::to_string(table.location().line()) + ": '" + path_ +
                     "' must be a table, found " + type_name(table));
  }
}

std::string TomlTable::qualified(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

std::int64_t TomlTable::line_of(const std::string& key) const {
  if (has(key)) return table_->as_table().at(key).location().line();
  return table_->location().line();
}

void TomlTable::fail(const std::string& key, const std::string& reason) const {
  throw InputError(file_ + ":" + std::to_string(line_of(key)) + ": '" + qualified(key) + "' " + reason);
}

bool TomlTable::has(const std::string& key) const {
  known_.insert(key);
  return table_->as_table().count(key) != 0;
}

bool TomlTable::is_table(const std::string& key) const { return has(key) && table_->as_table().at(key).is_table(); }

std::vector<std::string> TomlTable::keys() const {
  std::vector<std::pair<std::int64_t, std::string>> ordered;
  for (const auto& [key, value] : table_->as_table()) {
    ordered.emplace_back(value.location().line(), key);
  }
  std::sort(ordered.begin(), ordered.end());
  std::vector<std::string> result;
  for (auto& entry : ordered) result.push_back(entry.second);
  return result;
}

const toml::value& TomlTable::at(const std::string& key) const {
  if (!has(key))
    fail(key, path_.empty() ? "is missing; add it at the top level of the file"
                            : "is missing; add it to the [" + path_ + "] table");
  return table_->as_table().at(key);
}

double TomlTable::checked_number(const std::string& key, const toml::value& value, Bounds bounds) const {
  double number = 0;
  if (value.is_integer()) {
    number = static_cast<double>(value.as_integer());
  } else if (value.is_floating()) {
    number = value.as_floating();
  } else {
    fail(key, "must be a number, found " + type_name(value));
  }
  const bool below = bounds.exclusive_min ? number <= bounds.min : number < bounds.min;
  if (!std::isfinite(number) || below || number > bounds.max) {
    fail(key, "= " + format_number(number) + " is out of range: must be " + describe_bounds(bounds));
  }
  return number;
}

double TomlTable::number(const std::string& key, Bounds bounds) const { return checked_number(key, at(key), bounds); }

double TomlTable::number(const std::string& key, double fallback, Bounds bounds) const {
  return has(key) ? checked_number(key, at(key), bounds) : fallback;
}

std::int64_t TomlTable::integer(const std::string& key, std::int64_t min, std::int64_t max) const {
  const toml::value& value = at(key);
  if (!value.is_integer()) fail(key, "must be an integer, found " + type_name(value));
  const std::int64_t number = value.as_integer();
  if (number < min || number > max) {
    fail(key, "= " + std::to_string(number) + " is out of range: must be in [" + std::to_string(min) + ", " +
                  std::to_string(max) + "]");
  }
  return number;
}

std::int64_t TomlTable::integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                                std::int64_t max) const {
  return has(key) ? integer(key, min, max) : fallback;
}

bool TomlTable::boolean(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const toml::value& value = at(key);
  if (!value.is_boolean()) fail(key, "must be true or false, found " + type_name(value));
  return value.as_boolean();
}

std::string TomlTable::string(const std::string& key) const {
  const toml::value& value = at(key);
  if (!value.is_string()) fail(key, "must be a string, found " + type_name(value));
  return value.as_string().str;
}

std::string TomlTable::string(const std::string& key, const std::string& fallback) const {
  return has(key) ? string(key) : fallback;
}

std::string TomlTable::choice(const std::string& key, const std::string& fallback,
                              const std::vector<std::string>& allowed) const {
  std::string value = string(key, fallback);
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    std::string list;
    for (const auto& option : allowed) list += (list.empty() ? "" : ", ") + ("'" + option + "'");
    fail(key, "= '" + value + "' is not one of " + list);
  }
  return value;
}

std::vector<double> TomlTable::numbers(const std::string& key, Bounds bounds) const {
  const toml::value& value = at(key);
  if (!value.is_array()) fail(key, "must be an array of numbers, found " + type_name(value));
  std::vector<double> result;
  for (const toml::value& element : value.as_array()) {
    result.push_back(checked_number(key, element, bounds));
  }
  return result;
}

std::vector<double> TomlTable::numbers(const std::string& key, const std::vector<double>& fallback,
                                       Bounds bounds) const {
  return has(key) ? numbers(key, bounds) : fallback;
}

std::vector<std::string> TomlTable::strings(const std::string& key, const std::vector<std::string>& fallback) const {
  if (!has(key)) return fallback;
  const toml::value& value = at(key);
  if (!value.is_array()) fail(key, "must be an array of strings, found " + type_name(value));
  std::vector<std::string> result;
  for (const toml::value& element : value.as_array()) {
    if (!element.is_string()) fail(key, "must contain only strings, found " + type_name(element));
    result.push_back(element.as_string().str);
  }
  return result;
}

TomlTable TomlTable::table(const std::string& key) const {
  const toml::value& value = at(key);
  if (!value.is_table()) fail(key, "must be a table, found " + type_name(value));
  return TomlTable(value, file_, qualified(key));
}

std::optional<TomlTable> TomlTable::optional_table(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return table(key);
}

void TomlTable::finish() const {
  for (const std::string& key : keys()) {
    if (known_.count(key) != 0) continue;
    std::string nearest;
    std::size_t best = std::string::npos;
    for (const std::string& candidate : known_) {
      const std::size_t distance = edit_distance(key, candidate);
      if (distance < best) {
        best = distance;
        nearest = candidate;
      }
    }
    std::string hint = nearest.empty() ? "this table takes no keys" : "did you mean '" + qualified(nearest) + "'?";
    fail(key, "is not a valid key; " + hint);
  }
}

}  // namespace manyworlds
