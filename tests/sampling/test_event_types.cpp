// Tests of event typing: keyword mask, precedence, the exact value percentile, precision and recall.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "manyworlds/core/collectives.hpp"
#include "manyworlds/core/config.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/experience.hpp"
#include "manyworlds/sampling/event_types.hpp"

namespace manyworlds {
namespace {

const std::vector<std::string> vocabulary{"family",    "crisis",   "price",        "urgent",
                                          "emergency", "research", "high_priority"};

bool typed_crisis(const Experience& e) { return e.event_type == static_cast<std::uint8_t>(EventType::crisis); }

Experience experience_with(bool truth, std::uint32_t tags, float value) {
  Experience e;
  e.flags = truth ? flag_crisis_truth : 0;
  e.tags = tags;
  e.conversion_value = value;
  e.event_type = static_cast<std::uint8_t>(EventType::regular);
  return e;
}

TEST(EventTyper, KeywordMaskHasTheBitOfEachConfiguredTag) {
  EventTypeSection config;  // keywords: crisis, urgent, emergency, high_priority
  const EventTyper typer(config, vocabulary);
  EXPECT_EQ(typer.keyword_mask(), (1u << 1) | (1u << 3) | (1u << 4) | (1u << 6));
  config.keywords = {};
  EXPECT_EQ(EventTyper(config, vocabulary).keyword_mask(), 0u);
}

TEST(EventTyper, UnknownKeywordIsAnInputErrorNamingItAndTheKnownTags) {
  EventTypeSection config;
  config.keywords = {"crisis", "panic"};
  try {
    EventTyper typer(config, vocabulary);
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("'panic'"), std::string::npos) << message;
    EXPECT_NE(message.find("sampling.events.keywords"), std::string::npos) << message;
    EXPECT_NE(message.find("high_priority"), std::string::npos) << message;
  }
}

// Every combination of (ground truth, keyword tag, value above the median), five times.
std::vector<Experience> all_combinations() {
  const std::uint32_t keyword_bit = 1u << 3;  // "urgent"
  const std::uint32_t other_bit = 1u << 5;    // "research": not a keyword
  std::vector<Experience> experiences;
  for (int copy = 0; copy < 5; ++copy)
    for (int combination = 0; combination < 8; ++combination) {
      const bool truth = (combination & 1) != 0;
      const bool keyword = (combination & 2) != 0;
      const bool high = (combination & 4) != 0;
      experiences.push_back(experience_with(truth, keyword ? keyword_bit | other_bit : other_bit,
                                            high ? 100.0f + static_cast<float>(copy) : 0.0f));
    }
  return experiences;
}

TEST(EventTyper, PrecedenceDecidesWhichSourceNamesACrisis) {
  using enum EventSource;
  struct Case {
    std::vector<EventSource> precedence;
    bool (*expected)(bool truth, bool keyword, bool high);
    const char* rule;
  };
  const std::vector<Case> cases{
      {{ground_truth}, [](bool t, bool, bool) { return t; }, "truth only"},
      {{keywords}, [](bool, bool k, bool) { return k; }, "keywords only"},
      {{value_percentile}, [](bool, bool, bool h) { return h; }, "value only"},
      {{ground_truth, keywords}, [](bool t, bool, bool) { return t; }, "truth first decides both ways"},
      {{keywords, ground_truth}, [](bool t, bool k, bool) { return k || t; }, "a keyword, else the truth"},
      {{keywords, value_percentile}, [](bool, bool k, bool h) { return k || h; }, "a keyword or a high value"},
      {{value_percentile, ground_truth, keywords},
       [](bool t, bool, bool h) { return h || t; },
       "a high value, else the truth (keywords never reached)"},
      {{keywords, value_percentile, ground_truth}, [](bool t, bool k, bool h) { return k || h || t; }, "any"},
  };
  for (const Case& c : cases) {
    EventTypeSection config;
    config.precedence = c.precedence;
    config.keywords = {"urgent"};
    config.value_percentile = 50.0;  // 20 of 40 values are 0, so the threshold is 0
    const EventTyper typer(config, vocabulary);
    auto experiences = all_combinations();
    SerialCollectives serial;
    typer.classify(experiences, serial);
    for (std::size_t i = 0; i < experiences.size(); ++i) {
      const Experience& e = experiences[i];
      const bool keyword = (e.tags & (1u << 3)) != 0;
      const bool high = e.conversion_value > 0.0f;
      EXPECT_EQ(typed_crisis(e), c.expected(e.crisis_truth(), keyword, high)) << c.rule << ", experience " << i;
    }
  }
}

// Values with many zeros and many ties, in a scrambled order.
std::vector<Experience> tied_values(int count) {
  static constexpr float levels[] = {0.5f, 1.25f, 1.25f, 3.0f, 7.5f, 7.5f, 7.5f, 1e6f, 0.0f, 3.0f};
  std::vector<Experience> experiences;
  for (int i = 0; i < count; ++i) {
    const int scrambled = (i * 37 + 11) % count;
    const float value = scrambled % 5 < 3 ? 0.0f : levels[(scrambled * 7) % 10];
    experiences.push_back(experience_with(false, 0, value));
  }
  return experiences;
}

TEST(GlobalValuePercentile, IsTheExactOrderStatisticOfASortedReference) {
  SerialCollectives serial;
  for (int count : {1, 7, 50, 97, 1000}) {
    const auto experiences = tied_values(count);
    std::vector<float> sorted;
    for (const Experience& e : experiences) sorted.push_back(e.conversion_value);
    std::sort(sorted.begin(), sorted.end());
    for (int percent = 0; percent <= 100; ++percent) {
      // Smallest v with at least percent% of values <= v: the k-th smallest, k = ceil(percent * count / 100) >= 1,
      // in exact integer arithmetic.
      const int k = std::max(1, (percent * count + 99) / 100);
      const float expected = sorted[static_cast<std::size_t>(k - 1)];
      const float found = global_value_percentile(experiences, percent, serial);
      EXPECT_EQ(std::bit_cast<std::uint32_t>(found), std::bit_cast<std::uint32_t>(expected))
          << percent << "% of " << count << ": " << found << " vs " << expected;
    }
  }
  // A fractional percentile: 99.5% of 1000 is the 995th smallest.
  const auto thousand = tied_values(1000);
  std::vector<float> sorted;
  for (const Experience& e : thousand) sorted.push_back(e.conversion_value);
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(global_value_percentile(thousand, 99.5, serial), sorted[994]);
  EXPECT_EQ(global_value_percentile(std::vector<Experience>{}, 90.0, serial), 0.0f);
}

TEST(GlobalValuePercentile, TopTenPercentOfDistinctValuesIsExactlyTenPercent) {
  std::vector<Experience> experiences;
  for (int i = 0; i < 50; ++i)
    experiences.push_back(experience_with(false, 0, static_cast<float>((i * 13) % 50) * 0.1f));
  EventTypeSection config;
  config.precedence = {EventSource::value_percentile};
  config.value_percentile = 90.0;
  const EventTyper typer(config, vocabulary);
  SerialCollectives serial;
  typer.classify(experiences, serial);
  EXPECT_EQ(std::count_if(experiences.begin(), experiences.end(), typed_crisis), 5);
  for (const Experience& e : experiences) EXPECT_EQ(typed_crisis(e), e.conversion_value > 44 * 0.1f);
}

TEST(EventTyper, CountsPrecisionAndRecallAgainstGroundTruth) {
  auto experiences = all_combinations();
  EventTypeSection config;
  config.precedence = {EventSource::keywords};
  config.keywords = {"urgent"};
  const EventTyper typer(config, vocabulary);
  SerialCollectives serial;
  const IdentificationCounts counts = typer.classify(experiences, serial);
  IdentificationCounts brute;
  for (const Experience& e : experiences) {
    const bool identified = typed_crisis(e);
    const bool truth = e.crisis_truth();
    brute.true_positive += identified && truth ? 1 : 0;
    brute.false_positive += identified && !truth ? 1 : 0;
    brute.false_negative += !identified && truth ? 1 : 0;
    brute.true_negative += !identified && !truth ? 1 : 0;
  }
  EXPECT_EQ(counts.true_positive, brute.true_positive);
  EXPECT_EQ(counts.false_positive, brute.false_positive);
  EXPECT_EQ(counts.false_negative, brute.false_negative);
  EXPECT_EQ(counts.true_negative, brute.true_negative);
  // Keywords are independent of truth here: 10 of each of the four cells.
  EXPECT_EQ(counts.true_positive, 10);
  EXPECT_EQ(counts.true_negative, 10);
  EXPECT_DOUBLE_EQ(counts.precision(), 0.5);
  EXPECT_DOUBLE_EQ(counts.recall(), 0.5);

  const IdentificationCounts nothing_identified{0, 0, 4, 6};
  EXPECT_DOUBLE_EQ(nothing_identified.precision(), 1.0);
  EXPECT_DOUBLE_EQ(nothing_identified.recall(), 0.0);
  const IdentificationCounts nothing_to_find{0, 3, 0, 6};
  EXPECT_DOUBLE_EQ(nothing_to_find.precision(), 0.0);
  EXPECT_DOUBLE_EQ(nothing_to_find.recall(), 1.0);
  const IdentificationCounts mixed{6, 2, 3, 9};
  EXPECT_DOUBLE_EQ(mixed.precision(), 6.0 / 8.0);
  EXPECT_DOUBLE_EQ(mixed.recall(), 6.0 / 9.0);
}

}  // namespace
}  // namespace manyworlds
