// Tests of the priors file: the default parses to what it says, malformed priors are refused in one line.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <string>
#include <vector>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/core/toml_reader.hpp"
#include "manyworlds/world/priors.hpp"

namespace manyworlds {
namespace {

const std::string priors_path = MANYWORLDS_SOURCE_DIR "/jobs/priors/default.toml";

const std::string& default_text() {
  static const std::string text = read_text_file(priors_path);
  return text;
}

// The default priors with `from` (which must occur exactly once) replaced by `to`; `line` gets its 1-based line.
std::string mutated(const std::string& from, const std::string& to, int* line = nullptr) {
  const std::string& text = default_text();
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "not in the default priors: " << from;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << "occurs twice in the default priors: " << from;
  if (at == std::string::npos) return text;
  if (line != nullptr)
    *line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
  return text.substr(0, at) + to + text.substr(at + from.size());
}

// Parses `text` as "bad.toml", expects a one-line InputError starting "bad.toml:<line>: " and returns the rest.
std::string refusal(const std::string& text) {
  try {
    parse_priors(text, "bad.toml");
  } catch (const InputError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    std::smatch match;
    EXPECT_TRUE(std::regex_search(message, match, std::regex("^bad\\.toml:[0-9]+: "))) << message;
    return message;
  }
  ADD_FAILURE() << "the malformed priors were accepted";
  return "";
}

std::string at_line(int line) { return "bad.toml:" + std::to_string(line) + ": "; }

// Replaces `from` by `to` in the default priors and expects the refusal "bad.toml:<line>: <reason>", where
// <line> is the line of `from` plus `line_offset` (for an inserted line below it).
void expect_refused(const std::string& from, const std::string& to, const std::string& reason, int line_offset = 0) {
  int line = 0;
  const std::string text = mutated(from, to, &line);
  EXPECT_EQ(refusal(text), at_line(line + line_offset) + reason);
}

TEST(PriorsDefault, ParsesToWhatTheFileSays) {
  const Priors priors = load_priors(priors_path);
  EXPECT_EQ(priors.file, priors_path);
  EXPECT_EQ(priors.text, default_text());
  EXPECT_EQ(priors.tags.size(), 8u);
  ASSERT_EQ(priors.urgency_tags.size(), 2u);
  EXPECT_EQ(priors.tags[static_cast<std::size_t>(priors.urgency_tags[0])], "urgent");
  EXPECT_EQ(priors.tags[static_cast<std::size_t>(priors.urgency_tags[1])], "emergency");

  // Segments in file order, exactly one crisis segment, shares summing to 1.
  std::vector<std::string> segments;
  double share = 0;
  for (const SegmentPrior& s : priors.segments) {
    segments.push_back(s.name);
    share += s.share;
    double mix = 0;
    for (double p : s.query_mix) mix += p;
    EXPECT_NEAR(mix, 1.0, 1e-9) << s.name;
    EXPECT_EQ(s.tag_probability.size(), priors.tags.size());
  }
  EXPECT_EQ(segments, (std::vector<std::string>{"crisis_parent", "researcher", "price_sensitive", "casual"}));
  EXPECT_NEAR(share, 1.0, 1e-9);
  ASSERT_EQ(priors.crisis_segment(), 0);
  const SegmentPrior& crisis = priors.segments[0];
  EXPECT_TRUE(crisis.crisis);
  EXPECT_DOUBLE_EQ(crisis.share, 0.10);
  EXPECT_DOUBLE_EQ(crisis.cvr, 0.047);
  EXPECT_DOUBLE_EQ(crisis.feature_dependence, 0.8);
  EXPECT_DOUBLE_EQ(crisis.value_median, 100.0);
  EXPECT_DOUBLE_EQ(crisis.query_mix[static_cast<std::size_t>(QueryType::crisis_intent)], 0.57);
  const auto urgent = std::find(priors.tags.begin(), priors.tags.end(), "urgent") - priors.tags.begin();
  EXPECT_DOUBLE_EQ(crisis.tag_probability[static_cast<std::size_t>(urgent)], 0.55);
  EXPECT_FALSE(priors.segments[1].crisis);

  ASSERT_GE(priors.ios_device, 0);
  EXPECT_EQ(priors.devices[static_cast<std::size_t>(priors.ios_device)].name, "ios");
  EXPECT_DOUBLE_EQ(priors.devices[static_cast<std::size_t>(priors.ios_device)].feature_gap, 0.45);
  EXPECT_EQ(priors.devices.size(), 3u);

  EXPECT_DOUBLE_EQ(priors.queries[static_cast<std::size_t>(QueryType::brand)].base_ctr, 0.085);
  EXPECT_EQ(priors.queries[static_cast<std::size_t>(QueryType::crisis_intent)].tags,
            std::vector<int>{static_cast<int>(urgent)});

  EXPECT_EQ(priors.users.kind, Distribution::Kind::uniform_int);
  EXPECT_EQ(priors.users.a, 500);
  EXPECT_EQ(priors.users.b, 2000);
  EXPECT_EQ(priors.slots, 3);
  EXPECT_EQ(priors.position_ctr, (std::vector<double>{1.0, 0.6, 0.38}));
  EXPECT_EQ(priors.reserve_price.kind, Distribution::Kind::lognormal);
  EXPECT_DOUBLE_EQ(priors.reserve_price.a, 0.25);
  EXPECT_DOUBLE_EQ(priors.reserve_price.b, 0.3);
  EXPECT_EQ(priors.competitor_participation.kind, Distribution::Kind::beta);
  EXPECT_EQ(priors.creatives, 4);
  EXPECT_DOUBLE_EQ(priors.attribution_window_days, 7.0);
  EXPECT_DOUBLE_EQ(priors.hour_profile[20], 1.55);
  EXPECT_DOUBLE_EQ(priors.day_of_week_profile[5], 0.9);

  std::vector<std::string> strategies;
  for (const StrategyPrior& s : priors.strategies) strategies.push_back(s.name);
  EXPECT_EQ(strategies, (std::vector<std::string>{"aggressive", "value_focused", "budget_paced", "brand_defender",
                                                  "deep_pocket", "pulling_back"}));
  EXPECT_TRUE(priors.strategies[2].paced);
  EXPECT_DOUBLE_EQ(priors.strategies[5].bid_trend_per_day, -0.12);
  EXPECT_DOUBLE_EQ(priors.strategies[1].query_multipliers[static_cast<std::size_t>(QueryType::crisis_intent)], 1.7);
  EXPECT_DOUBLE_EQ(priors.strategies[0].query_multipliers[0], 1.0);  // unlisted multipliers default to 1

  std::vector<std::string> types;
  double type_probability = 0;
  for (const WorldTypePrior& t : priors.world_types) {
    types.push_back(t.name);
    type_probability += t.probability;
  }
  EXPECT_EQ(types, (std::vector<std::string>{"normal", "high_competition", "low_competition", "seasonal_peak",
                                             "economic_downturn", "crisis_surge", "new_entrant", "price_war",
                                             "competitor_pull_back"}));
  EXPECT_NEAR(type_probability, 1.0, 1e-9);
  EXPECT_EQ(priors.world_types[6].add_strategy, priors.strategy_index("deep_pocket"));
  EXPECT_EQ(priors.world_types[8].switch_strategy, priors.strategy_index("pulling_back"));
  EXPECT_DOUBLE_EQ(priors.world_types[8].switch_share, 0.6);
  EXPECT_EQ(priors.world_types[1].competitors_add, 3);
  EXPECT_EQ(priors.world_types[0].add_strategy, -1);
  EXPECT_EQ(priors.strategy_index("no_such_strategy"), -1);
}

TEST(PriorsDistribution, SamplesFollowTheirSpecification) {
  // Each kind: 40000 draws, all within [min(), max()], mean within 5 standard errors of mean()
  // (fixed seed: a correct sampler is inside with probability 1 - 6e-7).
  struct Case {
    Distribution d;
    double sd;  // the distribution's standard deviation, for the standard error of the mean
  };
  using Kind = Distribution::Kind;
  const double lognormal_sd = 2.0 * std::sqrt((std::exp(0.25) - 1) * std::exp(0.25));
  const std::vector<Case> cases{
      {{Kind::constant, 3.5, 0}, 0.0},
      {{Kind::uniform, 1.0, 3.0}, 2.0 / std::sqrt(12.0)},
      {{Kind::uniform_int, 3, 6}, std::sqrt((4.0 * 4.0 - 1) / 12.0)},
      {{Kind::normal, -1.0, 0.5}, 0.5},
      {{Kind::lognormal, 2.0, 0.5}, lognormal_sd},
      {{Kind::beta, 0.75, 20}, std::sqrt(0.75 * 0.25 / 21)},
      {{Kind::gamma, 3.0, 4.0}, 3.0 / 2.0},
  };
  std::uint32_t world = 0;
  for (const Case& c : cases) {
    Stream stream(4242, Purpose::world_params, world++);
    const int n = 40000;
    double sum = 0;
    for (int i = 0; i < n; ++i) {
      const double x = c.d.sample(stream);
      ASSERT_GE(x, c.d.min());
      ASSERT_LE(x, c.d.max());
      if (c.d.kind == Kind::uniform_int) {
        ASSERT_EQ(x, std::floor(x));
      }
      sum += x;
    }
    EXPECT_NEAR(sum / n, c.d.mean(), 5 * c.sd / std::sqrt(n) + 1e-12) << "kind " << static_cast<int>(c.d.kind);
  }
  // uniform_int reaches both ends.
  Stream stream(1, Purpose::world_params, 0);
  const Distribution d{Kind::uniform_int, 3, 6};
  bool low = false, high = false;
  for (int i = 0; i < 200; ++i) {
    const double x = d.sample(stream);
    low = low || x == 3;
    high = high || x == 6;
  }
  EXPECT_TRUE(low && high);
}

TEST(PriorsErrors, UnknownKeysNameTheNearestKey) {
  int line = 0;
  std::string text = mutated("activity_shape = 2.0", "activity_shape = 2.0\nactivity_shap = 1.5", &line);
  EXPECT_EQ(
      refusal(text),
      at_line(line + 1) + "'population.activity_shap' is not a valid key; did you mean 'population.activity_shape'?");
  text = mutated("cvr = 0.047", "cvr = 0.047\ncvrr = 0.05", &line);
  EXPECT_EQ(refusal(text),
            at_line(line + 1) +
                "'segments.crisis_parent.cvrr' is not a valid key; did you mean 'segments.crisis_parent.cvr'?");
  text = mutated("format = \"manyworlds-priors\"", "format = \"manyworlds-priors\"\nverison = 1", &line);
  EXPECT_EQ(refusal(text), at_line(line + 1) + "'verison' is not a valid key; did you mean 'version'?");
  // Inside a distribution's table.
  text = mutated("reserve_price = { dist = \"lognormal\", median = 0.25, sigma = 0.3 }",
                 "reserve_price = { dist = \"lognormal\", median = 0.25, sigmaa = 0.3, sigma = 0.3 }", &line);
  EXPECT_EQ(
      refusal(text),
      at_line(line) + "'auction.reserve_price.sigmaa' is not a valid key; did you mean 'auction.reserve_price.sigma'?");
}

TEST(PriorsErrors, SharesMustSumToOne) {
  EXPECT_NE(
      refusal(mutated("share = 0.10\n", "share = 0.20\n")).find("'segments' values sum to 1.100000, but must sum to 1"),
      std::string::npos);
  EXPECT_NE(
      refusal(mutated("share = 0.45", "share = 0.40")).find("'devices' values sum to 0.950000, but must sum to 1"),
      std::string::npos);
  const std::string mix = "query_mix = { brand = 0.12, generic = 0.25, competitor_brand = 0.06, crisis_intent = 0.57 }";
  expect_refused(mix, "query_mix = { brand = 0.12, generic = 0.25, competitor_brand = 0.06, crisis_intent = 0.50 }",
                 "'segments.crisis_parent.query_mix' values sum to 0.930000, but must sum to 1");
  EXPECT_NE(refusal(mutated("probability = 0.2\nbid_multiplier = 1.35", "probability = 0.3\nbid_multiplier = 1.35"))
                .find("'competitors.strategies' values sum to 1.100000, but must sum to 1"),
            std::string::npos);
  EXPECT_NE(refusal(mutated("probability = 0.28", "probability = 0.27"))
                .find("'world_types' values sum to 0.990000, but must sum to 1"),
            std::string::npos);
}

TEST(PriorsErrors, DevicesMustIncludeIos) {
  EXPECT_NE(refusal(mutated("[devices.ios]", "[devices.iphone]")).find("'devices' must define a device named 'ios'"),
            std::string::npos);
}

TEST(PriorsErrors, BadDistributionSpecsAreRefused) {
  const std::string reserve = "reserve_price = { dist = \"lognormal\", median = 0.25, sigma = 0.3 }";
  expect_refused(reserve, "reserve_price = { dist = \"lognorm\", median = 0.25, sigma = 0.3 }",
                 "'auction.reserve_price.dist' = 'lognorm' is not one of 'constant', 'uniform', 'uniform_int', "
                 "'normal', 'lognormal', 'beta', 'gamma'");
  // A normal can go negative: not allowed for a price.
  expect_refused(reserve, "reserve_price = { dist = \"normal\", mean = 0.25, sd = 0.1 }",
                 "'auction.reserve_price.dist' = 'normal' can produce values outside the allowed range; "
                 "choose a bounded distribution");
  expect_refused(reserve, "reserve_price = { dist = \"uniform\", low = 0.3, high = 0.2 }",
                 "'auction.reserve_price.high' must be >= 'low'");
  expect_refused(reserve, "reserve_price = { dist = \"lognormal\", median = 0.25 }",
                 "'auction.reserve_price.sigma' is missing; add it to the [auction.reserve_price] table");
  expect_refused(reserve, "reserve_price = { dist = \"lognormal\", median = -0.25, sigma = 0.3 }",
                 "'auction.reserve_price.median' = -0.25 is out of range: must be > 0");
  expect_refused(reserve, "reserve_price = \"cheap\"", "'auction.reserve_price' must be a number, found a string");
  expect_refused("participation = { dist = \"beta\", mean = 0.75, concentration = 20 }",
                 "participation = { dist = \"beta\", mean = 1.0, concentration = 20 }",
                 "'competitors.participation.mean' must be below 1");
  // A uniform outside [0, 1] for a probability.
  expect_refused("participation = { dist = \"beta\", mean = 0.75, concentration = 20 }",
                 "participation = { dist = \"uniform\", low = 0.5, high = 1.5 }",
                 "'competitors.participation.high' = 1.5 is out of range: must be in [0, 1]");
  // The competitor count must be whole.
  expect_refused("count = { dist = \"uniform_int\", low = 3, high = 6 }",
                 "count = { dist = \"uniform\", low = 3, high = 6 }",
                 "'competitors.count' must be a whole number or a uniform_int distribution");
  expect_refused("count = { dist = \"uniform_int\", low = 3, high = 6 }",
                 "count = { dist = \"uniform_int\", low = 3.5, high = 6 }",
                 "'competitors.count.low' and 'high' must be whole numbers for uniform_int");
}

TEST(PriorsErrors, ExactlyOneCrisisSegment) {
  EXPECT_NE(refusal(mutated("[segments.researcher]\n", "[segments.researcher]\ncrisis = true\n"))
                .find("'segments' must flag exactly one segment with crisis = true (found 2)"),
            std::string::npos);
  EXPECT_NE(refusal(mutated("crisis = true\n", "crisis = false\n"))
                .find("'segments' must flag exactly one segment with crisis = true (found 0)"),
            std::string::npos);
}

TEST(PriorsErrors, UnknownTagAndStrategyNames) {
  expect_refused("urgent = 0.55", "urgnt = 0.55",
                 "'segments.crisis_parent.tags.urgnt' names tag 'urgnt', which is not in the top-level 'tags' list");
  expect_refused("tags = [\"urgent\"]", "tags = [\"urgency\"]",
                 "'queries.crisis_intent.tags' names tag 'urgency', which is not in the top-level 'tags' list");
  expect_refused("urgency_tags = [\"urgent\", \"emergency\"]", "urgency_tags = [\"urgent\", \"emergence\"]",
                 "'urgency_tags' names tag 'emergence', which is not in the top-level 'tags' list");
  expect_refused("add_strategy = \"deep_pocket\"", "add_strategy = \"deep_pockets\"",
                 "'world_types.new_entrant.add_strategy' names strategy 'deep_pockets', which is not under "
                 "[competitors.strategies]");
  expect_refused("switch_strategy = \"pulling_back\"", "switch_strategy = \"pull_back\"",
                 "'world_types.competitor_pull_back.switch_strategy' names strategy 'pull_back', which is "
                 "not under [competitors.strategies]");
}

TEST(PriorsErrors, OtherStructuralMistakes) {
  expect_refused("format = \"manyworlds-priors\"", "format = \"manyworlds-job\"",
                 "'format' = 'manyworlds-job': this is not a manyworlds priors file (expected 'manyworlds-priors')");
  expect_refused("position_ctr = [1.0, 0.6, 0.38]", "position_ctr = [1.0, 0.6]",
                 "'auction.position_ctr' must have one entry per slot (3)");
  expect_refused("position_ctr = [1.0, 0.6, 0.38]", "position_ctr = [1.0, 0.38, 0.6]",
                 "'auction.position_ctr' must not increase from slot to slot");
  EXPECT_NE(refusal(mutated("day_of_week_profile = [1.05, 1.05, 1.0, 1.0, 0.95, 0.9, 1.05]",
                            "day_of_week_profile = [1.05, 1.05, 1.0, 1.0, 0.95, 0.9]"))
                .find("'time.day_of_week_profile' must have 7 entries, found 6"),
            std::string::npos);
  expect_refused("cvr = 0.047", "cvr = 1.5", "'segments.crisis_parent.cvr' = 1.5 is out of range: must be in (0, 1]");
  EXPECT_NE(refusal(mutated("version = 1", "version = 2")).find("'version' = 2 is out of range: must be in [1, 1]"),
            std::string::npos);
  // Syntax errors name the line.
  int line = 0;
  const std::string broken = mutated("activity_shape = 2.0", "activity_shape = = 2.0", &line);
  const std::string message = refusal(broken);
  EXPECT_EQ(message.rfind(at_line(line) + "TOML syntax error", 0), 0u) << message;
  // A missing file names the path.
  try {
    load_priors("/nonexistent/priors.toml");
    ADD_FAILURE() << "a missing priors file was accepted";
  } catch (const InputError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("/nonexistent/priors.toml: cannot open the file", 0), 0u) << error.what();
  }
}

TEST(PriorsModelConstants, OptionalKeysTakeTheirDefaultsOrTheFilesValues) {
  // The numbers the model once had in code: absent from the default file, so they take the documented defaults.
  const Priors defaults = load_priors(priors_path);
  EXPECT_EQ(defaults.query_gap_min_minutes, 0.5);
  EXPECT_EQ(defaults.query_gap_max_minutes, 3.0);
  EXPECT_EQ(defaults.max_seasonal_amplitude, 0.95);
  EXPECT_EQ(defaults.pacing_slope, 4.0);
  EXPECT_EQ(defaults.max_log_bid_multiplier, 10.0);
  std::string text = mutated("device_concentration = 60",
                             "device_concentration = 60\nquery_gap_min_minutes = 2\n"
                             "query_gap_max_minutes = 7.5");
  text = text.replace(text.find("evening_peak_hour = 20"), 22, "evening_peak_hour = 20\nmax_seasonal_amplitude = 0.5");
  text = text.replace(text.find("[competitors]\n"), 14, "[competitors]\npacing_slope = 1.5\n");
  text = text.replace(text.find("[agent]\n"), 8, "[agent]\nmax_log_bid_multiplier = 4\n");
  const Priors edited = parse_priors(text, "edited.toml");
  EXPECT_EQ(edited.query_gap_min_minutes, 2.0);
  EXPECT_EQ(edited.query_gap_max_minutes, 7.5);
  EXPECT_EQ(edited.max_seasonal_amplitude, 0.5);
  EXPECT_EQ(edited.pacing_slope, 1.5);
  EXPECT_EQ(edited.max_log_bid_multiplier, 4.0);
}

TEST(PriorsModelConstants, ImpossibleValuesAreRefused) {
  expect_refused("device_concentration = 60",
                 "device_concentration = 60\nquery_gap_min_minutes = 3\nquery_gap_max_minutes = 2",
                 "'population.query_gap_max_minutes' must be above query_gap_min_minutes (3.000000)", 2);
  expect_refused("evening_peak_hour = 20", "evening_peak_hour = 20\nmax_seasonal_amplitude = 1.2",
                 "'time.max_seasonal_amplitude' = 1.2 is out of range: must be in [0, 0.99]", 1);
  expect_refused("[agent]\n", "[agent]\nmax_log_bid_multiplier = 0\n",
                 "'agent.max_log_bid_multiplier' = 0 is out of range: must be in (0, 30]", 1);
  expect_refused("[competitors]\n", "[competitors]\npacing_slope = -1\n",
                 "'competitors.pacing_slope' = -1 is out of range: must be >= 0", 1);
}

TEST(PriorsErrors, ValidEditsAreAccepted) {
  // The refusals above are not over-eager: edits that keep the file valid parse, and change what they say.
  const Priors more_slots = parse_priors(
      mutated("slots = 3\nposition_ctr = [1.0, 0.6, 0.38]", "slots = 4\nposition_ctr = [1.0, 0.6, 0.38, 0.2]"),
      "edited.toml");
  EXPECT_EQ(more_slots.slots, 4);
  const Priors constant_reserve = parse_priors(
      mutated("reserve_price = { dist = \"lognormal\", median = 0.25, sigma = 0.3 }", "reserve_price = 0.4"),
      "edited.toml");
  EXPECT_EQ(constant_reserve.reserve_price.kind, Distribution::Kind::constant);
  EXPECT_DOUBLE_EQ(constant_reserve.reserve_price.a, 0.4);
  const Priors explicit_constant =
      parse_priors(mutated("reserve_price = { dist = \"lognormal\", median = 0.25, sigma = 0.3 }",
                           "reserve_price = { dist = \"constant\", value = 0.3 }"),
                   "edited.toml");
  EXPECT_DOUBLE_EQ(explicit_constant.reserve_price.a, 0.3);
}

}  // namespace
}  // namespace manyworlds
