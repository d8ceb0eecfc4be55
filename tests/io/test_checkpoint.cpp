// Checkpoint files: round trip of the learner record and digests, refusal of damaged ones, digests and rewinding of an
// output.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/io/checkpoint.hpp"
#include "manyworlds/io/hdf5.hpp"

namespace manyworlds {
namespace {

class CheckpointFile : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() / ("manyworlds_checkpoint_" + std::to_string(::getpid()));
    std::filesystem::create_directories(folder_);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }
  std::string path(const std::string& name) const { return (folder_ / name).string(); }

  // An "output" with a growable dataset of `rows` rows (values 0, 1, ...) and a fixed one.
  void write_output(const std::string& file, std::uint64_t rows) const {
    h5::File out = h5::File::create_serial(file);
    {
      h5::DatasetOptions growable;
      growable.max_dims = {h5::unlimited, 3};
      growable.chunk = {1, 3};
      const h5::Dataset grow = out.root().create_dataset<double>("metrics/x", {rows, 3}, growable);
      std::vector<double> values(rows * 3);
      for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i);
      if (rows > 0) grow.write_rows<double>(0, rows, std::span<const double>(values));
      out.root()
          .create_dataset<std::int32_t>("worlds/id", {2})
          .write_rows<std::int32_t>(0, 2, std::vector<std::int32_t>{4, 5}.data());
    }
    out.close();
  }

  CheckpointState state_for(const std::string& output, std::int64_t next) const {
    CheckpointState state;
    state.fingerprint = "job text";
    state.next_iteration = next;
    state.learner.put("policy_parameters", std::vector<double>{0.5, -1.5});
    state.learner.put_integer("adam_step", 12);
    state.output = digest_output(output, {});
    return state;
  }

  std::filesystem::path folder_;
};

TEST_F(CheckpointFile, RoundTripsTheLearnerRecordAndTheDigests) {
  write_output(path("out.partial"), 4);
  const CheckpointState written = state_for(path("out.partial"), 4);
  write_checkpoint(path("out.checkpoint"), written);
  EXPECT_FALSE(std::filesystem::exists(path("out.checkpoint.tmp")));
  const CheckpointState read = read_checkpoint(path("out.checkpoint"), {"job text", 10});
  EXPECT_EQ(read.next_iteration, 4);
  EXPECT_EQ(read.learner.reals("policy_parameters", {.size = 2}), (std::vector<double>{0.5, -1.5}));
  EXPECT_EQ(read.learner.integer("adam_step", 0, 100), 12);
  ASSERT_EQ(read.output.size(), 2u);
  EXPECT_EQ(read.output[0].path, "/metrics/x");
  EXPECT_EQ(read.output[0].rows, 4u);
  EXPECT_TRUE(read.output[0].growable);
  EXPECT_EQ(read.output[1].path, "/worlds/id");
  EXPECT_FALSE(read.output[1].growable);
  EXPECT_EQ(read.output[0].checksum, written.output[0].checksum);
  verify_output(path("out.partial"), path("out.checkpoint"), read.output);
}

TEST_F(CheckpointFile, EveryFlippedByteIsFound) {
  write_output(path("out.partial"), 4);
  write_checkpoint(path("out.checkpoint"), state_for(path("out.partial"), 4));
  const auto size = std::filesystem::file_size(path("out.checkpoint"));
  std::string original(size, '\0');
  std::ifstream(path("out.checkpoint"), std::ios::binary).read(original.data(), static_cast<std::streamsize>(size));
  for (std::size_t offset = 0; offset < size; offset += size / 97 + 1) {
    std::string damaged = original;
    damaged[offset] = static_cast<char>(damaged[offset] ^ 0x40);
    std::ofstream(path("out.checkpoint"), std::ios::binary).write(damaged.data(), static_cast<std::streamsize>(size));
    EXPECT_THROW(read_checkpoint(path("out.checkpoint"), {"job text", 10}), InputError) << "offset " << offset;
  }
}

TEST_F(CheckpointFile, RefusesAnotherJobAndIterationsOutsideTheJob) {
  write_output(path("out.partial"), 4);
  write_checkpoint(path("out.checkpoint"), state_for(path("out.partial"), 4));
  EXPECT_THROW(read_checkpoint(path("out.checkpoint"), {"other job", 10}), InputError);
  EXPECT_THROW(read_checkpoint(path("out.checkpoint"), {"job text", 4}), InputError);  // next_iteration must be < 4
  write_checkpoint(path("out.checkpoint"), state_for(path("out.partial"), 3));         // 4 rows after 3 iterations
  EXPECT_THROW(read_checkpoint(path("out.checkpoint"), {"job text", 10}), InputError);
}

TEST_F(CheckpointFile, DigestsCarryOnAndRewindCutsBackToTheCheckpoint) {
  write_output(path("out.partial"), 6);
  const std::vector<DatasetDigest> at_four = digest_output(path("out.partial"), {});
  write_output(path("short.partial"), 4);
  const std::vector<DatasetDigest> four_rows = digest_output(path("short.partial"), {});
  std::vector<DatasetDigest> claimed = four_rows;
  rewind_output(path("out.partial"), claimed);
  verify_output(path("out.partial"), path("out.checkpoint"), claimed);
  const std::vector<DatasetDigest> carried = digest_output(path("out.partial"), four_rows);
  EXPECT_EQ(carried[0].rows, 4u);
  EXPECT_EQ(carried[0].checksum, four_rows[0].checksum);
  EXPECT_NE(at_four[0].checksum, four_rows[0].checksum);  // 6 rows differ from 4
  write_output(path("other.partial"), 4);
  h5::File file = h5::File::open_writable_serial(path("other.partial"));
  file.root().open_dataset("metrics/x").write_rows<double>(3, 1, std::vector<double>{9, 9, 9}.data());
  file.close();
  EXPECT_THROW(verify_output(path("other.partial"), path("out.checkpoint"), claimed), InputError);
}

}  // namespace
}  // namespace manyworlds
