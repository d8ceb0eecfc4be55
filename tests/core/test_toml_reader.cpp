// Tests of the checked TOML reader: typed and ranged reads, one-line errors with file:line, nearest-key hints.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/toml_reader.hpp"

namespace manyworlds {
namespace {

// Runs `body`, expects an InputError, and returns its message (empty if none was thrown).
template <class Body>
std::string input_error_of(Body body) {
  try {
    body();
  } catch (const InputError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    EXPECT_EQ(error.code(), ExitCode::invalid_input);
    return message;
  }
  ADD_FAILURE() << "no InputError thrown";
  return "";
}

const std::string sample_text =
    "# a comment\n"                     // line 1
    "name = \"demo\"\n"                 // 2
    "count = 12\n"                      // 3
    "ratio = 0.25\n"                    // 4
    "flag = true\n"                     // 5
    "widths = [1, 2.5, 3]\n"            // 6
    "words = [\"a\", \"b\"]\n"          // 7
    "\n"                                // 8
    "[zeta]\n"                          // 9
    "x = 1\n"                           // 10
    "\n"                                // 11
    "[alpha]\n"                         // 12
    "mode = \"fast\"\n"                 // 13
    "inner = { low = 1, high = 2 }\n";  // 14

class TomlSample : public ::testing::Test {
 protected:
  toml::value document = parse_toml_text(sample_text, "sample.toml");
  TomlTable root{document, "sample.toml", ""};
};

TEST(TomlEditDistance, CountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("seed", "seed"), 0u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("sitting", "kitten"), 3u);
  EXPECT_EQ(edit_distance("seeed", "seed"), 1u);     // one deletion
  EXPECT_EQ(edit_distance("sed", "seed"), 1u);       // one insertion
  EXPECT_EQ(edit_distance("worlds", "wordls"), 2u);  // a transposition costs two edits
  EXPECT_EQ(edit_distance("flaw", "lawn"), 2u);
  EXPECT_EQ(edit_distance("batch_size", "minibatch_size"), 4u);
}

TEST_F(TomlSample, ReadsTypedValues) {
  EXPECT_EQ(root.string("name"), "demo");
  EXPECT_EQ(root.integer("count", 0, 100), 12);
  EXPECT_EQ(root.number("count"), 12.0);  // an integer is a number too
  EXPECT_EQ(root.number("ratio", positive), 0.25);
  EXPECT_TRUE(root.boolean("flag", false));
  EXPECT_EQ(root.numbers("widths"), (std::vector<double>{1, 2.5, 3}));
  EXPECT_EQ(root.strings("words", {}), (std::vector<std::string>{"a", "b"}));
  // Fallbacks for absent keys.
  EXPECT_EQ(root.number("absent", 7.5), 7.5);
  EXPECT_EQ(root.integer("absent_int", 9, 0, 10), 9);
  EXPECT_FALSE(root.boolean("absent_flag", false));
  EXPECT_EQ(root.string("absent_name", "x"), "x");
  EXPECT_EQ(root.strings("absent_words", {"z"}), std::vector<std::string>{"z"});
  EXPECT_TRUE(root.has("name"));
  EXPECT_FALSE(root.has("nothing"));
  EXPECT_TRUE(root.is_table("alpha"));
  EXPECT_FALSE(root.is_table("name"));
  EXPECT_FALSE(root.optional_table("missing_table").has_value());
  const TomlTable alpha = root.table("alpha");
  EXPECT_EQ(alpha.choice("mode", "slow", {"slow", "fast"}), "fast");
  EXPECT_EQ(alpha.qualified("mode"), "alpha.mode");
  EXPECT_EQ(alpha.table("inner").qualified("low"), "alpha.inner.low");
  EXPECT_EQ(root.qualified("name"), "name");
}

TEST_F(TomlSample, KeysComeInFileOrder) {
  EXPECT_EQ(root.keys(),
            (std::vector<std::string>{"name", "count", "ratio", "flag", "widths", "words", "zeta", "alpha"}));
}

TEST_F(TomlSample, TypeErrorsNameFileLineKeyAndFoundType) {
  EXPECT_EQ(input_error_of([&] { root.number("name"); }), "sample.toml:2: 'name' must be a number, found a string");
  EXPECT_EQ(input_error_of([&] { root.integer("ratio", 0, 10); }),
            "sample.toml:4: 'ratio' must be an integer, found a float");
  EXPECT_EQ(input_error_of([&] { root.boolean("count", false); }),
            "sample.toml:3: 'count' must be true or false, found an integer");
  EXPECT_EQ(input_error_of([&] { root.string("flag"); }), "sample.toml:5: 'flag' must be a string, found a boolean");
  EXPECT_EQ(input_error_of([&] { root.numbers("name"); }),
            "sample.toml:2: 'name' must be an array of numbers, found a string");
  EXPECT_EQ(input_error_of([&] { root.strings("widths", {}); }),
            "sample.toml:6: 'widths' must contain only strings, found an integer");
  EXPECT_EQ(input_error_of([&] { root.table("count"); }), "sample.toml:3: 'count' must be a table, found an integer");
  const TomlTable alpha = root.table("alpha");
  EXPECT_EQ(input_error_of([&] {
              alpha.choice("mode", "slow", {"slow", "steady"});
            }),
            "sample.toml:13: 'alpha.mode' = 'fast' is not one of 'slow', 'steady'");
}

TEST_F(TomlSample, RangeErrorsStateTheAllowedRange) {
  EXPECT_EQ(input_error_of([&] { root.integer("count", 0, 10); }),
            "sample.toml:3: 'count' = 12 is out of range: must be in [0, 10]");
  EXPECT_EQ(input_error_of([&] {
              root.number("ratio", Bounds{0.5, 1.0});
            }),
            "sample.toml:4: 'ratio' = 0.25 is out of range: must be in [0.5, 1]");
  EXPECT_EQ(input_error_of([&] {
              root.number("ratio", Bounds{0.25, 1.0, true});
            }),
            "sample.toml:4: 'ratio' = 0.25 is out of range: must be in (0.25, 1]");
  EXPECT_EQ(input_error_of([&] {
              root.number("count", Bounds{-1.0, 3.0});
            }),
            "sample.toml:3: 'count' = 12 is out of range: must be in [-1, 3]");
  EXPECT_EQ(input_error_of([&] {
              root.numbers("widths", Bounds{0.0, 2.0});
            }),
            "sample.toml:6: 'widths' = 2.5 is out of range: must be in [0, 2]");
  // Exactly at an inclusive bound is fine; at an exclusive one is not.
  EXPECT_EQ(root.number("ratio", Bounds{0.25, 0.25}), 0.25);
  EXPECT_NE(input_error_of([&] {
              root.number("ratio", Bounds{0.25, 2.0, true});
            }).find("must be in (0.25, 2]"),
            std::string::npos);
  // One-sided bounds.
  EXPECT_NE(input_error_of([&] { root.number("ratio", Bounds{1.0}); }).find("must be >= 1"), std::string::npos);
  const toml::value negative = parse_toml_text("v = -0.5\n", "neg.toml");
  const TomlTable table(negative, "neg.toml", "");
  EXPECT_EQ(input_error_of([&] { table.number("v", positive); }),
            "neg.toml:1: 'v' = -0.5 is out of range: must be > 0");
  EXPECT_EQ(input_error_of([&] { table.number("v", non_negative); }),
            "neg.toml:1: 'v' = -0.5 is out of range: must be >= 0");
  EXPECT_EQ(table.number("v", Bounds{-1.0, 0.0}), -0.5);
}

TEST_F(TomlSample, NonFiniteNumbersAreRefused) {
  const toml::value document2 = parse_toml_text("a = inf\nb = nan\n", "nf.toml");
  const TomlTable table(document2, "nf.toml", "");
  EXPECT_NE(input_error_of([&] { table.number("a"); }).find("'a' = inf is out of range"), std::string::npos);
  EXPECT_NE(input_error_of([&] { table.number("b"); }).find("'b' = nan is out of range"), std::string::npos);
}

TEST_F(TomlSample, MissingKeysNameTheirTable) {
  const TomlTable alpha = root.table("alpha");
  // A missing key is reported at its table's header line.
  EXPECT_EQ(input_error_of([&] { alpha.number("speed"); }),
            "sample.toml:12: 'alpha.speed' is missing; add it to the [alpha] table");
  EXPECT_EQ(input_error_of([&] { root.table("beta"); }),
            "sample.toml:1: 'beta' is missing; add it at the top level of the file");
}

TEST_F(TomlSample, FinishNamesTheNearestKnownKey) {
  const TomlTable alpha = root.table("alpha");
  (void)alpha.string("mode");
  EXPECT_EQ(input_error_of([&] { alpha.finish(); }),
            "sample.toml:14: 'alpha.inner' is not a valid key; did you mean 'alpha.mode'?");
  (void)alpha.has("inner");
  EXPECT_NO_THROW(alpha.finish());  // every key has now been asked for

  // Keys asked for but absent still count as known (so the hint can name an optional key).
  const TomlTable zeta = root.table("zeta");
  (void)zeta.number("y", 0.0);
  (void)zeta.number("xxxx", 0.0);
  EXPECT_EQ(input_error_of([&] { zeta.finish(); }),
            "sample.toml:10: 'zeta.x' is not a valid key; did you mean 'zeta.y'?");  // 1 edit from 'y', 3 from 'xxxx'

  const toml::value doc = parse_toml_text("[empty]\nstray = 1\n", "e.toml");
  const TomlTable top(doc, "e.toml", "");
  const TomlTable empty = top.table("empty");
  EXPECT_EQ(input_error_of([&] { empty.finish(); }),
            "e.toml:2: 'empty.stray' is not a valid key; this table takes no keys");
}

TEST(TomlParse, SyntaxErrorsNameFileAndLine) {
  const std::string message = input_error_of([] { parse_toml_text("a = 1\nb = = 2\n", "broken.toml"); });
  EXPECT_EQ(message.rfind("broken.toml:2: TOML syntax error: ", 0), 0u) << message;
  const std::string duplicate = input_error_of([] { parse_toml_text("a = 1\nc = 2\na = 3\n", "dup.toml"); });
  EXPECT_EQ(duplicate.rfind("dup.toml:", 0), 0u) << duplicate;
  EXPECT_NE(duplicate.find("TOML syntax error"), std::string::npos) << duplicate;
}

TEST(TomlParse, ATableMustBeATable) {
  const toml::value document = parse_toml_text("x = 3\n", "t.toml");
  EXPECT_EQ(input_error_of([&] { TomlTable(document.at("x"), "t.toml", "x"); }),
            "t.toml:1: 'x' must be a table, found an integer");
}

TEST(TomlParse, UnreadableFilesAreInputErrors) {
  const std::string message = input_error_of([] { read_text_file("/nonexistent/dir/job.toml"); });
  EXPECT_EQ(message, "/nonexistent/dir/job.toml: cannot open the file (does it exist and is it readable?)");
  EXPECT_NE(read_text_file(MANYWORLDS_SOURCE_DIR "/jobs/quickstart.toml").find("[run]"), std::string::npos);
}

}  // namespace
}  // namespace manyworlds
