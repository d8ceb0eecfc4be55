// Parsing and validation of the priors file, and sampling of its scalar distributions.
#include "manyworlds/world/priors.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/toml_reader.hpp"
#include "manyworlds/world/model_formulas.hpp"

namespace manyworlds {

double Distribution::sample(Stream& stream) const {
  switch (kind) {
    case Kind::constant:
      return a;
    case Kind::uniform:
      return stream.uniform(a, b);
    case Kind::uniform_int:
      return a + static_cast<double>(stream.below(static_cast<std::uint32_t>(b - a + 1)));
    case Kind::normal:
      return stream.normal(a, b);
    case Kind::lognormal:
      return stream.lognormal(std::log(a), b);
    case Kind::beta:
      return stream.beta(a * b, (1 - a) * b);
    case Kind::gamma:
      return stream.gamma(b) * a / b;
  }
  return a;
}

double Distribution::mean() const {
  switch (kind) {
    case Kind::uniform:
    case Kind::uniform_int:
      return 0.5 * (a + b);
    case Kind::lognormal:
      return model::lognormal_mean(a, b);
    default:
      return a;
  }
}

double Distribution::min() const {
  switch (kind) {
    case Kind::constant:
    case Kind::uniform:
    case Kind::uniform_int:
      return a;
    case Kind::normal:
      return -std::numeric_limits<double>::infinity();
    default:
      return 0.0;
  }
}

double Distribution::max() const {
  switch (kind) {
    case Kind::constant:
      return a;
    case Kind::uniform:
    case Kind::uniform_int:
      return b;
    case Kind::beta:
      return 1.0;
    default:
      return INFINITY;
  }
}

int Priors::crisis_segment() const {
  for (std::size_t s = 0; s < segments.size(); ++s)
    if (segments[s].crisis) return static_cast<int>(s);
  return -1;
}

int Priors::strategy_index(const std::string& name) const {
  for (std::size_t s = 0; s < strategies.size(); ++s)
    if (strategies[s].name == name) return static_cast<int>(s);
  return -1;
}

namespace {

constexpr double sum_tolerance = 1e-6;

// True when every value `d` can produce lies within `bounds`.
bool support_within(const Distribution& d, Bounds bounds) {
  using Kind = Distribution::Kind;
  const bool open_at_zero = d.kind == Kind::lognormal || d.kind == Kind::beta || d.kind == Kind::gamma;
  const double low = d.min();
  const bool low_ok = open_at_zero ? low >= bounds.min : (bounds.exclusive_min ? low > bounds.min : low >= bounds.min);
  return low_ok && d.max() <= bounds.max;
}

// Reads a distribution; `bounds` is where every value it can produce must lie.
Distribution read_distribution(const TomlTable& parent, const std::string& key, Bounds bounds) {
  Distribution result;
  if (!parent.is_table(key)) {  // a plain number is a constant
    result.a = parent.number(key, bounds);
    return result;
  }
  const TomlTable spec = parent.table(key);
  const std::string kind =
      spec.choice("dist", "constant", {"constant", "uniform", "uniform_int", "normal", "lognormal", "beta", "gamma"});
  using Kind = Distribution::Kind;
  if (kind == "constant") {
    result.a = spec.number("value", bounds);
  } else if (kind == "uniform" || kind == "uniform_int") {
    result.kind = kind == "uniform" ? Kind::uniform : Kind::uniform_int;
    result.a = spec.number("low", bounds);
    result.b = spec.number("high", bounds);
    if (result.b < result.a) spec.fail("high", "must be >= 'low'");
    if (result.kind == Kind::uniform_int && (result.a != std::floor(result.a) || result.b != std::floor(result.b)))
      spec.fail("low", "and 'high' must be whole numbers for uniform_int");
  } else if (kind == "normal") {
    result.kind = Kind::normal;
    result.a = spec.number("mean");
    result.b = spec.number("sd", non_negative);
  } else if (kind == "lognormal") {
    result.kind = Kind::lognormal;
    result.a = spec.number("median", positive);
    result.b = spec.number("sigma", {0.0, 5.0});
  } else if (kind == "beta") {
    result.kind = Kind::beta;
    result.a = spec.number("mean", {0.0, 1.0, true});
    if (result.a >= 1.0) spec.fail("mean", "must be below 1");
    result.b = spec.number("concentration", positive);
  } else {
    result.kind = Kind::gamma;
    result.a = spec.number("mean", positive);
    result.b = spec.number("shape", positive);
  }
  if (!support_within(result, bounds))
    spec.fail("dist", "= '" + kind + "' can produce values outside the allowed range; choose a bounded distribution");
  spec.finish();
  return result;
}

template <std::size_t N>
std::array<double, N> read_fixed(const TomlTable& table, const std::string& key, Bounds bounds) {
  const std::vector<double> values = table.numbers(key, bounds);
  if (values.size() != N)
    table.fail(key, "must have " + std::to_string(N) + " entries, found " + std::to_string(values.size()));
  std::array<double, N> result{};
  std::copy(values.begin(), values.end(), result.begin());
  return result;
}

void require_sum_one(const TomlTable& table, const std::string& key, double sum) {
  if (std::fabs(sum - 1.0) > sum_tolerance)
    table.fail(key, "values sum to " + std::to_string(sum) + ", but must sum to 1");
}

int tag_index(const TomlTable& table, const std::string& key, const std::vector<std::string>& tags,
              const std::string& name) {
  const auto found = std::find(tags.begin(), tags.end(), name);
  if (found == tags.end()) table.fail(key, "names tag '" + name + "', which is not in the top-level 'tags' list");
  return static_cast<int>(found - tags.begin());
}

std::array<double, query_type_count> read_query_map(const TomlTable& parent, const std::string& key, double fallback,
                                                    Bounds bounds) {
  std::array<double, query_type_count> values{};
  values.fill(fallback);
  auto table = parent.optional_table(key);
  if (!table) return values;
  for (int q = 0; q < query_type_count; ++q) values[q] = table->number(query_type_names[q], fallback, bounds);
  table->finish();
  return values;
}

SegmentPrior read_segment(const TomlTable& table, const std::string& name, const std::vector<std::string>& tags) {
  SegmentPrior segment;
  segment.name = name;
  segment.crisis = table.boolean("crisis", false);
  segment.share = table.number("share", positive);
  segment.sessions_per_day = table.number("sessions_per_day", positive);
  segment.queries_per_session = table.number("queries_per_session", {1.0, 100.0});
  segment.query_mix = read_query_map(table, "query_mix", 0.0, unit_interval);
  double mix = 0;
  for (double p : segment.query_mix) mix += p;
  require_sum_one(table, "query_mix", mix);
  segment.ctr_multiplier = table.number("ctr_multiplier", 1.0, positive);
  segment.cvr = table.number("cvr", {0.0, 1.0, true});
  segment.feature_dependence = table.number("feature_dependence", 0.0, unit_interval);
  const TomlTable value = table.table("value");
  segment.value_median = value.number("median", positive);
  segment.value_sigma = value.number("sigma", {0.0, 5.0});
  value.finish();
  segment.tag_probability.assign(tags.size(), 0.0);
  if (auto tag_table = table.optional_table("tags")) {
    for (const std::string& tag : tag_table->keys()) {
      const int index = tag_index(*tag_table, tag, tags, tag);
      segment.tag_probability[index] = tag_table->number(tag, unit_interval);
    }
    tag_table->finish();
  }
  table.finish();
  return segment;
}

StrategyPrior read_strategy(const TomlTable& table, const std::string& name) {
  StrategyPrior strategy;
  strategy.name = name;
  strategy.probability = table.number("probability", unit_interval);
  strategy.bid_multiplier = table.number("bid_multiplier", 1.0, positive);
  strategy.query_multipliers = read_query_map(table, "query_multipliers", 1.0, non_negative);
  strategy.budget_multiplier = table.number("budget_multiplier", 1.0, positive);
  strategy.paced = table.boolean("paced", false);
  strategy.bid_trend_per_day = table.number("bid_trend_per_day", 0.0, {-5.0, 5.0});
  table.finish();
  return strategy;
}

WorldTypePrior read_world_type(const TomlTable& table, const std::string& name, const Priors& priors) {
  WorldTypePrior type;
  type.name = name;
  type.probability = table.number("probability", unit_interval);
  type.traffic = table.number("traffic", 1.0, positive);
  type.bid_level = table.number("bid_level", 1.0, positive);
  type.reserve = table.number("reserve", 1.0, positive);
  type.ctr = table.number("ctr", 1.0, positive);
  type.cvr = table.number("cvr", 1.0, positive);
  type.value = table.number("value", 1.0, positive);
  type.crisis_share = table.number("crisis_share", 1.0, positive);
  type.crisis_intent = table.number("crisis_intent", 1.0, positive);
  type.competitor_budget = table.number("competitor_budget", 1.0, positive);
  type.seasonal_amplitude_add = table.number("seasonal_amplitude_add", 0.0, {-1.0, 1.0});
  type.competitors_add = static_cast<int>(table.integer("competitors_add", 0, -20, 20));
  const auto strategy_of = [&](const std::string& key) {
    if (!table.has(key)) return -1;
    const std::string strategy = table.string(key);
    const int index = priors.strategy_index(strategy);
    if (index < 0) table.fail(key, "names strategy '" + strategy + "', which is not under [competitors.strategies]");
    return index;
  };
  type.add_strategy = strategy_of("add_strategy");
  type.switch_strategy = strategy_of("switch_strategy");
  type.switch_share = table.number("switch_share", type.switch_strategy >= 0 ? 0.5 : 0.0, unit_interval);
  table.finish();
  return type;
}

void read_population(const TomlTable& root, Priors& priors) {
  const TomlTable table = root.table("population");
  priors.users = read_distribution(table, "users", {1.0, 1e6});
  priors.activity_shape = table.number("activity_shape", positive);
  priors.segment_concentration = table.number("segment_concentration", positive);
  priors.device_concentration = table.number("device_concentration", positive);
  priors.query_gap_min_minutes = table.number("query_gap_min_minutes", priors.query_gap_min_minutes, {0.0, 1440.0});
  priors.query_gap_max_minutes = table.number("query_gap_max_minutes", priors.query_gap_max_minutes, {0.0, 1440.0});
  if (!(priors.query_gap_max_minutes > priors.query_gap_min_minutes))
    table.fail("query_gap_max_minutes",
               "must be above query_gap_min_minutes (" + std::to_string(priors.query_gap_min_minutes) + ")");
  table.finish();

  const TomlTable segments = root.table("segments");
  for (const std::string& name : segments.keys())
    priors.segments.push_back(read_segment(segments.table(name), name, priors.tags));
  segments.finish();
  if (priors.segments.empty() || priors.segments.size() > max_segments)
    root.fail("segments", "must define between 1 and " + std::to_string(max_segments) + " segments");
  double share = 0;
  int crisis = 0;
  for (const SegmentPrior& segment : priors.segments) {
    share += segment.share;
    crisis += segment.crisis ? 1 : 0;
  }
  require_sum_one(root, "segments", share);
  if (crisis != 1)
    root.fail("segments", "must flag exactly one segment with crisis = true (found " + std::to_string(crisis) + ")");

  const TomlTable devices = root.table("devices");
  for (const std::string& name : devices.keys()) {
    const TomlTable device_table = devices.table(name);
    DevicePrior device;
    device.name = name;
    device.share = device_table.number("share", positive);
    device.ctr_multiplier = device_table.number("ctr_multiplier", 1.0, positive);
    device.feature_gap = device_table.number("feature_gap", 0.0, unit_interval);
    device_table.finish();
    if (name == "ios") priors.ios_device = static_cast<int>(priors.devices.size());
    priors.devices.push_back(device);
  }
  devices.finish();
  if (priors.devices.empty() || priors.devices.size() > max_devices)
    root.fail("devices", "must define between 1 and " + std::to_string(max_devices) + " devices");
  if (priors.ios_device < 0) root.fail("devices", "must define a device named 'ios'");
  double device_share = 0;
  for (const DevicePrior& device : priors.devices) device_share += device.share;
  require_sum_one(root, "devices", device_share);
}

void read_queries(const TomlTable& root, Priors& priors) {
  const TomlTable table = root.table("queries");
  for (int q = 0; q < query_type_count; ++q) {
    const TomlTable query_table = table.table(query_type_names[q]);
    QueryPrior& query = priors.queries[q];
    query.base_ctr = query_table.number("base_ctr", {0.0, 1.0, true});
    query.cvr_multiplier = query_table.number("cvr_multiplier", 1.0, positive);
    query.competition = query_table.number("competition", 1.0, non_negative);
    for (const std::string& tag : query_table.strings("tags", {}))
      query.tags.push_back(tag_index(query_table, "tags", priors.tags, tag));
    query_table.finish();
  }
  table.finish();
}

void read_time(const TomlTable& root, Priors& priors) {
  const TomlTable table = root.table("time");
  priors.hour_profile = read_fixed<24>(table, "hour_profile", positive);
  priors.hour_noise = table.number("hour_noise", {0.0, 2.0});
  priors.day_of_week_profile = read_fixed<7>(table, "day_of_week_profile", positive);
  priors.start_day_of_year = read_distribution(table, "start_day_of_year", {0.0, 364.0});
  priors.seasonal_amplitude = read_distribution(table, "seasonal_amplitude", {0.0, 0.9});
  priors.max_seasonal_amplitude = table.number("max_seasonal_amplitude", priors.max_seasonal_amplitude, {0.0, 0.99});
  priors.seasonal_peak_day = table.number("seasonal_peak_day", {0.0, 365.0});
  priors.hour_ctr_amplitude = table.number("hour_ctr_amplitude", {0.0, 0.9});
  priors.evening_peak_hour = table.number("evening_peak_hour", {0.0, 24.0});
  table.finish();
}

void read_auction(const TomlTable& root, Priors& priors) {
  const TomlTable table = root.table("auction");
  priors.slots = static_cast<int>(table.integer("slots", 1, 16));
  priors.position_ctr = table.numbers("position_ctr", Bounds{0.0, 1.0, true});
  if (static_cast<int>(priors.position_ctr.size()) != priors.slots)
    table.fail("position_ctr", "must have one entry per slot (" + std::to_string(priors.slots) + ")");
  if (!std::is_sorted(priors.position_ctr.rbegin(), priors.position_ctr.rend()))
    table.fail("position_ctr", "must not increase from slot to slot");
  priors.reserve_price = read_distribution(table, "reserve_price", non_negative);
  priors.bid_level = read_distribution(table, "bid_level", positive);
  priors.agent_quality = read_distribution(table, "agent_quality", positive);
  priors.ctr_level = read_distribution(table, "ctr_level", positive);
  table.finish();
}

void read_competitors(const TomlTable& root, Priors& priors) {
  const TomlTable table = root.table("competitors");
  priors.competitor_count = read_distribution(table, "count", {1.0, 64.0});
  if (priors.competitor_count.kind != Distribution::Kind::constant &&
      priors.competitor_count.kind != Distribution::Kind::uniform_int)
    table.fail("count", "must be a whole number or a uniform_int distribution");
  priors.competitor_base_bid = read_distribution(table, "base_bid", positive);
  priors.competitor_quality = read_distribution(table, "quality", positive);
  priors.competitor_bid_noise = read_distribution(table, "bid_noise", non_negative);
  priors.competitor_daily_budget = read_distribution(table, "daily_budget", positive);
  priors.competitor_participation = read_distribution(table, "participation", unit_interval);
  priors.pacing_slope = table.number("pacing_slope", priors.pacing_slope, non_negative);
  const TomlTable strategies = table.table("strategies");
  for (const std::string& name : strategies.keys())
    priors.strategies.push_back(read_strategy(strategies.table(name), name));
  strategies.finish();
  if (priors.strategies.empty()) table.fail("strategies", "must define at least one strategy");
  double sum = 0;
  for (const StrategyPrior& strategy : priors.strategies) sum += strategy.probability;
  require_sum_one(table, "strategies", sum);
  table.finish();
}

void read_creatives(const TomlTable& root, Priors& priors) {
  const TomlTable table = root.table("creatives");
  priors.creatives = static_cast<int>(table.integer("count", 1, max_creatives));
  priors.creative_effectiveness = read_distribution(table, "effectiveness", positive);
  priors.creative_crisis_affinity = read_distribution(table, "crisis_affinity", positive);
  priors.creative_fatigue_rate = read_distribution(table, "fatigue_rate", non_negative);
  table.finish();
}

void read_conversions(const TomlTable& root, Priors& priors) {
  const TomlTable table = root.table("conversions");
  priors.delay_median_hours = read_distribution(table, "delay_median_hours", positive);
  priors.delay_sigma = read_distribution(table, "delay_sigma", non_negative);
  priors.attribution_window_days = table.number("attribution_window_days", positive);
  priors.cvr_level = read_distribution(table, "cvr_level", positive);
  priors.value_level = read_distribution(table, "value_level", positive);
  table.finish();
}

void read_agent(const TomlTable& root, Priors& priors) {
  const TomlTable table = root.table("agent");
  priors.agent_daily_budget = read_distribution(table, "daily_budget", positive);
  priors.value_estimate_noise = table.number("value_estimate_noise", {0.0, 3.0});
  priors.pacing_signal.step = table.number("pacing_step", priors.pacing_signal.step, {0.0, 10000.0});
  priors.pacing_signal.max_mu = table.number("pacing_max", priors.pacing_signal.max_mu, {0.0, 1e6});
  priors.max_log_bid_multiplier =
      table.number("max_log_bid_multiplier", priors.max_log_bid_multiplier, {0.0, 30.0, true});
  table.finish();
}

void read_world_types(const TomlTable& root, Priors& priors) {
  const TomlTable table = root.table("world_types");
  for (const std::string& name : table.keys())
    priors.world_types.push_back(read_world_type(table.table(name), name, priors));
  table.finish();
  if (priors.world_types.empty() || priors.world_types.size() > 255)
    root.fail("world_types", "must define between 1 and 255 world types");
  double sum = 0;
  for (const WorldTypePrior& type : priors.world_types) sum += type.probability;
  require_sum_one(root, "world_types", sum);
}

}  // namespace

Priors parse_priors(const std::string& text, const std::string& file) {
  const toml::value document = parse_toml_text(text, file);
  const TomlTable root(document, file, "");
  Priors priors;
  priors.file = file;
  priors.text = text;
  const std::string format = root.string("format");
  if (format != "manyworlds-priors")
    root.fail("format", "= '" + format + "': this is not a manyworlds priors file (expected 'manyworlds-priors')");
  const std::int64_t version = root.integer("version", 1, 1);
  (void)version;
  priors.tags = root.strings("tags", {});
  if (priors.tags.size() > max_tags) root.fail("tags", "may list at most 32 tags");
  for (const std::string& tag : root.strings("urgency_tags", {}))
    priors.urgency_tags.push_back(tag_index(root, "urgency_tags", priors.tags, tag));
  read_population(root, priors);
  read_queries(root, priors);
  read_time(root, priors);
  read_auction(root, priors);
  read_competitors(root, priors);
  read_creatives(root, priors);
  read_conversions(root, priors);
  read_agent(root, priors);
  read_world_types(root, priors);
  root.finish();
  return priors;
}

Priors load_priors(const std::string& path) { return parse_priors(read_text_file(path), path); }

}  // namespace manyworlds
