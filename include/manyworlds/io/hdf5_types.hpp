// The HDF5 wrapper's value types: extents, element types, write reports, and the RAII handle of one identifier.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

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
  if constexpr (std::is_same_v<T, float>)
    return ElementType::float32;
  else if constexpr (std::is_same_v<T, double>)
    return ElementType::float64;
  else if constexpr (std::is_same_v<T, std::int8_t>)
    return ElementType::int8;
  else if constexpr (std::is_same_v<T, std::uint8_t>)
    return ElementType::uint8;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return ElementType::int32;
  else if constexpr (std::is_same_v<T, std::uint32_t>)
    return ElementType::uint32;
  else
    return ElementType::int64;
}

// "float32", "int64", ...
std::string_view name_of(ElementType type);
// Bytes of one element: 1, 4 or 8.
constexpr std::size_t element_size(ElementType type) {
  switch (type) {
    case ElementType::int8:
    case ElementType::uint8:
      return 1;
    case ElementType::float32:
    case ElementType::int32:
    case ElementType::uint32:
      return 4;
    default:
      return 8;
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

// Shared by a File and every Group and Dataset opened from it (defined in src/io/hdf5_internal.hpp): the file
// identifier, its path, its communicator and the last TransferReport. The file closes when the
// last of them is destroyed, after their own identifiers.
struct FileState;

}  // namespace detail

}  // namespace manyworlds::h5
