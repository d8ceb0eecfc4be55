// The HDF5 wrapper's private part, shared by src/io/hdf5_*.cpp only: <hdf5.h>, the file state, checked calls, types,
// extents.
#pragma once

#include <hdf5.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "manyworlds/io/hdf5.hpp"

#ifndef H5_HAVE_PARALLEL
#error "manyworlds needs the parallel (MPI) build of HDF5 (Debian: libhdf5-openmpi-dev)"
#endif

static_assert(std::is_same_v<hid_t, std::int64_t>, "h5::detail::Handle stores hid_t as std::int64_t");
static_assert(sizeof(hsize_t) == sizeof(std::uint64_t) && std::is_unsigned_v<hsize_t>,
              "h5::Dims stores hsize_t as std::uint64_t");
static_assert(H5S_UNLIMITED == manyworlds::h5::unlimited, "h5::unlimited must equal H5S_UNLIMITED");

namespace manyworlds::h5::detail {

// Shared by a File and every Group and Dataset opened from it: the file identifier, its path, its
// communicator and the last TransferReport.
struct FileState {
  std::string path;
  Handle<IdKind::file> id;
  MPI_Comm comm = MPI_COMM_NULL;  // a duplicate of the file's communicator; parallel files only
  TransferReport last;

  FileState() = default;
  FileState(const FileState&) = delete;
  FileState& operator=(const FileState&) = delete;
  ~FileState() {
    id.reset();  // before the communicator goes (H5Fclose of an MPI-IO file is collective)
    int finalized = 0;
    if (comm != MPI_COMM_NULL && MPI_Finalized(&finalized) == MPI_SUCCESS && finalized == 0) MPI_Comm_free(&comm);
  }
  bool parallel() const { return comm != MPI_COMM_NULL; }
};

using FileId = Handle<IdKind::file>;
using GroupId = Handle<IdKind::group>;
using DatasetId = Handle<IdKind::dataset>;
using SpaceId = Handle<IdKind::dataspace>;
using TypeId = Handle<IdKind::datatype>;
using PlistId = Handle<IdKind::property_list>;
using AttributeId = Handle<IdKind::attribute>;

// ---- errors (hdf5_errors.cpp) ---------------------------------------------------------------------

enum class Blame : std::uint8_t { input, runtime };  // InputError or RuntimeFailure

// Names the operation, the file and the object of every message.
struct Where {
  const std::string& file;
  const std::string& object;
};

// The most specific message on HDF5's default error stack (where the error was detected).
std::string innermost_hdf5_message();

[[noreturn]] void fail(Blame blame, std::string_view operation, const Where& where, const std::string& detail);

// Returns `result` unless it is negative (HDF5's failure value for hid_t, herr_t, htri_t, ssize_t).
template <class R>
R check(R result, Blame blame, std::string_view operation, const Where& where) {
  static_assert(std::is_signed_v<R>);
  if (result < 0) fail(blame, operation, where, innermost_hdf5_message());
  return result;
}

void silence_automatic_error_printing();

// In a parallel file, every rank learns whether any rank found a problem with its arguments, so
// that all of them throw (instead of the good ones waiting forever inside H5Dwrite).
void agree_or_throw(const FileState& file, const std::string& problem, std::string_view operation, const Where& where);

// After a collective HDF5 call that may fail on some ranks only: every rank throws the message of
// the lowest failing rank (serial files: just this one's).
void agree_after(const FileState& file, const std::string& failure, std::string_view operation, const Where& where);

// The innermost HDF5 message if `result` is negative, else "".
template <class R>
std::string failure_of(R result) {
  return result < 0 ? innermost_hdf5_message() : std::string();
}

// ---- types and extents (hdf5_types.cpp) ----------------------------------------------------------

hid_t memory_type(ElementType type);

// Little-endian in the file whatever the machine: the same bytes from every build.
hid_t file_type(ElementType type);

std::size_t size_of(ElementType type);

// The ElementType with the class, size and signedness of a stored type, if there is one.
std::optional<ElementType> classify(hid_t type, Blame blame, const Where& where);

std::string describe_stored_type(hid_t type);

// A Dims as an hsize_t array for the C API (hsize_t is unsigned long long, std::uint64_t is not).
struct HsizeArray {
  std::array<hsize_t, H5S_MAX_RANK> values{};
  explicit HsizeArray(const Dims& dims) {
    for (std::size_t i = 0; i < dims.size() && i < values.size(); ++i) values[i] = dims[i];
  }
  const hsize_t* data() const { return values.data(); }
};

std::string dims_text(const Dims& dims);

// Current and maximum extent of a simple dataspace.
struct Extent {
  Dims dims;
  Dims max_dims;
};

Extent extent_of(hid_t space, Blame blame, const Where& where);

// Product of `dims`, or nullopt on overflow of 64 bits.
std::optional<std::uint64_t> product(const Dims& dims, std::size_t first = 0);

}  // namespace manyworlds::h5::detail
