// HDF5 datasets: type and extent, growing rows, checked collective writes with their transfer report, reads.
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "hdf5_internal.hpp"
#include "manyworlds/core/errors.hpp"

namespace manyworlds::h5 {

using namespace detail;

namespace {

// A selection resolved against a dataset's extent: full-rank start and count.
struct Block {
  Dims start;
  Dims count;
  std::uint64_t elements = 0;
};

// Returns the problem with `selection` on a dataset of extent `dims`, or an empty string.
std::string resolve(const Dims& dims, bool whole, bool rows, const Dims& start, const Dims& count, Block& block) {
  const std::size_t rank = dims.size();
  if (rank == 0) return "scalar datasets are not supported";
  if (whole) {
    block.start.assign(rank, 0);
    block.count = dims;
  } else if (rows) {
    block.start.assign(rank, 0);
    block.start[0] = start.at(0);
    block.count = dims;
    block.count[0] = count.at(0);
  } else {
    if (start.size() != rank || count.size() != rank) {
      return "start " + dims_text(start) + " and count " + dims_text(count) + " need one entry per axis of " +
             dims_text(dims);
    }
    block.start = start;
    block.count = count;
  }
  const std::optional<std::uint64_t> elements = product(block.count);
  if (!elements) return "the selection " + dims_text(block.count) + " has more than 2^64 elements";
  block.elements = *elements;
  if (block.elements == 0) return {};  // selects none: any start is fine
  for (std::size_t i = 0; i < rank; ++i) {
    if (block.start[i] > dims[i] || block.count[i] > dims[i] - block.start[i]) {
      return "the block at " + dims_text(block.start) + " of size " + dims_text(block.count) +
             " exceeds the dataset extent " + dims_text(dims);
    }
  }
  return {};
}

}  // namespace

Dataset::Dataset(std::shared_ptr<detail::FileState> file, std::string path, std::int64_t id)
    : Object(std::move(file), std::move(path)), handle_(id) {}

ElementType Dataset::element_type() const {
  const Where where{file_path(), path()};
  const TypeId stored(check(H5Dget_type(handle_.get()), Blame::input, "get element type", where));
  const std::optional<ElementType> type = classify(stored.get(), Blame::input, where);
  if (!type) {
    fail(Blame::input, "get element type", where,
         "stores " + describe_stored_type(stored.get()) + " elements, none of float32/64, (u)int8, (u)int32, int64");
  }
  return *type;
}

Dims Dataset::dims() const {
  const Where where{file_path(), path()};
  const SpaceId space(check(H5Dget_space(handle_.get()), Blame::input, "get dataspace", where));
  return extent_of(space.get(), Blame::input, where).dims;
}

Dims Dataset::max_dims() const {
  const Where where{file_path(), path()};
  const SpaceId space(check(H5Dget_space(handle_.get()), Blame::input, "get dataspace", where));
  return extent_of(space.get(), Blame::input, where).max_dims;
}

void Dataset::extend_rows(std::uint64_t new_row_count) const {
  const Where where{file_path(), path()};
  const std::string_view operation = "extend rows";
  const SpaceId space(check(H5Dget_space(handle_.get()), Blame::runtime, operation, where));
  Extent extent = extent_of(space.get(), Blame::runtime, where);
  if (extent.dims.empty()) fail(Blame::runtime, operation, where, "a scalar dataset has no rows");
  if (new_row_count < extent.dims[0]) {
    fail(Blame::runtime, operation, where,
         "cannot shrink from " + std::to_string(extent.dims[0]) + " to " + std::to_string(new_row_count) + " rows");
  }
  if (extent.max_dims[0] != unlimited && new_row_count > extent.max_dims[0]) {
    fail(Blame::runtime, operation, where,
         std::to_string(new_row_count) + " rows exceed the maximum of " + std::to_string(extent.max_dims[0]));
  }
  if (new_row_count == extent.dims[0]) return;
  extent.dims[0] = new_row_count;
  const HsizeArray dims(extent.dims);
  agree_after(*file(), failure_of(H5Dset_extent(handle_.get(), dims.data())), operation, where);
}

void Dataset::resize_rows(std::uint64_t row_count) const {
  const Where where{file_path(), path()};
  const std::string_view operation = "resize rows";
  if (file()->parallel()) fail(Blame::runtime, operation, where, "only serial files can shrink a dataset here");
  const SpaceId space(check(H5Dget_space(handle_.get()), Blame::runtime, operation, where));
  Extent extent = extent_of(space.get(), Blame::runtime, where);
  if (extent.dims.empty()) fail(Blame::runtime, operation, where, "a scalar dataset has no rows");
  if (extent.max_dims[0] != unlimited && row_count > extent.max_dims[0]) {
    fail(Blame::runtime, operation, where,
         std::to_string(row_count) + " rows exceed the maximum of " + std::to_string(extent.max_dims[0]));
  }
  if (row_count == extent.dims[0]) return;
  extent.dims[0] = row_count;
  const HsizeArray dims(extent.dims);
  check(H5Dset_extent(handle_.get(), dims.data()), Blame::runtime, operation, where);
}

std::vector<std::byte> Dataset::read_row_bytes(std::uint64_t first_row, std::uint64_t row_count) const {
  const ElementType type = element_type();
  const Selection selection = Selection::rows({first_row}, {row_count});
  std::vector<std::byte> bytes(static_cast<std::size_t>(read_size(type, selection)) * size_of(type));
  if (!bytes.empty()) read_into(type, selection, bytes.data());
  return bytes;
}

TransferReport Dataset::write_of(ElementType type, const Selection& selection, const void* data,
                                 std::size_t data_size) const {
  const Where where{file_path(), path()};  // first: throws for a moved-from Dataset
  FileState& file_state = *file();
  const std::string operation = "write " + std::string(name_of(type)) + " data";
  // Every local check before the first collective step; a failed one still joins the agreement.
  Block block;
  SpaceId file_space;
  std::string problem;
  try {
    file_space = SpaceId(check(H5Dget_space(handle_.get()), Blame::runtime, operation, where));
    const Dims dims = extent_of(file_space.get(), Blame::runtime, where).dims;
    const TypeId stored(check(H5Dget_type(handle_.get()), Blame::runtime, operation, where));
    const std::optional<ElementType> stored_type = classify(stored.get(), Blame::runtime, where);
    if (stored_type != type) {
      problem = "the dataset stores " +
                (stored_type ? std::string(name_of(*stored_type)) : describe_stored_type(stored.get())) +
                " elements, not " + std::string(name_of(type));
    } else {
      problem = resolve(dims, selection.kind == Selection::Kind::all, selection.kind == Selection::Kind::rows,
                        selection.start, selection.count, block);
    }
    if (problem.empty() && data_size != no_size_check && data_size != block.elements) {
      problem = "the selection " + dims_text(block.count) + " has " + std::to_string(block.elements) +
                " elements but the data has " + std::to_string(data_size);
    }
    if (problem.empty() && block.elements > 0 && data == nullptr) problem = "no data (null pointer)";
  } catch (const Error& error) {
    problem = error.what();
  }
  agree_or_throw(file_state, problem, operation, where);

  // One hyperslab (or none) in the file, one contiguous block in memory, one H5Dwrite.
  SpaceId memory_space;
  if (block.elements == 0) {
    check(H5Sselect_none(file_space.get()), Blame::runtime, operation, where);
    const hsize_t one = 1;
    memory_space = SpaceId(check(H5Screate_simple(1, &one, nullptr), Blame::runtime, operation, where));
    check(H5Sselect_none(memory_space.get()), Blame::runtime, operation, where);
  } else {
    const HsizeArray start(block.start);
    const HsizeArray count(block.count);
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
          Blame::runtime, operation, where);
    memory_space = SpaceId(check(H5Screate_simple(static_cast<int>(block.count.size()), count.data(), nullptr),
                                 Blame::runtime, operation, where));
  }
  const PlistId dxpl(check(H5Pcreate(H5P_DATASET_XFER), Blame::runtime, operation, where));
  if (file_state.parallel()) {
    check(H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE), Blame::runtime, operation, where);
    // All chunks of the selection in one MPI-IO call, without HDF5's per-chunk collective choices.
    check(H5Pset_dxpl_mpio_chunk_opt(dxpl.get(), H5FD_MPIO_CHUNK_ONE_IO), Blame::runtime, operation, where);
  }
  const unsigned char nothing = 0;  // a valid address for ranks that write no elements
  agree_after(file_state,
              failure_of(H5Dwrite(handle_.get(), memory_type(type), memory_space.get(), file_space.get(), dxpl.get(),
                                  block.elements > 0 ? data : &nothing)),
              operation, where);
  TransferReport report;
  if (file_state.parallel()) {
    report.parallel = true;
    check(H5Pget_mpio_no_collective_cause(dxpl.get(), &report.local_cause, &report.global_cause), Blame::runtime,
          "get no-collective cause", where);
  }
  file_state.last = report;
  return report;
}

std::uint64_t Dataset::read_size(ElementType type, const Selection& selection) const {
  const Where where{file_path(), path()};
  const std::string operation = "read " + std::string(name_of(type)) + " data";
  const TypeId stored(check(H5Dget_type(handle_.get()), Blame::input, operation, where));
  const std::optional<ElementType> stored_type = classify(stored.get(), Blame::input, where);
  if (stored_type != type) {
    fail(Blame::input, operation, where,
         "the dataset stores " +
             (stored_type ? std::string(name_of(*stored_type)) : describe_stored_type(stored.get())) +
             " elements, not " + std::string(name_of(type)));
  }
  const SpaceId space(check(H5Dget_space(handle_.get()), Blame::input, operation, where));
  Block block;
  const std::string problem =
      resolve(extent_of(space.get(), Blame::input, where).dims, selection.kind == Selection::Kind::all,
              selection.kind == Selection::Kind::rows, selection.start, selection.count, block);
  if (!problem.empty()) fail(Blame::input, operation, where, problem);
  if (block.elements > std::numeric_limits<std::size_t>::max() / size_of(type)) {
    fail(Blame::input, operation, where, "the selection does not fit into memory");
  }
  return block.elements;
}

void Dataset::read_into(ElementType type, const Selection& selection, void* out) const {
  const Where where{file_path(), path()};
  const std::string operation = "read " + std::string(name_of(type)) + " data";
  SpaceId file_space(check(H5Dget_space(handle_.get()), Blame::input, operation, where));
  Block block;
  const std::string problem =
      resolve(extent_of(file_space.get(), Blame::input, where).dims, selection.kind == Selection::Kind::all,
              selection.kind == Selection::Kind::rows, selection.start, selection.count, block);
  if (!problem.empty()) fail(Blame::input, operation, where, problem);
  const HsizeArray start(block.start);
  const HsizeArray count(block.count);
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
        Blame::input, operation, where);
  const SpaceId memory_space(check(H5Screate_simple(static_cast<int>(block.count.size()), count.data(), nullptr),
                                   Blame::input, operation, where));
  // Independent transfer (the default): any subset of ranks may read.
  check(H5Dread(handle_.get(), memory_type(type), memory_space.get(), file_space.get(), H5P_DEFAULT, out), Blame::input,
        operation, where);
}

}  // namespace manyworlds::h5
