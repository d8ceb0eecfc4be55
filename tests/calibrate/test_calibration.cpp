// Tests of event logs (CSV round trip, refused rows) and of calibration recovering known priors from a simulated log.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../world/world_test_support.hpp"
#include "manyworlds/calibrate/calibration.hpp"
#include "manyworlds/calibrate/event_log.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/toml_reader.hpp"

namespace manyworlds {
namespace {

using testing_support::default_priors_path;

std::vector<EventRow> simulated_rows(const Priors& priors, std::int64_t worlds, double days) {
  std::vector<EventRow> rows;
  testing_support::ReferenceBid bidder;
  simulate_events(priors, {7, 0, worlds, 1, days}, bidder, [&rows](const EventRow& row) { rows.push_back(row); });
  return rows;
}

std::string csv_of(const Priors& priors, const std::vector<EventRow>& rows) {
  std::ostringstream out;
  EventCsvWriter writer(out, priors);
  for (const EventRow& row : rows) writer.write(row);
  return out.str();
}

std::vector<EventRow> read_csv(const std::string& text, const Priors& priors) {
  std::istringstream in(text);
  std::vector<EventRow> rows;
  read_event_log(in, "events.csv", priors, [&rows](const EventRow& row, std::int64_t) { rows.push_back(row); });
  return rows;
}

// The one-line InputError message that reading `text` produces ("" if none).
std::string read_error(const std::string& text, const Priors& priors) {
  try {
    read_csv(text, priors);
  } catch (const InputError& error) {
    return error.what();
  }
  return "";
}

// The header, then one line with column `column` of the first simulated row replaced by `value`.
std::string csv_with(const Priors& priors, const std::string& column, const std::string& value) {
  const std::string text = csv_of(priors, simulated_rows(priors, 1, 0.25));
  const std::string header = text.substr(0, text.find('\n'));
  std::string line = text.substr(header.size() + 1, text.find('\n', header.size() + 1) - header.size() - 1);
  std::vector<std::string> fields;
  std::stringstream split(line);
  for (std::string field; std::getline(split, field, ',');) fields.push_back(field);
  for (int c = 0; c < event_column_count; ++c)
    if (event_columns[c] == column) fields[c] = value;
  line.clear();
  for (const std::string& field : fields) line += (line.empty() ? "" : ",") + field;
  return header + "\n" + line + "\n";
}

TEST(EventLog, CsvRoundTripsEverySimulatedField) {
  const Priors priors = load_priors(default_priors_path);
  const std::vector<EventRow> rows = simulated_rows(priors, 2, 0.5);
  ASSERT_GT(rows.size(), 500u);
  const std::vector<EventRow> read = read_csv(csv_of(priors, rows), priors);
  ASSERT_EQ(read.size(), rows.size());
  bool some_click = false;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const EventRow& a = rows[i];
    const EventRow& b = read[i];
    EXPECT_TRUE(a.world == b.world && a.episode == b.episode && a.time_hours == b.time_hours && a.hour == b.hour &&
                a.day_of_week == b.day_of_week && a.user == b.user && a.segment == b.segment && a.device == b.device &&
                a.query_type == b.query_type && a.creative == b.creative)
        << "row " << i;
    EXPECT_TRUE(a.bid == b.bid && a.reserve_price == b.reserve_price && a.eligible_bidders == b.eligible_bidders &&
                a.slot == b.slot && a.price == b.price && a.clicked == b.clicked && a.converted == b.converted &&
                a.delay_hours == b.delay_hours && a.conversion_value == b.conversion_value &&
                a.attributed == b.attributed && a.followup_hours == b.followup_hours)
        << "row " << i;
    some_click = some_click || a.clicked;
  }
  EXPECT_TRUE(some_click);
  EXPECT_EQ(csv_of(priors, {}),
            "world,episode,time_hours,hour,day_of_week,user,segment,device,query_type,creative,bid,reserve_price,"
            "eligible_bidders,slot,price,clicked,converted,delay_hours,conversion_value,attributed,followup_hours\n");
}

TEST(EventLog, MissingColumnsAreNamed) {
  const Priors priors = load_priors(default_priors_path);
  const std::string message = read_error(
      "world,episode,time_hours,hour,user,segment,device,query_type,price,clicked,attributed,"
      "delay_hours\n",
      priors);
  EXPECT_EQ(message.find("events.csv:1: missing column(s) 'creative', 'slot'"), 0u) << message;
  EXPECT_NE(read_error("world,world,episode\n", priors).find("events.csv:1: column 'world' appears twice"),
            std::string::npos);
  EXPECT_NE(read_error("", priors).find("events.csv: the file is empty"), std::string::npos);
}

TEST(EventLog, MalformedRowsNameFileLineAndColumn) {
  const Priors priors = load_priors(default_priors_path);
  const struct {
    const char* column;
    const char* value;
    const char* expected;
  } cases[] = {
      {"clicked", "yes", "events.csv:2: column 'clicked' = 'yes' must be 0 or 1"},
      {"segment", "pirate", "events.csv:2: column 'segment' = 'pirate' is not a segment of the base priors"},
      {"device", "", "events.csv:2: column 'device' = '' is not a device of the base priors"},
      {"query_type", "navigational", "events.csv:2: column 'query_type' = 'navigational' is not a query type"},
      {"time_hours", "-1", "events.csv:2: column 'time_hours' = '-1' must be a finite number >= 0"},
      {"price", "nan", "events.csv:2: column 'price' = 'nan' must be a finite number >= 0"},
      {"world", "3.5", "events.csv:2: column 'world' = '3.5' must be a whole number"},
      {"hour", "7", "events.csv:2: column 'hour' = '7' is not floor(time_hours) mod 24"},
      {"slot", "9", "events.csv:2: column 'slot' = '9' must be a whole number in [0, 3]"},
      {"attributed", "1", "events.csv:2: column 'attributed' = '1' but clicked = 0"},
  };
  for (const auto& c : cases) {
    const std::string message = read_error(csv_with(priors, c.column, c.value), priors);
    EXPECT_EQ(message.find(c.expected), 0u) << c.column << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  std::string text = csv_with(priors, "world", "0");
  text.insert(text.rfind(','), ",extra");
  EXPECT_EQ(read_error(text, priors).find("events.csv:2: 22 fields, but the header names 21 columns"), 0u)
      << read_error(text, priors);
}

TEST(EventLog, OptionalColumnsTakeTheirDefaults) {
  const Priors priors = load_priors(default_priors_path);
  const std::string header =
      "world,episode,time_hours,hour,user,segment,device,query_type,creative,slot,price,clicked,attributed,delay_hours";
  const std::vector<EventRow> rows = read_csv(header + "\n3,1,25.5,1,17,casual,ios,brand,0,1,0.5,1,1,2.25\n", priors);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].world, 3u);
  EXPECT_EQ(rows[0].segment, 3);
  EXPECT_EQ(rows[0].device, 0);
  EXPECT_EQ(rows[0].query_type, 0);
  EXPECT_TRUE(rows[0].converted);               // default: = attributed
  EXPECT_EQ(rows[0].followup_hours, 7 * 24.0);  // default: the base priors' attribution window
  EXPECT_EQ(rows[0].bid, 0.0);
  EXPECT_EQ(read_error(header + "\n3,1,25.5,1,17,casual,ios,brand,0,1,0.5,1,1,200\n", priors),
            "events.csv:2: column 'delay_hours' = '200' exceeds followup_hours (the attribution window): the "
            "conversion was logged after the follow-up ended");
  EXPECT_EQ(read_error(header + ",followup_hours\n3,1,25.5,1,17,casual,ios,brand,0,1,0.5,1,1,2.25,1.5\n", priors)
                .find("events.csv:2: column 'delay_hours' = '2.25' exceeds followup_hours (1.5)"),
            0u);
}

TEST(EventLog, StatisticsRefuseRowsOutOfOrder) {
  const Priors priors = load_priors(default_priors_path);
  const std::vector<EventRow> rows = simulated_rows(priors, 2, 0.25);
  const auto error_of = [&](const std::vector<EventRow>& sequence) -> std::string {
    EventStatistics statistics(priors, "log.csv");
    try {
      for (std::size_t i = 0; i < sequence.size(); ++i) statistics.add(sequence[i], static_cast<std::int64_t>(i + 2));
    } catch (const InputError& error) {
      return error.what();
    }
    return "";
  };
  std::vector<EventRow> again = rows;
  again.push_back(rows.front());  // world 0 after world 1
  EXPECT_NE(
      error_of(again).find("log.csv:" + std::to_string(again.size() + 1) +
                           ": world 0 appears again after other worlds; sort the rows by world, episode, time_hours"),
      std::string::npos)
      << error_of(again);
  std::vector<EventRow> backwards(rows.begin(), rows.begin() + 3);
  std::swap(backwards[1], backwards[2]);
  backwards[1].time_hours += 1.0;
  EXPECT_NE(error_of(backwards).find("log.csv:4: time_hours = "), std::string::npos) << error_of(backwards);
  std::vector<EventRow> changed(rows.begin(), rows.begin() + 1);
  changed.push_back(rows.front());
  changed.back().device = (changed.back().device + 1) % 3;
  EXPECT_NE(error_of(changed).find("must not change within a world"), std::string::npos) << error_of(changed);
}

TEST(EventLog, TooSmallALogIsRefusedByName) {
  const Priors priors = load_priors(default_priors_path);
  EventStatistics statistics(priors, "tiny.csv");
  std::int64_t line = 1;
  for (const EventRow& row : simulated_rows(priors, 1, 0.25)) statistics.add(row, ++line);
  statistics.finish();
  try {
    fit_event_statistics(statistics);
    FAIL() << "a quarter-day log cannot fit every entry";
  } catch (const InputError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find("tiny.csv: "), 0u) << message;
    EXPECT_NE(message.find("; use a longer log"), std::string::npos) << message;
  }
}

// Share of the gaps between consecutive queries of one user in one episode that fall in [low, high) minutes.
double share_of_gaps(const std::vector<EventRow>& rows, double low, double high) {
  std::map<std::array<std::uint64_t, 3>, double> last_query;  // (world, episode, user) -> time
  double gaps = 0;
  double inside = 0;
  for (const EventRow& row : rows) {
    const auto [entry, first] = last_query.try_emplace({row.world, row.episode, row.user}, row.time_hours);
    if (first) continue;
    const double minutes = (row.time_hours - entry->second) * 60.0;
    entry->second = row.time_hours;
    gaps += 1;
    inside += minutes >= low && minutes < high ? 1 : 0;
  }
  return inside / gaps;
}

double sessions_counted(const Priors& base, const std::vector<EventRow>& rows) {
  EventStatistics statistics(base, "simulated.csv");
  std::int64_t line = 1;
  for (const EventRow& row : rows) statistics.add(row, ++line);
  statistics.finish();
  double sessions = 0;
  for (const WorldStatistics& world : statistics.worlds())
    for (double s : world.sessions) sessions += s;
  return sessions;
}

TEST(QueryGaps, FollowThePriorsAndCalibrationSplitsSessionsAtTheirMaximum) {
  const Priors defaults = load_priors(default_priors_path);
  Priors slow = defaults;
  slow.query_gap_min_minutes = 6.0;
  slow.query_gap_max_minutes = 9.0;
  const std::vector<EventRow> usual = simulated_rows(defaults, 3, 1.0);
  const std::vector<EventRow> spread = simulated_rows(slow, 3, 1.0);
  // Within a session the gaps are uniform in the priors' range; gaps between sessions rarely are that short.
  EXPECT_GT(share_of_gaps(usual, 0.5, 3.0), 0.3);
  EXPECT_LT(share_of_gaps(usual, 6.0, 9.0), 0.02);
  EXPECT_GT(share_of_gaps(spread, 6.0, 9.0), 0.3);
  EXPECT_LT(share_of_gaps(spread, 0.5, 3.0), 0.02);
  // The same draws make the same sessions: calibration against each log's own priors counts them alike (the few
  // that differ ran past the horizon or into another session); split at the default 3 minutes, the spread-out
  // log's every query would start a session.
  const double sessions = sessions_counted(defaults, usual);
  EXPECT_NEAR(sessions_counted(slow, spread) / sessions, 1.0, 0.03);
  EXPECT_GT(sessions_counted(defaults, spread) / sessions, 1.3);
}

TEST(Calibration, ScaledDistributionsKeepTheirShape) {
  using Kind = Distribution::Kind;
  const Distribution lognormal = scaled_distribution({Kind::lognormal, 2.0, 0.3}, 1.5, "k");
  EXPECT_EQ(lognormal.kind, Kind::lognormal);
  EXPECT_DOUBLE_EQ(lognormal.a, 3.0);
  EXPECT_DOUBLE_EQ(lognormal.b, 0.3);
  const Distribution uniform = scaled_distribution({Kind::uniform_int, 2.0, 4.0}, 0.5, "k");
  EXPECT_EQ(uniform.kind, Kind::uniform);
  EXPECT_DOUBLE_EQ(uniform.a, 1.0);
  EXPECT_DOUBLE_EQ(uniform.b, 2.0);
  EXPECT_THROW(scaled_distribution({Kind::beta, 0.5, 10.0}, 2.0, "k"), InputError);
}

// ---- recovering known priors ----------------------------------------------------------------------

void replace_once(std::string& text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
}

// The default priors with non-default values for what calibrate fits (the "truth" of the test).
std::string true_priors_text(const Priors& defaults) {
  std::string text = defaults.text;
  replace_once(text, "share = 0.10\n", "share = 0.16\n");  // crisis_parent
  replace_once(text, "share = 0.25\n", "share = 0.22\n");  // researcher
  replace_once(text, "share = 0.30\n", "share = 0.27\n");  // price_sensitive (casual stays 0.35)
  replace_once(text, "ctr_multiplier = 1.35", "ctr_multiplier = 1.6");
  replace_once(text, "cvr = 0.047", "cvr = 0.09");
  replace_once(text, "cvr = 0.040", "cvr = 0.06");  // researcher
  replace_once(text, "cvr = 0.040", "cvr = 0.05");  // price_sensitive
  replace_once(text, "cvr = 0.020", "cvr = 0.035");
  replace_once(text, "feature_gap = 0.45", "feature_gap = 0.6");
  replace_once(text, "median = 2.5, sigma = 0.2", "median = 4.0, sigma = 0.2");  // delay_median_hours
  replace_once(text, "low = 1.9, high = 2.3", "low = 1.4, high = 1.8");          // delay_sigma
  replace_once(text, "base_bid = { dist = \"lognormal\", median = 1.0",
               "base_bid = { dist = \"lognormal\", median = 1.3");
  // Hour profile: the default one moved by 12 hours (the evening peak becomes a morning peak).
  const std::size_t begin = text.find("hour_profile = [") + 16;
  const std::size_t end = text.find(']', begin);
  std::string profile;
  for (int h = 0; h < 24; ++h) profile += (h ? ", " : "") + std::to_string(defaults.hour_profile[(h + 12) % 24]);
  text.replace(begin, end - begin, profile);
  return text;
}

std::array<double, 24> mean_one(const std::array<double, 24>& profile) {
  double total = 0;
  for (double x : profile) total += x;
  std::array<double, 24> result{};
  for (int h = 0; h < 24; ++h) result[h] = profile[h] * 24.0 / total;
  return result;
}

// Checks |estimate - truth| <= tolerance and that the reported standard error is at most `expected_se` x 1.5
// (so that a tolerance of 4 expected SEs cannot hide an estimator noisier than it should be).
void expect_recovered(const std::string& name, double estimate, double se, double truth, double expected_se) {
  const double tolerance = 4.0 * expected_se;
  std::printf("  %-34s true %9.4f  fitted %9.4f  se %8.4f  |error| %7.4f  tolerance %7.4f\n", name.c_str(), truth,
              estimate, se, std::fabs(estimate - truth), tolerance);
  EXPECT_NEAR(estimate, truth, tolerance) << name;
  EXPECT_LE(se, 1.5 * expected_se) << name << ": the reported standard error is larger than expected";
}

TEST(Calibration, RecoversKnownPriorsFromASimulatedLog) {
  const Priors defaults = load_priors(default_priors_path);
  const Priors truth = parse_priors(true_priors_text(defaults), "true-priors.toml");

  // 600 worlds x 2 episodes x 2 days with the constant reference bidder: about 2.4 million auctions, 50 000 clicks,
  // 3 400 attributed conversions (a few seconds in a Release build).
  constexpr std::int64_t worlds = 600;
  const double root_worlds = std::sqrt(static_cast<double>(worlds));
  EventStatistics statistics(defaults, "simulated.csv");
  testing_support::ReferenceBid bidder;
  std::int64_t line = 1;
  simulate_events(truth, {4242, 0, worlds, 2, 2.0}, bidder, [&](const EventRow& row) { statistics.add(row, ++line); });
  statistics.finish();
  const CalibrationResult result = calibrate(statistics, CalibrationOptions{}, bidder);
  const CalibrationFit& fit = result.fit;
  const CalibrationFit& se = result.se;
  ASSERT_EQ(result.counts.jackknife_groups, 20);
  for (const std::string& summary : result.summary) std::printf("  %s\n", summary.c_str());

  // Expected standard errors; each tolerance is 4 of them. Worlds are the independent units (every world draws its
  // own segment mix, CTR, CVR and price levels, delay median, hour weights), so an SE combines the counting noise of
  // the log's events (1/sqrt(n), n from the log) with the between-world spread over sqrt(worlds).
  const CalibrationCounts& n = result.counts;
  const auto relative = [](std::initializer_list<double> parts) {
    double sum = 0;
    for (double part : parts) sum += part * part;
    return std::sqrt(sum);
  };
  //  share: a world's share varies by sqrt(p(1-p)/401) (Dirichlet, concentration 400) and sqrt(p(1-p)/1250) (its
  //    users); crisis parents' by 0.026 more (crisis-surge worlds, 8%, x1.8): 0.025..0.034; the correction for the
  //    users who never searched (about a fifth) adds about as much again: 0.035 / sqrt(worlds).
  for (std::size_t s = 0; s < truth.segments.size(); ++s)
    expect_recovered("segments." + truth.segments[s].name + ".share", fit.share[s], se.share[s],
                     truth.segments[s].share, 0.035 / root_worlds);
  //  segment ctr_multiplier: clicks 1/sqrt(n_s); the level, a plain mean of the world effects, which vary by ~0.27
  //    (CTR level 0.15, creative effectiveness 0.2, fatigue); crisis parents' creative affinity (0.35 per world).
  for (std::size_t s = 0; s < truth.segments.size(); ++s) {
    const double affinity = truth.segments[s].crisis ? 0.36 / root_worlds : 0.0;
    expect_recovered("segments." + truth.segments[s].name + ".ctr_multiplier", fit.segment_ctr[s], se.segment_ctr[s],
                     truth.segments[s].ctr_multiplier,
                     relative({1 / std::sqrt(n.segment_clicks[s]), 0.27 / root_worlds, affinity}) *
                         truth.segments[s].ctr_multiplier);
  }
  //  device ctr_multiplier: compared with the other devices inside each world: 1/sqrt(clicks on the device).
  for (std::size_t d = 0; d < truth.devices.size(); ++d)
    expect_recovered("devices." + truth.devices[d].name + ".ctr_multiplier", fit.device_ctr[d], se.device_ctr[d],
                     truth.devices[d].ctr_multiplier, truth.devices[d].ctr_multiplier / std::sqrt(n.device_clicks[d]));
  //  feature_gap (iOS; Android is the reference, kept at the base value): the iOS / other devices conversion ratio
  //    is known to 1/sqrt(iOS conversions) and 1/sqrt(other conversions); d ln(1 - gap dep) / d gap = dep / (1 -
  //    gap dep) averages ~1 over conversions (crisis parents 0.8 / 0.52, the others ~0.37): SE(gap) ~ the ratio's.
  const double gap_se = relative(
      {1 / std::sqrt(n.device_conversions[0]), 1 / std::sqrt(n.device_conversions[1] + n.device_conversions[2])});
  expect_recovered("devices.ios.feature_gap", fit.feature_gap[0], se.feature_gap[0], truth.devices[0].feature_gap,
                   gap_se);
  EXPECT_EQ(fit.feature_gap[1], defaults.devices[1].feature_gap);
  expect_recovered("devices.desktop.feature_gap", fit.feature_gap[2], se.feature_gap[2], 0.0,
                   2 / std::sqrt(n.device_conversions[2]));
  //  cvr: 1/sqrt(conversions of the segment), the world CVR level (0.15 / sqrt(worlds)) and the gap's SE times
  //    d ln(rate) / d gap on iOS (45% of users): 0.45 dep / (1 - 0.6 dep).
  for (std::size_t s = 0; s < truth.segments.size(); ++s) {
    const double dependence = truth.segments[s].feature_dependence;
    const double through_gap = 0.45 * dependence / (1 - 0.6 * dependence) * gap_se;
    expect_recovered(
        "segments." + truth.segments[s].name + ".cvr", fit.segment_cvr[s], se.segment_cvr[s], truth.segments[s].cvr,
        relative({1 / std::sqrt(n.segment_conversions[s]), 0.15 / root_worlds, through_gap}) * truth.segments[s].cvr);
  }
  //  delays: log-normal, sd of ln(delay) ~1.64 over n conversions: SE of the mean log 1.64 / sqrt(n) (the worlds'
  //    median spread, 0.2 / sqrt(worlds), is small); of the log sd 1.64 / sqrt(2n), times 1.3 because the
  //    truncation at 168 h (2.1 sd above the median) hides part of the tail.
  const double log_sd = 1.64;
  expect_recovered("conversions.delay_median_hours (median)", result.delay_median_hours.a, se.delay_median_hours,
                   truth.delay_median_hours.a, truth.delay_median_hours.a * log_sd / std::sqrt(n.conversions));
  const double true_sigma_rms = std::sqrt(1.6 * 1.6 + 0.4 * 0.4 / 12.0);  // uniform(1.4, 1.8)
  expect_recovered("conversions.delay_sigma (rms)", fit.delay_sigma_rms, se.delay_sigma_rms, true_sigma_rms,
                   1.3 * log_sd / std::sqrt(2 * n.conversions));
  //  hour profile: each world's weight of an hour has log-normal noise 0.15 (0.15 / sqrt(worlds) between worlds);
  //    the hour's sessions (its share of all of them) count 1/sqrt(sessions at that hour).
  const std::array<double, 24> true_profile = mean_one(truth.hour_profile);
  for (int h = 0; h < 24; ++h)
    expect_recovered(
        "time.hour_profile[" + std::to_string(h) + "]", fit.hour_profile[h], se.hour_profile[h], true_profile[h],
        relative({0.15 / root_worlds, 1 / std::sqrt(n.sessions * true_profile[h] / 24)}) * true_profile[h]);
  //  price level: the click-weighted mean log price per click varies between worlds by ~0.47 (bid level,
  //    competitors, world type): 0.47 / sqrt(worlds) in the log and 0.47 / sqrt(800) in the reference simulation,
  //    divided by the measured price elasticity (reserve prices do not scale with the bids).
  const double reference_worlds = static_cast<double>(CalibrationOptions{}.reference_worlds);
  expect_recovered("competitors.base_bid (median)", result.competitor_base_bid.a,
                   result.base_bid_scale_se * defaults.competitor_base_bid.a, truth.competitor_base_bid.a,
                   relative({0.47 / root_worlds, 0.47 / std::sqrt(reference_worlds)}) / result.price_elasticity *
                       truth.competitor_base_bid.a);
  EXPECT_EQ(result.competitor_base_bid.b, defaults.competitor_base_bid.b);  // the spread stays the base's

  // The written priors are a complete, valid priors file holding exactly the fitted values.
  const Priors written = parse_priors(result.priors_text, "calibrated.toml");
  for (std::size_t s = 0; s < written.segments.size(); ++s) {
    EXPECT_NEAR(written.segments[s].share, fit.share[s], 1e-9);
    EXPECT_NEAR(written.segments[s].cvr, fit.segment_cvr[s], 1e-7 * fit.segment_cvr[s]);
  }
  EXPECT_NEAR(written.devices[0].feature_gap, fit.feature_gap[0], 1e-7);
  EXPECT_NEAR(written.competitor_base_bid.a, result.competitor_base_bid.a, 1e-7);
  EXPECT_NEAR(written.hour_profile[8], fit.hour_profile[8], 1e-6);
  EXPECT_EQ(written.world_types.size(), defaults.world_types.size());
  EXPECT_EQ(result.priors_text.find("# Calibrated priors, written by `manyworlds calibrate` from the event log "
                                    "simulated.csv"),
            0u);
  EXPECT_NE(result.priors_text.find("# Default priors of manyworlds"), std::string::npos);  // base comments kept
}

}  // namespace
}  // namespace manyworlds
