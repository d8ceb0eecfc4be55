// StateRecord's checked reads and the streaming checksum behind checkpoints.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "manyworlds/core/checksum.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/state_record.hpp"

namespace manyworlds {
namespace {

std::string refusal(const std::function<void()>& read) {
  try {
    read();
  } catch (const InputError& error) {
    return error.what();
  }
  return "accepted";
}

TEST(StateRecord, ReadsBackWhatWasPut) {
  StateRecord record("x.checkpoint");
  record.put("w", std::vector<double>{1.5, -2.0});
  record.put_integer("step", 7);
  EXPECT_EQ(record.reals("w", {.size = 2}), (std::vector<double>{1.5, -2.0}));
  EXPECT_EQ(record.integer("step", 0, 10), 7);
  EXPECT_TRUE(record.has("w"));
  EXPECT_FALSE(record.has("v"));
}

TEST(StateRecord, RefusesMissingWrongSizeNonFiniteAndOutOfRangeFields) {
  StateRecord record("x.checkpoint");
  record.put("w", std::vector<double>{1.0, std::nan("")});
  record.put("v", std::vector<double>{-1.0});
  record.put_integer("step", -3);
  const std::string tail = "; the checkpoint is damaged or from another program: start anew with --force";
  EXPECT_EQ(refusal([&] { record.reals("missing", {}); }),
            "x.checkpoint: field 'missing' is missing (or not real-valued)" + tail);
  EXPECT_EQ(refusal([&] { record.reals("w", {.size = 3}); }),
            "x.checkpoint: field 'w' holds 2 values, this job needs 3" + tail);
  EXPECT_EQ(refusal([&] { record.reals("w", {.size = 2}); }), "x.checkpoint: field 'w' holds nan at index 1" + tail);
  EXPECT_EQ(refusal([&] { record.reals("v", {.min = 0.0}); }),
            "x.checkpoint: field 'v' holds -1 at index 0, below the minimum 0" + tail);
  EXPECT_EQ(refusal([&] { record.integer("step", 0, 5); }),
            "x.checkpoint: field 'step' holds -3, below the minimum 0" + tail);
  EXPECT_EQ(refusal([&] { record.integers("w", {}); }),
            "x.checkpoint: field 'w' is missing (or not an integer)" + tail);
}

TEST(Checksum, IsFnv1aAndIndependentOfHowTheBytesAreSplit) {
  Checksum whole;
  whole.add(std::string("manyworlds"));
  EXPECT_EQ(hex64(Checksum().value()), "cbf29ce484222325");  // the FNV-1a offset basis
  Checksum a;
  a.add(std::string("many"));
  Checksum b(a.value());
  b.add(std::string("worlds"));
  EXPECT_EQ(b.value(), whole.value());
  Checksum one;
  one.add(std::string("a"));
  EXPECT_EQ(hex64(one.value()), "af63dc4c8601ec8c");  // FNV-1a 64 of "a" (published test vector)
}

}  // namespace
}  // namespace manyworlds
