// Calibration, second half: the price level by reference simulation and the calibrated priors file.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "manyworlds/calibrate/calibration.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/toml_reader.hpp"

namespace manyworlds {

namespace {

constexpr int price_groups = 20;

std::string number_text(double value, int digits = 8) {
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "%.*g", digits, value);
  return buffer;
}

std::string distribution_text(const Distribution& d) {
  using Kind = Distribution::Kind;
  const auto table = [&d](const char* kind, const char* a, const char* b) {
    return std::string("{ dist = \"") + kind + "\", " + a + " = " + number_text(d.a) + ", " + b + " = " +
           number_text(d.b) + " }";
  };
  switch (d.kind) {
    case Kind::uniform:
      return table("uniform", "low", "high");
    case Kind::uniform_int:
      return table("uniform_int", "low", "high");
    case Kind::normal:
      return table("normal", "mean", "sd");
    case Kind::lognormal:
      return table("lognormal", "median", "sigma");
    case Kind::beta:
      return table("beta", "mean", "concentration");
    case Kind::gamma:
      return table("gamma", "mean", "shape");
    default:
      return number_text(d.a);
  }
}

std::string hour_profile_text(const std::array<double, 24>& profile) {
  std::string text = "[";
  for (int h = 0; h < 24; ++h) {
    text += number_text(profile[h]);
    if (h % 6 == 5 && h < 23)
      text += ",\n                ";
    else if (h < 23)
      text += ", ";
  }
  return text + "]";
}

// Replaces values of a TOML text in place (keeping every comment and the layout), or adds missing keys.
class TomlTextEditor {
 public:
  TomlTextEditor(const std::string& text, const std::string& file)
      : text_(text), file_(file), document_(parse_toml_text(text, file)) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < text_.size(); ++i)
      if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }

  // Sets table.key to `literal`; a missing key is added on its own line after the line of table.anchor.
  void set(const std::vector<std::string>& table, const std::string& key, const std::string& literal,
           const std::string& anchor = "") {
    const toml::value& parent = find(table);
    if (parent.as_table().count(key) != 0 || anchor.empty()) {
      const toml::value& value = toml::find(parent, key);
      const std::size_t begin = offset_of(value);
      edits_.push_back({begin, begin + value.location().region(), literal});
      return;
    }
    const toml::value& anchor_value = toml::find(parent, anchor);
    const toml::source_location where = anchor_value.location();
    if (!starts_with_key(where.line_str(), anchor))
      throw InputError(file_ + ":" + std::to_string(where.line()) + ": cannot add '" + dotted(table) + "." + key +
                       "' next to '" + anchor + "' (not a plain key line); add '" + key + " = " + literal +
                       "' to the base priors' [" + dotted(table) + "] table and rerun");
    const std::size_t end = text_.find('\n', offset_of(anchor_value) + where.region());
    if (end == std::string::npos) {
      edits_.push_back({text_.size(), text_.size(), "\n" + key + " = " + literal + "\n"});
    } else {
      edits_.push_back({end + 1, end + 1, key + " = " + literal + "\n"});
    }
  }

  std::string result() const {
    std::vector<std::size_t> order(edits_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
      return edits_[a].begin != edits_[b].begin ? edits_[a].begin > edits_[b].begin : a > b;
    });
    std::string text = text_;
    for (std::size_t i : order) text.replace(edits_[i].begin, edits_[i].end - edits_[i].begin, edits_[i].text);
    return text;
  }

 private:
  struct Edit {
    std::size_t begin;
    std::size_t end;
    std::string text;
  };

  static std::string dotted(const std::vector<std::string>& path) {
    std::string text;
    for (const std::string& key : path) text += (text.empty() ? "" : ".") + key;
    return text;
  }

  static bool starts_with_key(const std::string& line, const std::string& key) {
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line.compare(first, key.size(), key) != 0) return false;
    const std::size_t next = line.find_first_not_of(" \t", first + key.size());
    return next != std::string::npos && line[next] == '=';
  }

  const toml::value& find(const std::vector<std::string>& path) const {
    const toml::value* value = &document_;
    for (const std::string& key : path) value = &toml::find(*value, key);
    return *value;
  }

  std::size_t offset_of(const toml::value& value) const {
    const toml::source_location where = value.location();
    return line_starts_.at(where.line() - 1) + where.column() - 1;
  }

  std::string text_;
  std::string file_;
  toml::value document_;
  std::vector<std::size_t> line_starts_;
  std::vector<Edit> edits_;
};

// The base priors with the fitted entries replaced (the price level is added later).
Priors fitted_priors(const Priors& base, const CalibrationResult& result, const std::string& source) {
  const CalibrationFit& fit = result.fit;
  Priors priors = base;
  for (std::size_t s = 0; s < base.segments.size(); ++s) {
    SegmentPrior& segment = priors.segments[s];
    segment.share = fit.share[s];
    segment.ctr_multiplier = fit.segment_ctr[s];
    segment.cvr = fit.segment_cvr[s];
    if (!(segment.cvr <= 1.0))
      throw InputError(source + ": the log's conversions imply segments." + segment.name +
                       ".cvr = " + number_text(segment.cvr, 4) +
                       " > 1 under the base priors' other conversion factors; "
                       "check the log's attributed and clicked columns");
  }
  for (std::size_t d = 0; d < base.devices.size(); ++d) {
    priors.devices[d].ctr_multiplier = fit.device_ctr[d];
    priors.devices[d].feature_gap = fit.feature_gap[d];
  }
  for (int q = 0; q < query_type_count; ++q) {
    priors.queries[q].base_ctr = fit.base_ctr[q];
    priors.queries[q].cvr_multiplier = fit.cvr_multiplier[q];
    if (!(fit.base_ctr[q] <= 1.0))
      throw InputError(source + ": the log's clicks imply queries." + query_type_names[q] +
                       ".base_ctr = " + number_text(fit.base_ctr[q], 4) + " > 1; check the log's clicked column");
  }
  priors.hour_profile = fit.hour_profile;
  priors.delay_median_hours = result.delay_median_hours;
  priors.delay_sigma = result.delay_sigma;
  return priors;
}

std::string priors_body(const Priors& base, const Priors& fitted) {
  TomlTextEditor editor(base.text, base.file);
  for (const SegmentPrior& segment : fitted.segments) {
    const std::vector<std::string> table{"segments", segment.name};
    editor.set(table, "share", number_text(segment.share, 12));
    editor.set(table, "ctr_multiplier", number_text(segment.ctr_multiplier), "cvr");
    editor.set(table, "cvr", number_text(segment.cvr));
  }
  for (const DevicePrior& device : fitted.devices) {
    const std::vector<std::string> table{"devices", device.name};
    editor.set(table, "ctr_multiplier", number_text(device.ctr_multiplier), "share");
    editor.set(table, "feature_gap", number_text(device.feature_gap), "share");
  }
  for (int q = 0; q < query_type_count; ++q) {
    const std::vector<std::string> table{"queries", query_type_names[q]};
    editor.set(table, "base_ctr", number_text(fitted.queries[q].base_ctr));
    editor.set(table, "cvr_multiplier", number_text(fitted.queries[q].cvr_multiplier), "base_ctr");
  }
  editor.set({"time"}, "hour_profile", hour_profile_text(fitted.hour_profile));
  editor.set({"conversions"}, "delay_median_hours", distribution_text(fitted.delay_median_hours));
  editor.set({"conversions"}, "delay_sigma", distribution_text(fitted.delay_sigma));
  editor.set({"competitors"}, "base_bid", distribution_text(fitted.competitor_base_bid));
  return editor.result();
}

// Every number calibrate writes, in a fixed order (to check that the written text reads back to them).
std::vector<double> written_numbers(const Priors& p) {
  std::vector<double> values;
  for (const SegmentPrior& s : p.segments) values.insert(values.end(), {s.share, s.ctr_multiplier, s.cvr});
  for (const DevicePrior& d : p.devices) values.insert(values.end(), {d.ctr_multiplier, d.feature_gap});
  for (const QueryPrior& q : p.queries) values.insert(values.end(), {q.base_ctr, q.cvr_multiplier});
  values.insert(values.end(), p.hour_profile.begin(), p.hour_profile.end());
  for (const Distribution* d : {&p.delay_median_hours, &p.delay_sigma, &p.competitor_base_bid})
    values.insert(values.end(), {static_cast<double>(d->kind), d->a, d->b});
  return values;
}

void check_reads_back(const std::string& text, const Priors& fitted, const std::string& name) {
  Priors read;
  try {
    read = parse_priors(text, name);
  } catch (const InputError& error) {
    throw RuntimeFailure(std::string("internal error: the calibrated priors do not parse (") + error.what() +
                         "); please report it with the base priors file");
  }
  const std::vector<double> expected = written_numbers(fitted);
  const std::vector<double> found = written_numbers(read);
  for (std::size_t i = 0; i < expected.size(); ++i)
    if (!(std::fabs(found[i] - expected[i]) <= 1e-6 * std::fabs(expected[i]) + 1e-12))
      throw RuntimeFailure("internal error: the calibrated priors read back a different value (" +
                           number_text(found[i]) + " instead of " + number_text(expected[i]) +
                           "); please report it with the base priors file");
}

// ---- the price level -------------------------------------------------------------------------------

struct SimulatedPrices {
  double log_mean = 0;
  double se = 0;
};

// Mean log price per click when `bidder` advertises in reference worlds drawn from `priors`.
SimulatedPrices simulate_prices(const Priors& priors, const CalibrationOptions& options, double horizon_days,
                                BidPolicy& bidder) {
  EventSimulation simulation;
  simulation.seed = options.reference_seed;
  simulation.worlds = std::max<std::int64_t>(price_groups, options.reference_worlds);
  simulation.horizon_days = horizon_days;
  std::array<double, price_groups> clicks{};
  std::array<double, price_groups> log_prices{};
  simulate_events(priors, simulation, bidder, [&](const EventRow& row) {
    if (!row.clicked) return;
    clicks[row.world % price_groups] += 1.0;
    log_prices[row.world % price_groups] += std::log(row.price);
  });
  double total_clicks = 0;
  double total_log_prices = 0;
  for (int g = 0; g < price_groups; ++g) {
    total_clicks += clicks[g];
    total_log_prices += log_prices[g];
  }
  if (total_clicks <= 0)
    throw RuntimeFailure(
        "the reference simulation of the calibrated priors produced no clicks, so the price level "
        "cannot be fitted; check the base priors' auction and agent sections");
  std::vector<double> replicates;
  for (int g = 0; g < price_groups; ++g)
    if (total_clicks > clicks[g]) replicates.push_back((total_log_prices - log_prices[g]) / (total_clicks - clicks[g]));
  return {total_log_prices / total_clicks, jackknife_standard_error(replicates)};
}

// Scales competitors.base_bid until simulated prices per click match the log's (in the mean of their logs), by
// secant steps on the log scale (common random numbers: every reference simulation uses the same seed).
void fit_price_level(const EventStatistics& data, const CalibrationOptions& options, BidPolicy& bidder, Priors& fitted,
                     CalibrationResult& result) {
  const Priors& base = data.base();
  const std::string key = base.file + ": 'competitors.base_bid'";
  const double horizon_days = std::min(options.reference_max_days, data.longest_episode_hours() / 24.0);
  double log_scale = 0;
  double previous_scale = 0;
  double previous_residual = 0;
  double simulation_se = 0;
  for (int i = 0; i < std::max(1, options.price_simulations); ++i) {
    fitted.competitor_base_bid = scaled_distribution(base.competitor_base_bid, std::exp(log_scale), key);
    const SimulatedPrices simulated = simulate_prices(fitted, options, horizon_days, bidder);
    const double residual = result.fit.price_log_mean - simulated.log_mean;
    if (i > 0 && std::fabs(log_scale - previous_scale) > 1e-3)
      result.price_elasticity = std::clamp((previous_residual - residual) / (log_scale - previous_scale), 0.2, 2.0);
    previous_scale = log_scale;
    previous_residual = residual;
    result.price_residual = residual;
    simulation_se = simulated.se;
    ++result.price_simulations;
    log_scale += residual / result.price_elasticity;
    if (std::fabs(residual) < options.price_tolerance) break;
  }
  fitted.competitor_base_bid = scaled_distribution(base.competitor_base_bid, std::exp(log_scale), key);
  result.competitor_base_bid = fitted.competitor_base_bid;
  result.base_bid_scale = std::exp(log_scale);
  result.base_bid_scale_se =
      result.base_bid_scale * std::hypot(result.se.price_log_mean, simulation_se) / result.price_elasticity;
}

// ---- the comment header ----------------------------------------------------------------------------

std::string estimate_text(double value, double se) {
  return number_text(value, 4) + " (se " + (std::isnan(se) ? std::string("n/a") : number_text(se, 2)) + ")";
}

std::vector<std::string> summary_lines(const EventStatistics& data, const CalibrationResult& r) {
  const Priors& base = data.base();
  const CalibrationFit& f = r.fit;
  const CalibrationFit& e = r.se;
  const CalibrationCounts& n = r.counts;
  const auto count = [](double x) { return number_text(x, 12); };
  std::vector<std::string> lines;
  const auto line = [&lines](const std::string& text) { lines.push_back(text); };
  line("Calibrated priors, written by `manyworlds calibrate` from the event log " + data.source());
  line("with the base priors " + base.file + ": the entries listed here were fitted, all others are the base's.");
  line("Log: " + count(static_cast<double>(n.rows)) + " rows, " + count(static_cast<double>(n.worlds)) + " worlds, " +
       count(static_cast<double>(n.episodes)) + " episodes, " + count(n.users) + " users seen, " + count(n.sessions) +
       " sessions, " + count(n.impressions) + " impressions, " + count(n.clicks) + " clicks, " + count(n.conversions) +
       " attributed conversions.");
  line("se: delete-a-group jackknife over " + std::to_string(n.jackknife_groups) +
       " groups of worlds. Method and references: docs/calibration.md.");
  line("");
  for (std::size_t s = 0; s < base.segments.size(); ++s)
    line("segments." + base.segments[s].name + ": share " + estimate_text(f.share[s], e.share[s]) + " from " +
         count(n.segment_users[s]) + " users; ctr_multiplier " + estimate_text(f.segment_ctr[s], e.segment_ctr[s]) +
         " from " + count(n.segment_clicks[s]) + " clicks; cvr " + estimate_text(f.segment_cvr[s], e.segment_cvr[s]) +
         " from " + count(n.segment_conversions[s]) + " conversions");
  for (std::size_t d = 0; d < base.devices.size(); ++d) {
    const bool reference = static_cast<int>(d) == r.feature_gap_reference;
    line("devices." + base.devices[d].name + ": ctr_multiplier " + estimate_text(f.device_ctr[d], e.device_ctr[d]) +
         " from " + count(n.device_clicks[d]) + " clicks; feature_gap " +
         (reference ? number_text(f.feature_gap[d], 4) + " (the reference: kept from the base)"
                    : estimate_text(f.feature_gap[d], e.feature_gap[d]) + " from " + count(n.device_conversions[d]) +
                          " conversions"));
  }
  for (int q = 0; q < query_type_count; ++q)
    line(std::string("queries.") + query_type_names[q] + ": base_ctr " + estimate_text(f.base_ctr[q], e.base_ctr[q]) +
         "; cvr_multiplier " + estimate_text(f.cvr_multiplier[q], e.cvr_multiplier[q]));
  const auto [low, high] = std::minmax_element(e.hour_profile.begin(), e.hour_profile.end());
  line("time.hour_profile: session starts per hour of observation, mean 1, from " + count(n.sessions) +
       " sessions (se " + number_text(*low, 2) + " .. " + number_text(*high, 2) + ")");
  line("conversions: attributed delays are log-normal with median " +
       estimate_text(std::exp(f.delay_log_mean), std::exp(f.delay_log_mean) * e.delay_log_mean) + " h and sigma " +
       estimate_text(f.delay_log_sd, e.delay_log_sd) + " (window-truncated fit, " + count(n.conversions) +
       " conversions):");
  line("  delay_median_hours: median of world medians " + estimate_text(f.delay_median_hours, e.delay_median_hours) +
       " h; delay_sigma: root mean square " + estimate_text(f.delay_sigma_rms, e.delay_sigma_rms) +
       " (both keep the base priors' spread)");
  line("competitors.base_bid: median x " + estimate_text(r.base_bid_scale, r.base_bid_scale_se) +
       " of the base's, so that " + std::to_string(r.price_simulations) +
       " reference simulation(s) match the log's prices per click (elasticity " + number_text(r.price_elasticity, 3) +
       "):");
  line("  log-normal with median " +
       estimate_text(std::exp(f.price_log_mean), std::exp(f.price_log_mean) * e.price_log_mean) + " and sigma " +
       estimate_text(f.price_log_sd, e.price_log_sd) + " from " + count(n.clicks) + " clicks; last log residual " +
       number_text(r.price_residual, 2));
  return lines;
}

std::string comment_header(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line.empty() ? "#\n" : "# " + line + "\n";
  return text + "\n";
}

}  // namespace

CalibrationResult calibrate(const EventStatistics& data, const CalibrationOptions& options,
                            BidPolicy& reference_bidder) {
  const Priors& base = data.base();
  CalibrationResult result = fit_event_statistics(data);
  Priors fitted = fitted_priors(base, result, data.source());
  fit_price_level(data, options, reference_bidder, fitted, result);
  result.summary = summary_lines(data, result);
  result.priors_text = comment_header(result.summary) + priors_body(base, fitted);
  check_reads_back(result.priors_text, fitted, "calibrated priors from " + data.source());
  return result;
}

}  // namespace manyworlds
