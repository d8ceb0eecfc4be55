// Tests of the HDF5 wrapper on serial (sec2) files: attributes, groups, datasets, errors, no leaks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/io/hdf5.hpp"

namespace manyworlds {
namespace {

namespace fs = std::filesystem;

class Hdf5Serial : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    directory_ =
        fs::temp_directory_path() / ("manyworlds_hdf5_" + std::to_string(::getpid()) + "_" + std::string(info->name()));
    fs::remove_all(directory_);
    fs::create_directories(directory_);
  }
  void TearDown() override { fs::remove_all(directory_); }
  std::string file(const std::string& name) const { return (directory_ / name).string(); }

  fs::path directory_;
};

// Expects `call` to throw exactly E with a one-line message containing every fragment.
template <class E, class Call>
void expect_error(Call&& call, const std::vector<std::string>& fragments) {
  try {
    call();
    ADD_FAILURE() << "no exception";
  } catch (const E& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    for (const std::string& fragment : fragments) EXPECT_NE(message.find(fragment), std::string::npos) << message;
  } catch (const std::exception& error) {
    ADD_FAILURE() << "wrong exception type: " << error.what();
  }
}

static_assert(h5::element_type_of<float>() == h5::ElementType::float32);
static_assert(h5::element_type_of<double>() == h5::ElementType::float64);
static_assert(h5::element_type_of<std::int8_t>() == h5::ElementType::int8);
static_assert(h5::element_type_of<std::uint8_t>() == h5::ElementType::uint8);
static_assert(h5::element_type_of<std::int32_t>() == h5::ElementType::int32);
static_assert(h5::element_type_of<std::uint32_t>() == h5::ElementType::uint32);
static_assert(h5::element_type_of<std::int64_t>() == h5::ElementType::int64);

void write_every_attribute_type(const h5::Object& object, const std::string& tag) {
  object.write_attribute("text", "Welt µ ✓ " + tag);
  object.write_attribute("empty_text", std::string());
  object.write_attribute("count", std::int64_t{-1234567890123});
  object.write_attribute("small", 7);  // an int, stored as int64
  object.write_attribute("ratio", 0.1 + 0.2);
  object.write_attribute("names", std::vector<std::string>{"crisis parent", "", "researcher " + tag});
  object.write_attribute("no_names", std::vector<std::string>{});
  object.write_attribute("ids", std::vector<std::int64_t>{-1, 0, 9'000'000'000});
  object.write_attribute("weights", std::vector<double>{1.5, -2.25, 1e-300});
  object.write_attribute("no_weights", std::vector<double>{});
}

void expect_every_attribute_type(const h5::Object& object, const std::string& tag) {
  EXPECT_EQ(object.read_attribute<std::string>("text"), "Welt µ ✓ " + tag);
  EXPECT_EQ(object.read_attribute<std::string>("empty_text"), "");
  EXPECT_EQ(object.read_attribute<std::int64_t>("count"), -1234567890123);
  EXPECT_EQ(object.read_attribute<std::int64_t>("small"), 7);
  EXPECT_EQ(object.read_attribute<double>("ratio"), 0.1 + 0.2);
  EXPECT_EQ(object.read_attribute<std::vector<std::string>>("names"),
            (std::vector<std::string>{"crisis parent", "", "researcher " + tag}));
  EXPECT_TRUE(object.read_attribute<std::vector<std::string>>("no_names").empty());
  EXPECT_EQ(object.read_attribute<std::vector<std::int64_t>>("ids"), (std::vector<std::int64_t>{-1, 0, 9'000'000'000}));
  EXPECT_EQ(object.read_attribute<std::vector<double>>("weights"), (std::vector<double>{1.5, -2.25, 1e-300}));
  EXPECT_TRUE(object.read_attribute<std::vector<double>>("no_weights").empty());
}

TEST_F(Hdf5Serial, AttributesRoundTripOnRootGroupsAndDatasets) {
  const std::string path = file("attributes.h5");
  {
    h5::File out = h5::File::create_serial(path);
    const h5::Group root = out.root();
    const h5::Group group = root.create_group("meta");
    const h5::Dataset dataset = group.create_dataset<double>("values", {4});
    write_every_attribute_type(root, "root");
    write_every_attribute_type(group, "group");
    write_every_attribute_type(dataset, "dataset");
    dataset.set_units("USD");
    expect_every_attribute_type(root, "root");  // readable while still open for writing
  }
  const h5::File in = h5::File::open_read(path);
  const h5::Group root = in.root();
  expect_every_attribute_type(root, "root");
  expect_every_attribute_type(root.open_group("meta"), "group");
  const h5::Dataset dataset = root.open_dataset("meta/values");
  expect_every_attribute_type(dataset, "dataset");
  EXPECT_EQ(dataset.read_attribute<std::string>("units"), "USD");
  EXPECT_TRUE(dataset.has_attribute("units"));
  EXPECT_FALSE(dataset.has_attribute("unit"));
}

TEST_F(Hdf5Serial, OverwritingAnAttributeReplacesIt) {
  const std::string path = file("overwrite.h5");
  {
    const h5::File out = h5::File::create_serial(path);
    const h5::Group root = out.root();
    root.write_attribute("iterations", std::int64_t{1});
    root.write_attribute("iterations", std::int64_t{2});  // same type and shape: in place
    root.write_attribute("label", "short");
    root.write_attribute("label", "a much longer label than before");
    root.write_attribute("list", std::vector<double>{1, 2, 3});
    root.write_attribute("list", std::vector<double>{4, 5, 6, 7, 8});  // other shape
    root.write_attribute("kind", std::int64_t{3});
    root.write_attribute("kind", "three");  // other type
    root.write_attribute("names", std::vector<std::string>{"a", "b"});
    root.write_attribute("names", std::vector<std::string>{});
  }
  const h5::Group root = h5::File::open_read(path).root();
  EXPECT_EQ(root.read_attribute<std::int64_t>("iterations"), 2);
  EXPECT_EQ(root.read_attribute<std::string>("label"), "a much longer label than before");
  EXPECT_EQ(root.read_attribute<std::vector<double>>("list"), (std::vector<double>{4, 5, 6, 7, 8}));
  EXPECT_EQ(root.read_attribute<std::string>("kind"), "three");
  EXPECT_TRUE(root.read_attribute<std::vector<std::string>>("names").empty());
}

TEST_F(Hdf5Serial, AttributeOfWrongKindOrShapeOrMissingIsInputError) {
  const std::string path = file("attribute_errors.h5");
  const h5::File out = h5::File::create_serial(path);
  const h5::Group group = out.root().create_group("g");
  group.write_attribute("text", "x");
  group.write_attribute("ids", std::vector<std::int64_t>{1, 2});
  group.write_attribute("ratio", 0.5);
  expect_error<InputError>([&] { (void)group.read_attribute<std::int64_t>("text"); }, {path, "/g", "'text'", "string"});
  expect_error<InputError>([&] { (void)group.read_attribute<std::int64_t>("ids"); }, {path, "/g", "2 values"});
  expect_error<InputError>([&] { (void)group.read_attribute<std::int64_t>("ratio"); }, {path, "floating point"});
  expect_error<InputError>([&] { (void)group.read_attribute<double>("missing"); }, {path, "/g", "'missing'"});
  expect_error<RuntimeFailure>([&] { group.write_attribute("nul", std::string("a\0b", 3)); }, {path, "NUL"});
  expect_error<RuntimeFailure>([&] { group.write_attribute("huge", std::uint64_t{1} << 63); }, {path, "'huge'"});
}

TEST_F(Hdf5Serial, GroupsAreCreatedWithIntermediatesAndFoundByExists) {
  const std::string path = file("groups.h5");
  const h5::File out = h5::File::create_serial(path);
  const h5::Group root = out.root();
  const h5::Group deep = root.create_group("a/b/c");
  EXPECT_EQ(deep.path(), "/a/b/c");
  EXPECT_EQ(deep.file_path(), path);
  const h5::Group b = root.open_group("/a/b");
  EXPECT_EQ(b.path(), "/a/b");
  EXPECT_EQ(b.open_group("c").path(), "/a/b/c");
  (void)b.create_dataset<float>("d/values", {3});  // intermediate group "d" too

  EXPECT_TRUE(root.exists("a"));
  EXPECT_TRUE(root.exists("/a/b/c"));
  EXPECT_TRUE(root.exists("a/b/d/values"));
  EXPECT_TRUE(b.exists("c"));
  EXPECT_TRUE(root.exists("/"));
  EXPECT_FALSE(root.exists("x"));
  EXPECT_FALSE(root.exists("a/x"));
  EXPECT_FALSE(root.exists("x/y/z"));              // missing intermediate: false, not an error
  EXPECT_FALSE(root.exists("a/b/d/values/more"));  // a dataset has no children
  EXPECT_FALSE(b.exists("a"));                     // relative to b

  expect_error<RuntimeFailure>([&] { (void)root.create_group("a/b"); }, {"create group", path, "/a/b"});
  expect_error<InputError>([&] { (void)root.open_group("a/nope"); }, {"open group", path, "/a/nope"});
  expect_error<InputError>([&] { (void)root.open_dataset("a/b/missing"); }, {"open dataset", path, "/a/b/missing"});
}

template <class T>
class Hdf5SerialTyped : public Hdf5Serial {};
using ElementTypes =
    ::testing::Types<float, double, std::int8_t, std::uint8_t, std::int32_t, std::uint32_t, std::int64_t>;
TYPED_TEST_SUITE(Hdf5SerialTyped, ElementTypes);

template <class T>
T value_at(std::size_t i, int salt) {
  if constexpr (std::is_floating_point_v<T>)
    return static_cast<T>(static_cast<double>(i) * 0.5 - 3.25 * salt);
  else
    return static_cast<T>((i * 7 + static_cast<std::size_t>(salt) * 13) % 100);
}

template <class T>
std::vector<T> make_values(std::size_t n, int salt) {
  std::vector<T> values(n);
  for (std::size_t i = 0; i < n; ++i) values[i] = value_at<T>(i, salt);
  return values;
}

TYPED_TEST(Hdf5SerialTyped, RowsOf1D2D3DDatasetsRoundTrip) {
  using T = TypeParam;
  const std::string path = this->file("typed.h5");
  const std::vector<h5::Dims> shapes = {{10}, {10, 3}, {10, 2, 4}};
  {
    const h5::File out = h5::File::create_serial(path);
    const h5::Group root = out.root();
    for (std::size_t s = 0; s < shapes.size(); ++s) {
      const h5::Dims& dims = shapes[s];
      const h5::Dataset dataset = root.create_dataset<T>("d" + std::to_string(s), dims);
      EXPECT_EQ(dataset.element_type(), h5::element_type_of<T>());
      EXPECT_EQ(dataset.dims(), dims);
      const std::size_t row = static_cast<std::size_t>(s == 0 ? 1 : (s == 1 ? 3 : 8));
      const std::vector<T> all = make_values<T>(10 * row, static_cast<int>(s));
      // Rows [0, 4) from a pointer, [4, 10) from a span, in the "wrong" order.
      const h5::TransferReport second = dataset.write_rows<T>(4, 6, std::span<const T>(all.data() + 4 * row, 6 * row));
      EXPECT_FALSE(second.parallel);
      EXPECT_EQ(second.global_cause, 0u);
      (void)dataset.write_rows<T>(0, 4, all.data());
      (void)dataset.write_rows<T>(0, 0, nullptr);  // nothing
      EXPECT_EQ(dataset.read_all<T>(), all);
    }
  }
  const h5::Group root = h5::File::open_read(path).root();
  for (std::size_t s = 0; s < shapes.size(); ++s) {
    const h5::Dataset dataset = root.open_dataset("d" + std::to_string(s));
    const std::size_t row = static_cast<std::size_t>(s == 0 ? 1 : (s == 1 ? 3 : 8));
    const std::vector<T> all = make_values<T>(10 * row, static_cast<int>(s));
    EXPECT_EQ(dataset.read_all<T>(), all);
    const std::vector<T> middle(all.begin() + static_cast<std::ptrdiff_t>(3 * row),
                                all.begin() + static_cast<std::ptrdiff_t>(8 * row));
    EXPECT_EQ(dataset.read_rows<T>(3, 5), middle);
    EXPECT_TRUE(dataset.read_rows<T>(10, 0).empty());
  }
}

TEST_F(Hdf5Serial, IterationRowsGrowAndAreWrittenAtColumnOffsets) {
  const std::string path = file("iterations.h5");
  constexpr std::uint64_t worlds = 7;
  constexpr std::uint64_t iterations = 5;
  auto expected = [](std::uint64_t it, std::uint64_t w) { return static_cast<double>(it * 100 + w) + 0.25; };
  for (int deflate : {0, 6}) {
    const std::string name = "returns_" + std::to_string(deflate);
    {
      h5::File out = h5::File::create_serial(path);
      {
        const h5::Dataset returns = out.root().create_dataset<double>(
            name, {0, worlds}, {.max_dims = {h5::unlimited, worlds}, .chunk = {1, worlds}, .deflate = deflate});
        returns.set_units("USD");
        EXPECT_EQ(returns.max_dims(), (h5::Dims{h5::unlimited, worlds}));
        for (std::uint64_t it = 0; it < iterations; ++it) {
          returns.extend_rows(it + 1);
          returns.extend_rows(it + 1);  // no-op
          // Two "ranks": worlds [0, 3) and [3, 7).
          for (const auto& [w0, n] : {std::pair<std::uint64_t, std::uint64_t>{3, 4}, {0, 3}}) {
            std::vector<double> row(n);
            for (std::uint64_t w = 0; w < n; ++w) row[w] = expected(it, w0 + w);
            (void)returns.write_rows_at<double>({it, w0}, {1, n}, std::span<const double>(row));
          }
        }
        EXPECT_EQ(returns.dims(), (h5::Dims{iterations, worlds}));
        expect_error<RuntimeFailure>([&] { returns.extend_rows(2); }, {"shrink", path, "/" + name});
      }
      out.close();  // reports failures the destructor could not
    }
    const h5::Dataset returns = h5::File::open_read(path).root().open_dataset(name);
    const std::vector<double> all = returns.read_all<double>();
    ASSERT_EQ(all.size(), iterations * worlds);
    for (std::uint64_t it = 0; it < iterations; ++it) {
      for (std::uint64_t w = 0; w < worlds; ++w) EXPECT_EQ(all[it * worlds + w], expected(it, w)) << it << "," << w;
    }
    EXPECT_EQ(returns.read_at<double>({2, 1}, {2, 3}),
              (std::vector<double>{expected(2, 1), expected(2, 2), expected(2, 3), expected(3, 1), expected(3, 2),
                                   expected(3, 3)}));
  }
}

TEST_F(Hdf5Serial, ReadingWithAnotherElementTypeIsInputError) {
  const std::string path = file("wrong_type.h5");
  {
    const h5::File out = h5::File::create_serial(path);
    const h5::Dataset values = out.root().create_dataset<double>("batch/values", {3});
    (void)values.write_rows<double>(0, 3, std::vector<double>{1, 2, 3}.data());
    (void)out.root().create_dataset<std::int32_t>("batch/ids", {3});
  }
  const h5::Group root = h5::File::open_read(path).root();
  const h5::Dataset values = root.open_dataset("batch/values");
  const h5::Dataset ids = root.open_dataset("batch/ids");
  expect_error<InputError>([&] { (void)values.read_all<float>(); }, {path, "/batch/values", "float64", "float32"});
  expect_error<InputError>([&] { (void)values.read_all<std::int64_t>(); }, {path, "/batch/values"});
  expect_error<InputError>([&] { (void)ids.read_rows<std::uint32_t>(0, 1); }, {path, "/batch/ids", "int32", "uint32"});
  expect_error<InputError>([&] { (void)ids.read_rows<std::int32_t>(2, 2); }, {path, "/batch/ids", "exceeds"});
  EXPECT_EQ(values.read_all<double>(), (std::vector<double>{1, 2, 3}));
}

TEST_F(Hdf5Serial, BadWritesAreRuntimeFailuresAndChangeNothing) {
  const std::string path = file("bad_writes.h5");
  const h5::File out = h5::File::create_serial(path);
  const h5::Dataset values = out.root().create_dataset<float>("values", {4, 2});
  const std::vector<float> zeros(8, 0.0f);
  (void)values.write_rows<float>(0, 4, zeros.data());
  const std::vector<float> data(8, 1.0f);
  expect_error<RuntimeFailure>([&] { (void)values.write_rows<double>(0, 1, std::vector<double>(2).data()); },
                               {path, "/values", "float32", "float64"});
  expect_error<RuntimeFailure>([&] { (void)values.write_rows<float>(3, 2, data.data()); },
                               {path, "/values", "exceeds"});
  expect_error<RuntimeFailure>([&] { (void)values.write_rows<float>(0, 2, std::span<const float>(data.data(), 3)); },
                               {path, "has 4 elements but the data has 3"});
  expect_error<RuntimeFailure>([&] { (void)values.write_rows_at<float>({0}, {1}, data.data()); }, {path, "per axis"});
  EXPECT_EQ(values.read_all<float>(), zeros);
  expect_error<RuntimeFailure>([&] { (void)out.root().create_dataset<float>("bad", {2}, {.max_dims = {1}}); },
                               {"create dataset", path, "/bad"});
  expect_error<RuntimeFailure>([&] { (void)out.root().create_dataset<float>("bad", {2}, {.deflate = 10}); },
                               {"deflate level"});
  expect_error<RuntimeFailure>([&] { values.extend_rows(5); }, {path, "/values", "maximum"});
}

TEST_F(Hdf5Serial, ForeignAndMissingFilesAreRefusedWithInputError) {
  const std::string foreign = file("foreign.h5");
  std::ofstream(foreign) << "not hdf5, just some bytes that are long enough to look like a header\n";
  EXPECT_FALSE(h5::is_hdf5_file(foreign));
  expect_error<InputError>([&] { (void)h5::File::open_read(foreign); },
                           {"open file for reading", foreign, "signature"});

  const std::string missing = file("missing.h5");
  EXPECT_FALSE(h5::is_hdf5_file(missing));
  expect_error<InputError>([&] { (void)h5::File::open_read(missing); }, {missing, "No such file"});

  const std::string valid = file("valid.h5");
  (void)h5::File::create_serial(valid);
  EXPECT_TRUE(h5::is_hdf5_file(valid));
  EXPECT_NO_THROW((void)h5::File::open_read(valid));
}

TEST_F(Hdf5Serial, TruncatedFileIsRefusedWithInputError) {
  const std::string path = file("truncated.h5");
  {
    const h5::File out = h5::File::create_serial(path);
    const h5::Dataset values = out.root().create_dataset<double>("values", {1000});
    (void)values.write_rows<double>(0, 1000, std::vector<double>(1000, 2.5).data());
    out.root().write_attribute("format", "manyworlds");
  }
  const auto size = fs::file_size(path);
  ASSERT_GT(size, 8000u);
  fs::resize_file(path, size / 2);
  expect_error<InputError>([&] { (void)h5::File::open_read(path); }, {"open file for reading", path, "truncated"});
}

TEST_F(Hdf5Serial, NoObjectIsLeftOpenAfterAWriterIsDestroyed) {
  const std::string path = file("leaks.h5");
  h5::File out = h5::File::create_serial(path);
  EXPECT_EQ(out.open_object_count(), 1);
  {
    const h5::Group root = out.root();
    const h5::Group group = root.create_group("g/h");
    write_every_attribute_type(group, "leak");
    expect_every_attribute_type(group, "leak");
    const h5::Dataset a = group.create_dataset<float>("a", {0, 4}, {.max_dims = {h5::unlimited, 4}, .deflate = 3});
    a.set_units("s");
    a.extend_rows(3);
    (void)a.write_rows<float>(0, 3, std::vector<float>(12, 1.0f).data());
    (void)a.read_rows<float>(1, 2);
    h5::Dataset moved = root.open_dataset("g/h/a");
    const h5::Dataset target = std::move(moved);
    (void)target.dims();
    EXPECT_THROW((void)root.open_dataset("g/nothing"), InputError);
    EXPECT_THROW((void)a.read_all<double>(), InputError);
    EXPECT_EQ(out.open_object_count(), 5);  // file, root, group, two datasets (the moved-from one holds none)
    expect_error<RuntimeFailure>([&] { out.close(); }, {"close", path, "still alive"});
  }
  EXPECT_EQ(out.open_object_count(), 1);
  out.close();
  EXPECT_THROW((void)out.path(), RuntimeFailure);
  EXPECT_TRUE(h5::is_hdf5_file(path));
}

TEST_F(Hdf5Serial, NoCollectiveCausesAreNamed) {
  EXPECT_EQ(h5::describe_no_collective_cause(0), "collective");
  EXPECT_EQ(h5::describe_no_collective_cause(0x02 | 0x40), "datatype conversion|parallel filtered writes disabled");
  EXPECT_EQ(h5::describe_no_collective_cause(0x1000), "unknown cause 4096");
}

}  // namespace
}  // namespace manyworlds
