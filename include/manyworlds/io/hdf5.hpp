// The one HDF5 wrapper of manyworlds: RAII handles, checked calls, typed attributes, collective row writes.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <mpi.h>

// Nothing outside src/io/hdf5.cpp includes <hdf5.h>: this header exposes no HDF5 C type, so
// the rest of the project cannot call the HDF5 C API by accident. Identifiers (hid_t) are held as
// std::int64_t and extents (hsize_t) as std::uint64_t; hdf5.cpp static_asserts that they match.
//
// Errors. Every HDF5 return code is checked. A failure throws a one-line
//   manyworlds::InputError    when opening an existing file, opening a group, dataset or
//                             attribute, or reading: the file is not HDF5, is truncated, lacks
//                             the object, or stores a different type or shape than asked for;
//   manyworlds::RuntimeFailure when creating, writing, extending, flushing or closing fails, or
//                             when the caller passes impossible arguments (a bug).
// The message names the operation, the file path, the object path and the innermost message of
// HDF5's error stack. HDF5's own automatic printing of error stacks is switched off by every
// File factory and by is_hdf5_file (H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); idempotent).
//
// Parallel files (create_parallel / open_parallel). Collective metadata reads and writes are on
// (H5Pset_all_coll_metadata_ops, H5Pset_coll_metadata_write), so EVERY operation on a parallel
// file except read_all / read_rows / read_at (independent raw-data reads) must be called by all
// ranks of the file's communicator, in the same order, with the same arguments — except the
// start/count of the writes, which differ per rank. Objects close collectively too: destroy
// Groups, Datasets and Files at the same program point on every rank. A write checks its
// arguments on every rank and then agrees with the others (one MPI_Allreduce of one int) before
// touching the file, so bad arguments on one rank make ALL ranks throw instead of hanging. Other
// HDF5 failures inside a collective call may happen on a subset of ranks; a RuntimeFailure from
// a parallel file is therefore not recoverable: the application must abort the job. Writes,
// extend_rows, flush and close are the exception: they agree on failure after the HDF5 call too.
namespace manyworlds::h5 {

using Dims = std::vector<std::uint64_t>;

// A maximum extent without limit (the value of H5S_UNLIMITED).
inline constexpr std::uint64_t unlimited = std::numeric_limits<std::uint64_t>::max();

// The element types of datasets. Stored little-endian (IEEE / two's complement), which is the
// native layout on x86-64, so writes need no conversion and stay collective.
enum class ElementType : std::uint8_t { float32, float64, int8, uint8, int32, uint32, int64 };

template <class T>
inline constexpr bool is_element_type_v =
    std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int8_t> ||
    std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::uint32_t> ||
    std::is_same_v<T, std::int64_t>;

// The type map from C++ element types to ElementType (OpenMC's h5_type<T> in spirit).
template <class T>
constexpr ElementType element_type_of() {
  static_assert(is_element_type_v<T>, "HDF5 datasets hold float, double, int8/uint8, int32/uint32 or int64 only");
  if constexpr (std::is_same_v<T, float>) return ElementType::float32;
  else if constexpr (std::is_same_v<T, double>) return ElementType::float64;
  else if constexpr (std::is_same_v<T, std::int8_t>) return ElementType::int8;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return ElementType::uint8;
  else if constexpr (std::is_same_v<T, std::int32_t>) return ElementType::int32;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return ElementType::uint32;
  else return ElementType::int64;
}

// "float32", "int64", ...
std::string_view name_of(ElementType type);
// Bytes of one element: 1, 4 or 8.
constexpr std::size_t element_size(ElementType type) {
  switch (type) {
    case ElementType::int8:
    case ElementType::uint8: return 1;
    case ElementType::float32:
    case ElementType::int32:
    case ElementType::uint32: return 4;
    default: return 8;
  }
}

// The value types of attributes (scalars and 1-D arrays). Strings are variable-length UTF-8, so
// h5py returns str; reading also accepts fixed-length strings written by other tools.
template <class T>
inline constexpr bool is_attribute_type_v =
    std::is_same_v<T, std::string> || std::is_same_v<T, std::int64_t> || std::is_same_v<T, double> ||
    std::is_same_v<T, std::vector<std::string>> || std::is_same_v<T, std::vector<std::int64_t>> ||
    std::is_same_v<T, std::vector<double>>;

// The outcome of one write. Causes are H5Pget_mpio_no_collective_cause bit sets of the write's
// transfer property list: 0 (H5D_MPIO_COLLECTIVE) means the write was collective. Serial files
// report parallel == false and causes 0.
struct TransferReport {
  bool parallel = false;
  std::uint32_t local_cause = 0;   // why this rank broke collective I/O (0: it did not)
  std::uint32_t global_cause = 0;  // the union over all ranks
  bool collective() const { return parallel && local_cause == 0 && global_cause == 0; }
};

// "collective" or the names of the set bits, e.g. "datatype conversion|independent I/O requested".
std::string describe_no_collective_cause(std::uint32_t cause);

// True if `path` names a readable file with an HDF5 signature (H5Fis_hdf5); false, without
// throwing, for a missing, unreadable or foreign file. A truncated HDF5 file still says true:
// opening it is what fails.
bool is_hdf5_file(const std::string& path);

namespace detail {

enum class IdKind : std::uint8_t { file, group, dataset, dataspace, datatype, property_list, attribute };

// Closes `id` with the H5xclose of its kind; failures are ignored (destructor path).
void close_id(IdKind kind, std::int64_t id) noexcept;

// Owns one HDF5 identifier of one kind. Move-only; an empty Handle holds -1.
template <IdKind Kind>
class Handle {
 public:
  Handle() = default;
  explicit Handle(std::int64_t id) noexcept : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(other.release()) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.release();
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  std::int64_t get() const noexcept { return id_; }
  explicit operator bool() const noexcept { return id_ >= 0; }
  std::int64_t release() noexcept {
    const std::int64_t id = id_;
    id_ = -1;
    return id;
  }
  void reset() noexcept {
    if (id_ >= 0) close_id(Kind, id_);
    id_ = -1;
  }

 private:
  std::int64_t id_ = -1;
};

// Shared by a File and every Group and Dataset opened from it (defined in hdf5.cpp): the file
// identifier, its path, its communicator and the last TransferReport. The file closes when the
// last of them is destroyed, after their own identifiers.
struct FileState;

}  // namespace detail

// Something in a file that carries attributes: a group (the root group too) or a dataset.
class Object {
 public:
  virtual ~Object() = default;
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;

  // The path of the file; RuntimeFailure on a moved-from object.
  const std::string& file_path() const;
  // Absolute path of the object inside the file, e.g. "/batches/obs".
  const std::string& path() const { return path_; }

  bool has_attribute(const std::string& name) const;

  // Writing an attribute that exists replaces it (in place when type and shape agree). Numbers
  // are stored in the object header, which holds at most 64 KiB per attribute (about 8000
  // values; more fails with "object header message is too large"); strings of any length fit.
  void write_attribute(const std::string& name, const std::string& value) const;
  void write_attribute(const std::string& name, const char* value) const { write_attribute(name, std::string(value)); }
  void write_attribute(const std::string& name, std::int64_t value) const;
  void write_attribute(const std::string& name, double value) const;
  void write_attribute(const std::string& name, const std::vector<std::string>& values) const;
  void write_attribute(const std::string& name, const std::vector<std::int64_t>& values) const;
  void write_attribute(const std::string& name, const std::vector<double>& values) const;
  // Any other integer is stored as int64 (RuntimeFailure if an unsigned value does not fit).
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && !std::is_same_v<I, std::int64_t>)
  void write_attribute(const std::string& name, I value) const {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(std::int64_t)) {
      if (value > static_cast<I>(std::numeric_limits<std::int64_t>::max())) unsigned_attribute_too_large(name);
    }
    write_attribute(name, static_cast<std::int64_t>(value));
  }
  void write_attribute(const std::string& name, bool value) const = delete;

  // T is one of is_attribute_type_v. Scalars accept a scalar or a one-element array; integer
  // attributes of any width read as int64, floating ones as double; a different class (or a
  // missing attribute) throws InputError.
  template <class T>
    requires is_attribute_type_v<T>
  T read_attribute(const std::string& name) const;

  // The "units" attribute (a string), e.g. "USD", "seconds", "1" for dimensionless.
  void set_units(const std::string& units) const { write_attribute("units", units); }

 protected:
  Object(std::shared_ptr<detail::FileState> file, std::string path);
  Object(Object&&) noexcept = default;
  Object& operator=(Object&&) noexcept = default;
  virtual std::int64_t id() const = 0;
  const std::shared_ptr<detail::FileState>& file() const { return file_; }

 private:
  [[noreturn]] void unsigned_attribute_too_large(const std::string& name) const;

  std::shared_ptr<detail::FileState> file_;  // declared first: destroyed after the derived handle
  std::string path_;
};

class Dataset;

// How create_dataset lays a dataset out.
struct DatasetOptions {
  // Empty: fixed size (= dims). Else one entry per axis, each >= dims or h5::unlimited.
  Dims max_dims{};
  // Empty: contiguous, unless the dataset can grow or is compressed; then chunks of whole inner
  // axes and about 256 KiB worth of rows. Else one entry per axis, each >= 1.
  Dims chunk{};
  // 0: no compression; 1..9: shuffle + deflate at that level (needs chunks). Works with the
  // collective parallel writes here (HDF5 1.10.8 refuses independent writes to such datasets),
  // also when ranks share chunks or write nothing; see tests/mpi/test_hdf5.cpp.
  int deflate = 0;
  // The caller writes every element of every extent it creates: no fill values. Parallel HDF5
  // allocates chunks when the dataset grows and would otherwise write fill values there first,
  // doubling the bytes written (measured: 5x slower batch writes). Unwritten elements are garbage.
  bool written_whole = false;
};

// A group; File::root() is the root group "/". Paths may be relative to this group or absolute.
class Group final : public Object {
 public:
  Group(Group&&) noexcept = default;
  Group& operator=(Group&&) noexcept = default;

  // Creates the group and any missing intermediate groups; RuntimeFailure if it exists.
  Group create_group(const std::string& path) const;
  Group open_group(const std::string& path) const;
  // True if every component of `path` exists (H5Lexists along the path) and the last one
  // resolves to an object. False, not an error, when a component is missing.
  bool exists(const std::string& path) const;
  // Unlinks the object at `path` (and, for a group, everything only reachable through it).
  // Collective in parallel files. RuntimeFailure if it does not exist.
  void remove(const std::string& path) const;
  // Absolute paths of every dataset below this group (recursively), in name order.
  std::vector<std::string> dataset_paths() const;

  // Creates a dataset of elements T (is_element_type_v) with extent `dims` (rank 1..32) and any
  // missing intermediate groups. Collective in parallel files: same arguments on every rank.
  template <class T>
  Dataset create_dataset(const std::string& path, const Dims& dims, const DatasetOptions& options = {}) const;
  Dataset open_dataset(const std::string& path) const;

 private:
  friend class File;
  Group(std::shared_ptr<detail::FileState> file, std::string path, std::int64_t id);
  std::int64_t id() const override { return handle_.get(); }
  Dataset create_dataset_of(ElementType type, const std::string& path, const Dims& dims,
                            const DatasetOptions& options) const;

  detail::Handle<detail::IdKind::group> handle_;
};

// A dataset of one ElementType. A "row" is one index of the first axis with all other axes whole.
//
// Writes (write_rows, write_rows_at) are collective in parallel files: every rank calls them,
// each with its own selection; a rank with nothing to write passes a zero count and still takes
// part (it selects none). A write that fails on some ranks (e.g. a full disk under one aggregator)
// makes every rank throw the same RuntimeFailure, carrying the lowest failing rank's message; so do
// extend_rows, flush and close of parallel files. The transfer is H5FD_MPIO_COLLECTIVE; the returned TransferReport (also
// kept as File::last_transfer()) says whether HDF5 really did collective I/O. Each write makes one
// hyperslab selection and one H5Dwrite, whatever the number of rows. Data is row-major, exactly
// count[0] * count[1] * ... elements. T must be the dataset's element type (else RuntimeFailure:
// a conversion would also break collective I/O).
//
// Reads are independent (any rank, any subset of ranks) and check that the stored element type
// has the class, size and signedness of T (else InputError).
class Dataset final : public Object {
 public:
  Dataset(Dataset&&) noexcept = default;
  Dataset& operator=(Dataset&&) noexcept = default;

  // The stored element type; InputError if it is none of ElementType (e.g. strings, float16).
  ElementType element_type() const;
  Dims dims() const;
  Dims max_dims() const;

  // Grows the first axis to new_row_count rows (collective; RuntimeFailure if that shrinks it
  // or exceeds its maximum). A no-op when it already has that many rows.
  void extend_rows(std::uint64_t new_row_count) const;
  // Sets the first axis to row_count rows, shrinking too (the rows beyond are discarded).
  // Serial files only (RuntimeFailure otherwise).
  void resize_rows(std::uint64_t row_count) const;

  // Writes rows [first_row, first_row + row_count) from data (row_count * row-size elements).
  template <class T>
  TransferReport write_rows(std::uint64_t first_row, std::uint64_t row_count, const T* data) const {
    return write_of(element_type_of<T>(), Selection::rows({first_row}, {row_count}), data, no_size_check);
  }
  template <class T>
  TransferReport write_rows(std::uint64_t first_row, std::uint64_t row_count, std::span<const T> data) const {
    return write_of(element_type_of<T>(), Selection::rows({first_row}, {row_count}), data.data(), data.size());
  }
  // Writes the block at `start` of extent `count` (one entry per axis each), e.g. one
  // iteration's worlds of an (iterations, worlds) dataset: start {it, w0}, count {1, n}.
  template <class T>
  TransferReport write_rows_at(const Dims& start, const Dims& count, const T* data) const {
    return write_of(element_type_of<T>(), Selection::block(start, count), data, no_size_check);
  }
  template <class T>
  TransferReport write_rows_at(const Dims& start, const Dims& count, std::span<const T> data) const {
    return write_of(element_type_of<T>(), Selection::block(start, count), data.data(), data.size());
  }

  template <class T>
  std::vector<T> read_all() const {
    return read_of<T>(Selection::all());
  }
  template <class T>
  std::vector<T> read_rows(std::uint64_t first_row, std::uint64_t row_count) const {
    return read_of<T>(Selection::rows({first_row}, {row_count}));
  }
  template <class T>
  std::vector<T> read_at(const Dims& start, const Dims& count) const {
    return read_of<T>(Selection::block(start, count));
  }
  // Rows [first_row, first_row + row_count) as the bytes of the stored element type (little-endian,
  // as stored), whatever that type is; InputError if it is none of ElementType.
  std::vector<std::byte> read_row_bytes(std::uint64_t first_row, std::uint64_t row_count) const;

 private:
  friend class Group;
  static constexpr std::size_t no_size_check = std::numeric_limits<std::size_t>::max();

  // What a read or write addresses, before it is checked against the dataset's extent.
  struct Selection {
    enum class Kind : std::uint8_t { all, rows, block } kind = Kind::all;
    Dims start;  // rows: {first_row}
    Dims count;  // rows: {row_count}
    static Selection all() { return {}; }
    static Selection rows(Dims first, Dims n) { return {Kind::rows, std::move(first), std::move(n)}; }
    static Selection block(Dims s, Dims c) { return {Kind::block, std::move(s), std::move(c)}; }
  };

  Dataset(std::shared_ptr<detail::FileState> file, std::string path, std::int64_t id);
  std::int64_t id() const override { return handle_.get(); }

  TransferReport write_of(ElementType type, const Selection& selection, const void* data, std::size_t data_size) const;
  // Checks the type and the selection; returns the number of elements read_into will write.
  std::uint64_t read_size(ElementType type, const Selection& selection) const;
  void read_into(ElementType type, const Selection& selection, void* out) const;
  template <class T>
  std::vector<T> read_of(const Selection& selection) const {
    std::vector<T> values(static_cast<std::size_t>(read_size(element_type_of<T>(), selection)));
    if (!values.empty()) read_into(element_type_of<T>(), selection, values.data());
    return values;
  }

  detail::Handle<detail::IdKind::dataset> handle_;
};

template <class T>
Dataset Group::create_dataset(const std::string& path, const Dims& dims, const DatasetOptions& options) const {
  return create_dataset_of(element_type_of<T>(), path, dims, options);
}

// An open HDF5 file. Move-only; destroying it closes the file once the last Group or Dataset
// opened from it is gone too (collectively, for parallel files).
// When a parallel file's metadata (object headers, chunk indexes, the superblock) reaches the disk.
enum class MetadataWrites : std::uint8_t {
  as_needed,  // HDF5's default: whenever its metadata cache evicts or synchronises entries
  // Only at flush() and close() (cache evictions off, up to 32 MiB of metadata changes held in
  // memory): between two flushes the file on disk keeps the metadata of the last flush, so a
  // process killed in between leaves a file that opens as it was at that flush (raw data written
  // since then lies beyond it). A kill during a flush itself can still leave it inconsistent.
  at_flush,
};

class File {
 public:
  // Collective over `comm`: creates (truncates) `path` with the MPI-IO driver.
  static File create_parallel(const std::string& path, MPI_Comm comm,
                              MetadataWrites metadata = MetadataWrites::as_needed);
  // Collective over `comm`: opens an existing file with the MPI-IO driver.
  static File open_parallel(const std::string& path, MPI_Comm comm, bool writable,
                            MetadataWrites metadata = MetadataWrites::as_needed);
  // Serial (sec2 driver), for tools, tests and analysis-like checks; needs no MPI_Init.
  // `userblock_bytes` (0, or a power of two >= 512) are left free at the start of the file for
  // the caller's own header (HDF5 and h5py skip them).
  static File create_serial(const std::string& path, std::uint64_t userblock_bytes = 0);
  static File open_read(const std::string& path);
  static File open_writable_serial(const std::string& path);

  File(File&&) noexcept = default;
  File& operator=(File&&) noexcept = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() = default;

  const std::string& path() const;
  bool is_parallel() const;
  Group root() const;
  // Writes cached data and metadata to the file (collective in parallel files).
  void flush() const;
  // Closes now and reports failure (the destructor cannot). RuntimeFailure if Groups or
  // Datasets of this file are still alive. The File is empty afterwards.
  void close();
  // H5Fget_obj_count(H5F_OBJ_ALL): open identifiers of this file, counting the file itself;
  // 1 means every group, dataset, attribute and datatype has been closed.
  std::int64_t open_object_count() const;
  // The TransferReport of the last write to any dataset of this file (default before any).
  TransferReport last_transfer() const;
  std::uint32_t last_no_collective_cause() const { return last_transfer().global_cause; }

 private:
  explicit File(std::shared_ptr<detail::FileState> state) : state_(std::move(state)) {}
  const detail::FileState& state() const;

  std::shared_ptr<detail::FileState> state_;
};

}  // namespace manyworlds::h5
