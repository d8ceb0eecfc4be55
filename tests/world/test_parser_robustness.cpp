// The job and priors parsers on the fuzzing corpus and on the inputs fuzzing found: a result or an InputError, never a
// crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "manyworlds/core/config.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/toml_reader.hpp"
#include "manyworlds/world/priors.hpp"

namespace manyworlds {
namespace {

const std::filesystem::path fuzz_dir = std::filesystem::path(MANYWORLDS_SOURCE_DIR) / "fuzz";

// Parses every file of a corpus folder; anything but success or InputError fails the test.
template <class Parse>
int parse_folder(const std::filesystem::path& folder, Parse parse) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    ++files;
    const std::string text = read_text_file(entry.path().string());
    try {
      parse(text, entry.path().filename().string());
    } catch (const InputError&) {
    }
  }
  return files;
}

TEST(ParserRobustness, SeedCorpusOfJobsParsesOrFailsCleanly) {
  EXPECT_GE(
      parse_folder(fuzz_dir / "corpus" / "job", [](const std::string& t, const std::string& f) { parse_job(t, f); }),
      5);
}

TEST(ParserRobustness, SeedCorpusOfPriorsParsesOrFailsCleanly) {
  EXPECT_GE(parse_folder(fuzz_dir / "corpus" / "priors",
                         [](const std::string& t, const std::string& f) { parse_priors(t, f); }),
            1);
}

// Inputs fuzzing found crashes with (fuzz/regressions/): each now parses or is refused with an InputError.
TEST(ParserRobustness, InputsThatCrashedOnceFailCleanly) {
  const auto job = [](const std::string& t, const std::string& f) { parse_job(t, f); };
  const auto priors = [](const std::string& t, const std::string& f) { parse_priors(t, f); };
  EXPECT_GE(parse_folder(fuzz_dir / "regressions" / "job", job), 2);
  EXPECT_GE(parse_folder(fuzz_dir / "regressions" / "priors", priors), 1);
}

// Found by fuzz/fuzz_job: toml11 3.7 reads out of bounds reporting invalid UTF-8 in a literal-string key.
TEST(ParserRobustness, InvalidUtf8IsRefusedBeforeToml11SeesIt) {
  const std::string text =
      read_text_file((fuzz_dir / "regressions" / "job" / "invalid-utf8-literal-string-key").string());
  try {
    parse_job(text, "bad.toml");
    FAIL() << "accepted";
  } catch (const InputError& error) {
    EXPECT_STREQ(error.what(), "bad.toml:1: not valid UTF-8 (byte 1); TOML files must be UTF-8");
  }
  EXPECT_THROW(parse_job("[run]\nname = \"\xC0\xAF\"\n", "overlong.toml"), InputError);
  EXPECT_THROW(parse_job("[run]\nname = \"\xED\xA0\x80\"\n", "surrogate.toml"), InputError);
  const JobConfig job = parse_job(
      "[run]\nname = \"Z\xC3\xBCrich \xF0\x9F\x8C\x8D\"\nworlds = 4\n[world]\npriors = 'p.toml'\n", "utf8.toml");
  EXPECT_EQ(job.run.name, "Z\xC3\xBCrich \xF0\x9F\x8C\x8D");
}

// Found by fuzz/fuzz_job: toml11 recursed once per nesting level until the stack overflowed.
TEST(ParserRobustness, DeeplyNestedArraysAreRefusedNotAStackOverflow) {
  const std::string text = "[run]\nworlds = " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  try {
    parse_job(text, "deep.toml");
    FAIL() << "accepted";
  } catch (const InputError& error) {
    EXPECT_STREQ(error.what(), "deep.toml:2: arrays or inline tables nested deeper than 64 levels; flatten them");
  }
}

TEST(ParserRobustness, DeeplyNestedInlineTablesAreRefusedInPriorsToo) {
  const std::string text = "a = " + std::string(100000, '{') + std::string(100000, '}') + "\n";
  EXPECT_THROW(parse_priors(text, "deep-priors.toml"), InputError);
}

TEST(ParserRobustness, BracketsInsideStringsAndCommentsDoNotCount) {
  const std::string brackets(200, '[');
  const std::string text =
      "# " + brackets + "\n[run]\nname = \"" + brackets + "\"\nworlds = 4\n[world]\npriors = '''" + brackets + "'''\n";
  const JobConfig job = parse_job(text, "strings.toml");
  EXPECT_EQ(job.run.name, brackets);
  EXPECT_EQ(job.world.priors, brackets);
}

}  // namespace
}  // namespace manyworlds
