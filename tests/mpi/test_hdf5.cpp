// Tests of the HDF5 wrapper under mpirun: collective writes at exclusive-scan offsets, growth, attributes, errors.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/partition.hpp"
#include "manyworlds/io/hdf5.hpp"

namespace manyworlds {
namespace {

namespace fs = std::filesystem;

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int world_size() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

std::int64_t sum_over_ranks(std::int64_t value) {
  std::int64_t total = 0;
  MPI_Allreduce(&value, &total, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  return total;
}

std::int64_t exclusive_scan(std::int64_t value) {
  std::int64_t below = 0;
  MPI_Exscan(&value, &below, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  return world_rank() == 0 ? 0 : below;  // MPI leaves rank 0's result undefined
}

// A path for this test's file, the same on every rank: under $MANYWORLDS_TEST_TMP (created by
// rank 0) or the system's temporary directory, named after the rank count, rank 0's process id
// and the test, so concurrent runs never share a file. Rank 0 deletes it when the test ends.
class Hdf5Mpi : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* configured = std::getenv("MANYWORLDS_TEST_TMP");
    const fs::path directory =
        configured != nullptr && *configured != '\0' ? fs::path(configured) : fs::temp_directory_path();
    if (world_rank() == 0) fs::create_directories(directory);
    long pid = static_cast<long>(::getpid());
    MPI_Bcast(&pid, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ =
        (directory / ("hdf5_" + std::to_string(world_size()) + "ranks_" + std::to_string(pid) + "_" + info->name()))
            .string();
    MPI_Barrier(MPI_COMM_WORLD);
  }
  void TearDown() override {
    MPI_Barrier(MPI_COMM_WORLD);
    if (world_rank() == 0) {
      for (const std::string& path : files_) fs::remove(path);
    }
  }
  std::string file(const std::string& name) {
    files_.push_back(prefix_ + "_" + name);
    return files_.back();
  }

 private:
  std::string prefix_;
  std::vector<std::string> files_;
};

void expect_collective(const h5::TransferReport& report, const std::string& what) {
  EXPECT_TRUE(report.parallel) << what;
  EXPECT_EQ(report.local_cause, 0u) << what << ": " << h5::describe_no_collective_cause(report.local_cause);
  EXPECT_EQ(report.global_cause, 0u) << what << ": " << h5::describe_no_collective_cause(report.global_cause);
  EXPECT_TRUE(report.collective()) << what;
}

// The value of element `j` of global row `row`, exact in every element type used here.
template <class T>
T value_of(std::uint64_t row, std::uint64_t j, std::uint64_t salt) {
  const std::uint64_t code = (row * 31 + j * 7 + salt * 5) % 101;
  if constexpr (std::is_floating_point_v<T>)
    return static_cast<T>(static_cast<double>(code) * 0.25 - 12.5);
  else if constexpr (std::is_signed_v<T>)
    return static_cast<T>(static_cast<std::int64_t>(code) - 50);
  else
    return static_cast<T>(code);
}

std::uint64_t row_size_of(const h5::Dims& inner) {
  std::uint64_t size = 1;
  for (std::uint64_t extent : inner) size *= extent;
  return size;
}

// Rows of global row ids [first, first + count), row-major.
template <class T>
std::vector<T> rows_of(std::uint64_t first, std::uint64_t count, std::uint64_t row_size, std::uint64_t salt) {
  std::vector<T> values;
  values.reserve(count * row_size);
  for (std::uint64_t row = first; row < first + count; ++row) {
    for (std::uint64_t j = 0; j < row_size; ++j) values.push_back(value_of<T>(row, j, salt));
  }
  return values;
}

// Uneven shares with a zero-row rank whenever there are at least two ranks.
std::uint64_t my_row_count() {
  const int rank = world_rank();
  return rank % 3 == 1 ? 0 : static_cast<std::uint64_t>(3 + 2 * rank);
}

// Every rank writes its rows of a dataset of shape (total, inner...) in one collective call.
template <class T>
void write_my_rows(const h5::Group& root, const std::string& name, const h5::Dims& inner, std::uint64_t salt,
                   const h5::DatasetOptions& options = {}) {
  const std::uint64_t mine = my_row_count();
  const auto total = static_cast<std::uint64_t>(sum_over_ranks(static_cast<std::int64_t>(mine)));
  const auto first = static_cast<std::uint64_t>(exclusive_scan(static_cast<std::int64_t>(mine)));
  h5::Dims dims{total};
  dims.insert(dims.end(), inner.begin(), inner.end());
  const h5::Dataset dataset = root.create_dataset<T>(name, dims, options);
  const std::vector<T> data = rows_of<T>(first, mine, row_size_of(inner), salt);
  expect_collective(dataset.write_rows<T>(first, mine, std::span<const T>(data)), name);
}

// Compares every value of the dataset with what write_my_rows wrote.
template <class T>
void expect_all_rows(const h5::Group& root, const std::string& name, const h5::Dims& inner, std::uint64_t salt) {
  const auto total = static_cast<std::uint64_t>(sum_over_ranks(static_cast<std::int64_t>(my_row_count())));
  const h5::Dataset dataset = root.open_dataset(name);
  EXPECT_EQ(dataset.dims().at(0), total) << name;
  EXPECT_EQ(dataset.read_all<T>(), rows_of<T>(0, total, row_size_of(inner), salt)) << name;
  const auto first = static_cast<std::uint64_t>(exclusive_scan(static_cast<std::int64_t>(my_row_count())));
  EXPECT_EQ(dataset.read_rows<T>(first, my_row_count()), rows_of<T>(first, my_row_count(), row_size_of(inner), salt))
      << name;
}

template <class Check>
void check_every_dataset(const h5::Group& root, Check&& check) {
  check(root, std::int8_t{}, "int8_1d", h5::Dims{}, 1);
  check(root, std::uint8_t{}, "uint8_2d", h5::Dims{5}, 2);
  check(root, std::int32_t{}, "int32_2d", h5::Dims{3}, 3);
  check(root, std::uint32_t{}, "uint32_1d", h5::Dims{}, 4);
  check(root, std::int64_t{}, "int64_2d", h5::Dims{2}, 5);
  check(root, float{}, "float32_3d", h5::Dims{2, 4}, 6);
  check(root, double{}, "float64_1d", h5::Dims{}, 7);
  check(root, double{}, "float64_3d", h5::Dims{3, 2}, 8);
}

TEST_F(Hdf5Mpi, RowsAtExclusiveScanOffsetsOf1D2D3DDatasetsReadBackExactly) {
  const std::string path = file("rows.h5");
  {
    h5::File out = h5::File::create_parallel(path, MPI_COMM_WORLD);
    EXPECT_TRUE(out.is_parallel());
    const h5::Group root = out.root();
    check_every_dataset(root, [](const h5::Group& group, auto type, const std::string& name, const h5::Dims& inner,
                                 std::uint64_t salt) { write_my_rows<decltype(type)>(group, name, inner, salt); });
    EXPECT_EQ(out.last_no_collective_cause(), 0u);
    EXPECT_TRUE(out.last_transfer().parallel);
  }
  {
    const h5::File in = h5::File::open_parallel(path, MPI_COMM_WORLD, false);
    check_every_dataset(in.root(),
                        [](const h5::Group& group, auto type, const std::string& name, const h5::Dims& inner,
                           std::uint64_t salt) { expect_all_rows<decltype(type)>(group, name, inner, salt); });
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) {  // the same bytes through the serial driver
    const h5::Group root = h5::File::open_read(path).root();
    const auto total = static_cast<std::uint64_t>(root.open_dataset("float32_3d").dims().at(0));
    EXPECT_EQ(root.open_dataset("float32_3d").read_all<float>(), rows_of<float>(0, total, 8, 6));
    EXPECT_EQ(root.open_dataset("int64_2d").read_all<std::int64_t>(), rows_of<std::int64_t>(0, total, 2, 5));
  }
}

TEST_F(Hdf5Mpi, RanksWithoutRowsStillTakePartAndTheWriteStaysCollective) {
  const std::string path = file("zero_rows.h5");
  const int rank = world_rank();
  const int last = world_size() - 1;
  {
    const h5::File out = h5::File::create_parallel(path, MPI_COMM_WORLD);
    const h5::Group root = out.root();
    const h5::Dataset one = root.create_dataset<double>("one_d", {6});
    const h5::Dataset two = root.create_dataset<std::int32_t>("two_d", {6, 3}, {.chunk = {2, 3}});
    const h5::Dataset three = root.create_dataset<float>("three_d", {6, 2, 2});
    // Only the last rank writes, everything.
    const std::vector<double> d1 = rows_of<double>(0, 6, 1, 1);
    const std::vector<std::int32_t> d2 = rows_of<std::int32_t>(0, 6, 3, 2);
    const std::vector<float> d3 = rows_of<float>(0, 6, 4, 3);
    expect_collective(one.write_rows<double>(0, rank == last ? 6 : 0, rank == last ? d1.data() : nullptr), "1-D");
    expect_collective(two.write_rows<std::int32_t>(0, rank == last ? 6 : 0, rank == last ? d2.data() : nullptr), "2-D");
    expect_collective(three.write_rows<float>(0, rank == last ? 6 : 0, rank == last ? d3.data() : nullptr), "3-D");
    // Nobody writes anything: still one collective call on every rank.
    expect_collective(one.write_rows<double>(0, 0, nullptr), "1-D, no rows anywhere");
    expect_collective(two.write_rows_at<std::int32_t>({6, 0}, {0, 3}, nullptr), "2-D block, no rows anywhere");
    EXPECT_EQ(one.read_all<double>(), d1);
    EXPECT_EQ(two.read_all<std::int32_t>(), d2);
    EXPECT_EQ(three.read_all<float>(), d3);
  }
}

TEST_F(Hdf5Mpi, DeflateWorksWithCollectiveWritesOfChunksSharedBetweenRanks) {
  const std::string path = file("deflate.h5");
  {
    const h5::File out = h5::File::create_parallel(path, MPI_COMM_WORLD);
    const h5::Group root = out.root();
    // Chunks of 5 rows: rank boundaries (3, 0, 7, 9 rows) fall inside chunks.
    write_my_rows<double>(root, "deflated_2d", {4}, 11,
                          {.max_dims = {h5::unlimited, 4}, .chunk = {5, 4}, .deflate = 6});
    write_my_rows<std::int32_t>(root, "deflated_3d", {2, 3}, 12,
                                {.max_dims = {h5::unlimited, 2, 3}, .chunk = {2, 2, 3}, .deflate = 1});
    write_my_rows<float>(root, "deflated_auto_chunks", {}, 13, {.deflate = 9});
  }
  {
    const h5::File in = h5::File::open_parallel(path, MPI_COMM_WORLD, false);
    expect_all_rows<double>(in.root(), "deflated_2d", {4}, 11);
    expect_all_rows<std::int32_t>(in.root(), "deflated_3d", {2, 3}, 12);
    expect_all_rows<float>(in.root(), "deflated_auto_chunks", {}, 13);
  }
}

// An (iterations, worlds) dataset grows by one row per iteration; each rank writes its block of
// worlds at a column offset. A batch dataset grows by every rank's rows of the iteration.
void grow_over_iterations(const std::string& path, int deflate) {
  constexpr std::int64_t worlds = 10;
  constexpr std::uint64_t iterations = 6;
  const IdRange mine = block_of(worlds, world_size(), world_rank());
  const auto w0 = static_cast<std::uint64_t>(mine.begin);
  const auto n = static_cast<std::uint64_t>(mine.size());
  auto batch_rows = [](int rank, std::uint64_t it) { return static_cast<std::uint64_t>((rank + 2 * it) % 4); };
  std::uint64_t batch_total = 0;
  {
    const h5::File out = h5::File::create_parallel(path, MPI_COMM_WORLD);
    const h5::Group root = out.root();
    const h5::Dataset returns =
        root.create_dataset<double>("returns", {0, static_cast<std::uint64_t>(worlds)},
                                    {.max_dims = {h5::unlimited, static_cast<std::uint64_t>(worlds)},
                                     .chunk = {1, static_cast<std::uint64_t>(worlds)},
                                     .deflate = deflate});
    const h5::Dataset batch = root.create_dataset<std::int64_t>(
        "batch", {0, 2}, {.max_dims = {h5::unlimited, 2}, .chunk = {8, 2}, .deflate = deflate});
    for (std::uint64_t it = 0; it < iterations; ++it) {
      returns.extend_rows(it + 1);
      std::vector<double> row(n);
      for (std::uint64_t w = 0; w < n; ++w) row[w] = value_of<double>(it, w0 + w, 21);
      expect_collective(returns.write_rows_at<double>({it, w0}, {1, n}, std::span<const double>(row)),
                        "returns iteration " + std::to_string(it));

      const std::uint64_t mine_rows = batch_rows(world_rank(), it);
      const auto total = static_cast<std::uint64_t>(sum_over_ranks(static_cast<std::int64_t>(mine_rows)));
      const std::uint64_t first =
          batch_total + static_cast<std::uint64_t>(exclusive_scan(static_cast<std::int64_t>(mine_rows)));
      batch.extend_rows(batch_total + total);
      const std::vector<std::int64_t> rows = rows_of<std::int64_t>(first, mine_rows, 2, 22);
      expect_collective(batch.write_rows<std::int64_t>(first, mine_rows, std::span<const std::int64_t>(rows)),
                        "batch iteration " + std::to_string(it));
      batch_total += total;
      out.flush();
    }
    EXPECT_EQ(returns.dims(), (h5::Dims{iterations, static_cast<std::uint64_t>(worlds)}));
    EXPECT_EQ(batch.dims(), (h5::Dims{batch_total, 2}));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const h5::File in = h5::File::open_parallel(path, MPI_COMM_WORLD, false);
  const std::vector<double> returns = in.root().open_dataset("returns").read_all<double>();
  EXPECT_EQ(returns.size(), iterations * static_cast<std::uint64_t>(worlds));
  for (std::uint64_t it = 0; it < iterations && returns.size() == iterations * worlds; ++it) {
    for (std::uint64_t w = 0; w < static_cast<std::uint64_t>(worlds); ++w) {
      EXPECT_EQ(returns[it * worlds + w], value_of<double>(it, w, 21)) << "iteration " << it << ", world " << w;
    }
  }
  EXPECT_EQ(in.root().open_dataset("batch").read_all<std::int64_t>(), rows_of<std::int64_t>(0, batch_total, 2, 22));
}

TEST_F(Hdf5Mpi, ExtendingWorksAcrossIterations) { grow_over_iterations(file("grow.h5"), 0); }

TEST_F(Hdf5Mpi, ExtendingWorksAcrossIterationsWithDeflate) { grow_over_iterations(file("grow_deflate.h5"), 4); }

void write_attributes(const h5::Object& object) {
  object.write_attribute("format", "manyworlds-output");
  object.write_attribute("version", 3);
  object.write_attribute("alpha", 0.6);
  object.write_attribute("segments", std::vector<std::string>{"crisis parent", "researcher", "Preis µ"});
  object.write_attribute("worlds", std::vector<std::int64_t>{0, 5, 10});
  object.write_attribute("probabilities", std::vector<double>{0.25, 0.75});
}

void expect_attributes(const h5::Object& object) {
  EXPECT_EQ(object.read_attribute<std::string>("format"), "manyworlds-output");
  EXPECT_EQ(object.read_attribute<std::int64_t>("version"), 3);
  EXPECT_EQ(object.read_attribute<double>("alpha"), 0.6);
  EXPECT_EQ(object.read_attribute<std::vector<std::string>>("segments"),
            (std::vector<std::string>{"crisis parent", "researcher", "Preis µ"}));
  EXPECT_EQ(object.read_attribute<std::vector<std::int64_t>>("worlds"), (std::vector<std::int64_t>{0, 5, 10}));
  EXPECT_EQ(object.read_attribute<std::vector<double>>("probabilities"), (std::vector<double>{0.25, 0.75}));
  EXPECT_EQ(object.read_attribute<std::string>("job"), "seed = 7\nworlds = 10\n");
}

TEST_F(Hdf5Mpi, AttributesRoundTripAndOverwritesReplace) {
  const std::string path = file("attributes.h5");
  {
    const h5::File out = h5::File::create_parallel(path, MPI_COMM_WORLD);
    const h5::Group root = out.root();
    const h5::Group group = root.create_group("config/world");
    const h5::Dataset dataset = group.create_dataset<float>("bids", {4});
    for (const h5::Object* object : {static_cast<const h5::Object*>(&root), static_cast<const h5::Object*>(&group),
                                     static_cast<const h5::Object*>(&dataset)}) {
      object->write_attribute("job", std::int64_t{1});  // replaced below by a string
      write_attributes(*object);
      object->write_attribute("job", "seed = 7\nworlds = 10\n");
      object->write_attribute("version", 2);
      object->write_attribute("version", 3);
      expect_attributes(*object);
    }
    dataset.set_units("USD");
    EXPECT_TRUE(root.exists("config/world/bids"));
    EXPECT_FALSE(root.exists("config/nothing/bids"));
  }
  {
    const h5::File in = h5::File::open_parallel(path, MPI_COMM_WORLD, false);
    expect_attributes(in.root());
    expect_attributes(in.root().open_group("config/world"));
    const h5::Dataset dataset = in.root().open_dataset("/config/world/bids");
    expect_attributes(dataset);
    EXPECT_EQ(dataset.read_attribute<std::string>("units"), "USD");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) expect_attributes(h5::File::open_read(path).root().open_group("config/world"));
}

TEST_F(Hdf5Mpi, NoObjectIsLeftOpenAfterAWriterIsDestroyed) {
  const std::string path = file("leaks.h5");
  h5::File out = h5::File::create_parallel(path, MPI_COMM_WORLD);
  {
    const h5::Group root = out.root();
    write_attributes(root);
    root.write_attribute("job", "x");
    const h5::Group group = root.create_group("g");
    EXPECT_THROW(expect_attributes(group), InputError);  // none there: the failed reads close what they opened
  }
  EXPECT_EQ(out.open_object_count(), 1);
  {
    const h5::Group root = out.root();
    write_my_rows<double>(root, "rows", {3}, 31, {.max_dims = {h5::unlimited, 3}, .deflate = 2});
    const h5::Dataset rows = root.open_dataset("rows");
    rows.set_units("1");
    rows.extend_rows(rows.dims()[0] + 2);
    EXPECT_GT(out.open_object_count(), 1);
  }
  EXPECT_EQ(out.open_object_count(), 1);
  EXPECT_NO_THROW(out.close());
}

TEST_F(Hdf5Mpi, ForeignAndTruncatedFilesAreRefusedWithInputErrorOnEveryRank) {
  const std::string foreign = file("foreign.h5");
  const std::string truncated = file("truncated.h5");
  if (world_rank() == 0) {
    std::ofstream(foreign) << "not hdf5";
    {
      const h5::File out = h5::File::create_serial(truncated);
      const h5::Dataset values = out.root().create_dataset<double>("values", {2000});
      (void)values.write_rows<double>(0, 2000, std::vector<double>(2000, 1.5).data());
    }
    fs::resize_file(truncated, fs::file_size(truncated) / 2);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  EXPECT_FALSE(h5::is_hdf5_file(foreign));
  EXPECT_FALSE(h5::is_hdf5_file(foreign + ".missing"));
  for (const std::string& path : {foreign, truncated}) {
    for (bool writable : {false, true}) {
      try {
        (void)h5::File::open_parallel(path, MPI_COMM_WORLD, writable);
        ADD_FAILURE() << "opened " << path;
      } catch (const InputError& error) {
        EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
        EXPECT_NE(std::string(error.what()).find(path == foreign ? "signature" : "truncated"), std::string::npos)
            << error.what();
      } catch (const std::exception& error) {
        ADD_FAILURE() << "wrong exception type: " << error.what();
      }
    }
    EXPECT_THROW((void)h5::File::open_read(path), InputError);
  }
  // The failed opens left nothing behind: a normal collective file still works.
  const h5::File out = h5::File::create_parallel(file("after.h5"), MPI_COMM_WORLD);
  write_my_rows<double>(out.root(), "rows", {}, 41);
}

TEST_F(Hdf5Mpi, ReadingWithAnotherElementTypeIsRefused) {
  const std::string path = file("wrong_type.h5");
  {
    const h5::File out = h5::File::create_parallel(path, MPI_COMM_WORLD);
    write_my_rows<float>(out.root(), "batch/obs", {2}, 51);
  }
  const h5::File in = h5::File::open_parallel(path, MPI_COMM_WORLD, false);
  const h5::Dataset obs = in.root().open_dataset("batch/obs");
  try {
    (void)obs.read_all<double>();
    ADD_FAILURE() << "read float32 as float64";
  } catch (const InputError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("/batch/obs"), std::string::npos) << message;
  }
  EXPECT_THROW((void)obs.read_rows<std::int32_t>(0, 0), InputError);
}

TEST_F(Hdf5Mpi, BadArgumentsOnOneRankMakeEveryRankThrowInsteadOfHanging) {
  const std::string path = file("bad_arguments.h5");
  const h5::File out = h5::File::create_parallel(path, MPI_COMM_WORLD);
  const h5::Dataset values = out.root().create_dataset<double>("values", {static_cast<std::uint64_t>(world_size())});
  const auto rank = static_cast<std::uint64_t>(world_rank());
  const bool culprit = world_rank() == world_size() - 1;
  const double value = 1.0 + static_cast<double>(rank);
  try {
    (void)values.write_rows<double>(culprit ? rank + 1 : rank, 1, &value);  // the last rank is out of range
    ADD_FAILURE() << "no exception";
  } catch (const RuntimeFailure& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(culprit ? "exceeds" : "another rank"), std::string::npos) << message;
  }
  // Nothing was written and the ranks are still in step.
  expect_collective(values.write_rows<double>(rank, 1, &value), "after a refused write");
  std::vector<double> expected(static_cast<std::size_t>(world_size()));
  for (std::size_t r = 0; r < expected.size(); ++r) expected[r] = 1.0 + static_cast<double>(r);
  EXPECT_EQ(values.read_all<double>(), expected);
}

TEST_F(Hdf5Mpi, IndependentReadsNeedNotInvolveEveryRank) {
  const std::string path = file("independent_reads.h5");
  {
    const h5::File out = h5::File::create_parallel(path, MPI_COMM_WORLD);
    write_my_rows<double>(out.root(), "chunked", {3}, 61,
                          {.max_dims = {h5::unlimited, 3}, .chunk = {2, 3}, .deflate = 3});
    write_my_rows<std::int32_t>(out.root(), "contiguous", {}, 62);
  }
  const h5::File in = h5::File::open_parallel(path, MPI_COMM_WORLD, false);
  const h5::Dataset chunked = in.root().open_dataset("chunked");
  const h5::Dataset contiguous = in.root().open_dataset("contiguous");
  const auto total = chunked.dims().at(0);
  if (world_rank() == 0) {
    EXPECT_EQ(chunked.read_all<double>(), rows_of<double>(0, total, 3, 61));
    EXPECT_EQ(contiguous.read_all<std::int32_t>(), rows_of<std::int32_t>(0, total, 1, 62));
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace
}  // namespace manyworlds
