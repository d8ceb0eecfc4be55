// Event logs: the CSV writer and checked reader, and simulated logs from the world model.
#include "manyworlds/calibrate/event_log.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <istream>
#include <limits>
#include <ostream>
#include <string_view>

#include "manyworlds/core/errors.hpp"

namespace manyworlds {

namespace {

constexpr std::string_view docs_hint = "see docs/calibration.md";

void append_number(std::string& line, double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  line.append(buffer, result.ptr);
}

void append_integer(std::string& line, std::uint64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  line.append(buffer, result.ptr);
}

std::string_view trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

void split_fields(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = line.find(',', start);
    fields.push_back(trimmed(line.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) return;
    start = comma + 1;
  }
}

// Positions of the known columns in one file's header (-1: absent).
struct ColumnMap {
  std::array<int, event_column_count> index{};
  std::size_t fields = 0;
};

int column_id(std::string_view name) {
  for (int c = 0; c < event_column_count; ++c)
    if (name == event_columns[c]) return c;
  return -1;
}

ColumnMap read_header(std::string_view header, const std::string& file) {
  ColumnMap map;
  map.index.fill(-1);
  std::vector<std::string_view> names;
  split_fields(header, names);
  map.fields = names.size();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const int id = column_id(names[i]);
    if (id < 0) continue;  // extra columns of a foreign log are ignored
    if (map.index[id] >= 0)
      throw InputError(file + ":1: column '" + std::string(names[i]) + "' appears twice in the header; keep one");
    map.index[id] = static_cast<int>(i);
  }
  std::string missing;
  for (const char* name : required_event_columns)
    if (map.index[column_id(name)] < 0) missing += (missing.empty() ? "'" : ", '") + std::string(name) + "'";
  if (!missing.empty())
    throw InputError(file + ":1: missing column(s) " + missing + "; the header line must name every required column (" +
                     std::string(docs_hint) + ")");
  return map;
}

// One data line being parsed: every failure names the file, the line and the column.
class RowParser {
 public:
  RowParser(const std::string& file, std::int64_t line, const ColumnMap& map,
            const std::vector<std::string_view>& fields)
      : file_(file), line_(line), map_(map), fields_(fields) {}

  bool has(int column) const { return map_.index[column] >= 0; }
  std::string_view text(int column) const { return fields_[map_.index[column]]; }

  [[noreturn]] void fail(int column, const std::string& reason) const {
    throw InputError(file_ + ":" + std::to_string(line_) + ": column '" + event_columns[column] + "' = '" +
                     std::string(text(column)) + "' " + reason);
  }
  [[noreturn]] void fail_row(const std::string& reason) const {
    throw InputError(file_ + ":" + std::to_string(line_) + ": " + reason);
  }

  std::uint64_t whole(int column, std::uint64_t max) const {
    const std::string_view t = text(column);
    std::uint64_t value = 0;
    const auto result = std::from_chars(t.data(), t.data() + t.size(), value);
    if (t.empty() || result.ec != std::errc() || result.ptr != t.data() + t.size() || value > max)
      fail(column, "must be a whole number in [0, " + std::to_string(max) + "]");
    return value;
  }

  double number(int column) const {
    const std::string_view t = text(column);
    double value = 0;
    const auto result = std::from_chars(t.data(), t.data() + t.size(), value);
    if (t.empty() || result.ec != std::errc() || result.ptr != t.data() + t.size() || !std::isfinite(value) ||
        value < 0)
      fail(column, "must be a finite number >= 0");
    return value;
  }

  bool flag(int column) const {
    const std::string_view t = text(column);
    if (t != "0" && t != "1") fail(column, "must be 0 or 1");
    return t == "1";
  }

  template <class Names>
  int name(int column, const Names& names, const std::string& what) const {
    const std::string_view t = text(column);
    for (std::size_t i = 0; i < names.size(); ++i)
      if (t == names[i]) return static_cast<int>(i);
    std::string list;
    for (const auto& known : names) list += (list.empty() ? "" : ", ") + std::string(known);
    fail(column, "is not " + what + " (" + list + "); rename it in the log or use base priors that define it");
  }

 private:
  const std::string& file_;
  std::int64_t line_;
  const ColumnMap& map_;
  const std::vector<std::string_view>& fields_;
};

// The base priors' names that the log's segment and device columns must use.
struct Vocabulary {
  std::vector<std::string> segments;
  std::vector<std::string> devices;

  explicit Vocabulary(const Priors& priors) {
    for (const SegmentPrior& segment : priors.segments) segments.push_back(segment.name);
    for (const DevicePrior& device : priors.devices) devices.push_back(device.name);
  }
};

// Column ids, named for readability.
enum Column : int {
  c_world,
  c_episode,
  c_time,
  c_hour,
  c_day,
  c_user,
  c_segment,
  c_device,
  c_query,
  c_creative,
  c_bid,
  c_reserve,
  c_eligible,
  c_slot,
  c_price,
  c_clicked,
  c_converted,
  c_delay,
  c_value,
  c_attributed,
  c_followup
};
static_assert(c_followup + 1 == event_column_count);

void parse_identity(const RowParser& p, const Vocabulary& names, EventRow& row) {
  constexpr std::uint64_t max_id = std::numeric_limits<std::uint32_t>::max();
  row.world = static_cast<std::uint32_t>(p.whole(c_world, max_id));
  row.episode = static_cast<std::uint32_t>(p.whole(c_episode, max_id));
  row.time_hours = p.number(c_time);
  row.hour = static_cast<int>(p.whole(c_hour, 23));
  if (row.hour != static_cast<int>(std::fmod(std::floor(row.time_hours), 24.0)))
    p.fail(c_hour, "is not floor(time_hours) mod 24 (time_hours = " + std::string(p.text(c_time)) +
                       "); time_hours must count from midnight at the start of the episode");
  row.day_of_week = p.has(c_day) ? static_cast<int>(p.whole(c_day, 6)) : 0;
  row.user = p.whole(c_user, std::numeric_limits<std::uint64_t>::max());
  row.segment = p.name(c_segment, names.segments, "a segment of the base priors");
  row.device = p.name(c_device, names.devices, "a device of the base priors");
  row.query_type = p.name(c_query, query_type_names, "a query type");
  row.creative = static_cast<int>(p.whole(c_creative, 65535));
}

void parse_auction(const RowParser& p, const Priors& priors, EventRow& row) {
  row.bid = p.has(c_bid) ? p.number(c_bid) : 0.0;
  row.reserve_price = p.has(c_reserve) ? p.number(c_reserve) : 0.0;
  row.eligible_bidders = p.has(c_eligible) ? static_cast<int>(p.whole(c_eligible, 1000000)) : 0;
  row.slot = static_cast<int>(p.whole(c_slot, static_cast<std::uint64_t>(priors.slots)));
  row.price = p.number(c_price);
  row.clicked = p.flag(c_clicked);
  if (row.clicked && row.slot == 0) p.fail(c_clicked, "but slot = 0: only a shown ad (slot >= 1) can be clicked");
  if (row.clicked && row.price <= 0) p.fail(c_price, "but clicked = 1: a click must have a price above 0");
}

void parse_conversion(const RowParser& p, const Priors& priors, EventRow& row) {
  row.attributed = p.flag(c_attributed);
  row.converted = p.has(c_converted) ? p.flag(c_converted) : row.attributed;
  row.delay_hours = p.number(c_delay);
  row.conversion_value = p.has(c_value) ? p.number(c_value) : 0.0;
  row.followup_hours = p.has(c_followup) ? p.number(c_followup) : priors.attribution_window_days * 24.0;
  if (!row.attributed) return;
  if (!row.clicked) p.fail(c_attributed, "but clicked = 0: conversions are credited to clicks only");
  if (!row.converted) p.fail(c_converted, "but attributed = 1: an attributed conversion is a conversion");
  if (row.delay_hours <= 0) p.fail(c_delay, "must be above 0 for an attributed conversion");
  if (row.delay_hours > row.followup_hours) {
    const std::string followup = p.has(c_followup) ? std::string(p.text(c_followup)) : "the attribution window";
    p.fail(c_delay, "exceeds followup_hours (" + followup + "): the conversion was logged after the follow-up ended");
  }
}

}  // namespace

EventCsvWriter::EventCsvWriter(std::ostream& out, const Priors& priors) : out_(&out), priors_(&priors) {
  std::string header;
  for (const char* name : event_columns) {
    if (!header.empty()) header += ',';
    header += name;
  }
  *out_ << header << '\n';
}

void EventCsvWriter::write(const EventRow& row) {
  std::string& l = line_;
  l.clear();
  const auto field = [&l](auto value) {
    if constexpr (std::is_floating_point_v<decltype(value)>) {
      append_number(l, value);
    } else {
      append_integer(l, static_cast<std::uint64_t>(value));
    }
    l += ',';
  };
  const auto text = [&l](const std::string& value) { l += value + ','; };
  field(row.world);
  field(row.episode);
  field(row.time_hours);
  field(row.hour);
  field(row.day_of_week);
  field(row.user);
  text(priors_->segments[row.segment].name);
  text(priors_->devices[row.device].name);
  text(query_type_names[row.query_type]);
  field(row.creative);
  field(row.bid);
  field(row.reserve_price);
  field(row.eligible_bidders);
  field(row.slot);
  field(row.price);
  field(row.clicked ? 1 : 0);
  field(row.converted ? 1 : 0);
  field(row.delay_hours);
  field(row.conversion_value);
  field(row.attributed ? 1 : 0);
  field(row.followup_hours);
  l.back() = '\n';
  out_->write(l.data(), static_cast<std::streamsize>(l.size()));
}

void read_event_log(std::istream& in, const std::string& file, const Priors& priors, const EventSink& sink) {
  std::string line;
  if (!std::getline(in, line))
    throw InputError(file + ": the file is empty; it must start with a header line naming the columns (" +
                     std::string(docs_hint) + ")");
  const ColumnMap map = read_header(line, file);
  const Vocabulary names(priors);
  std::vector<std::string_view> fields;
  EventRow row;
  for (std::int64_t number = 2; std::getline(in, line); ++number) {
    if (trimmed(line).empty()) continue;
    split_fields(line, fields);
    const RowParser parser(file, number, map, fields);
    if (fields.size() != map.fields)
      parser.fail_row(std::to_string(fields.size()) + " fields, but the header names " + std::to_string(map.fields) +
                      " columns; every line needs one value per column");
    parse_identity(parser, names, row);
    parse_auction(parser, priors, row);
    parse_conversion(parser, priors, row);
    sink(row, number);
  }
  if (in.bad()) throw InputError(file + ": read error while reading the event log");
}

void read_event_log_file(const std::string& path, const Priors& priors, const EventSink& sink) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the event log (does it exist and is it readable?)");
  read_event_log(in, path, priors, sink);
}

void EventRecorder::begin_world(const WorldParams& world) {
  world_ = world.world_id;
  followup_hours_ = world.attribution_window_hours;
}

void EventRecorder::on_auction(const AuctionRecord& record) {
  EventRow row;
  row.world = world_;
  row.episode = record.episode;
  row.time_hours = record.time_hours;
  row.hour = record.hour;
  row.day_of_week = record.day_of_week;
  row.user = record.user;
  row.segment = record.segment;
  row.device = record.device;
  row.query_type = record.query_type;
  row.creative = record.creative;
  row.bid = record.agent_bid;
  row.reserve_price = record.reserve_price;
  row.eligible_bidders = record.eligible_bidders;
  row.slot = record.agent_slot;
  row.price = record.price;
  row.clicked = record.clicked;
  row.converted = record.converted;
  row.delay_hours = record.converted ? record.delay_hours : 0.0;
  row.conversion_value = record.conversion_value;
  row.attributed = record.attributed;
  row.followup_hours = followup_hours_;
  sink_(row);
}

void simulate_events(const Priors& priors, const EventSimulation& simulation, BidPolicy& bidder,
                     const std::function<void(const EventRow&)>& sink) {
  EventRecorder recorder(sink);
  std::vector<Experience> scratch;
  for (std::int64_t w = 0; w < simulation.worlds; ++w) {
    const auto id = static_cast<std::uint32_t>(simulation.first_world + w);
    World world(priors, draw_world(priors, simulation.seed, id), simulation.seed, simulation.horizon_days);
    recorder.begin_world(world.params());
    for (int episode = 0; episode < simulation.episodes; ++episode) {
      scratch.clear();
      world.run_episode(static_cast<std::uint32_t>(episode), bidder, scratch, std::numeric_limits<std::size_t>::max(),
                        &recorder);
    }
  }
}

}  // namespace manyworlds
