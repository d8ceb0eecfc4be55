// The HDF5 wrapper's type map and extents: element types in memory and in the file, dataspace extents.
#include <limits>
#include <optional>
#include <string>

#include "hdf5_internal.hpp"

namespace manyworlds::h5 {

namespace detail {

hid_t memory_type(ElementType type) {
  switch (type) {
    case ElementType::float32:
      return H5T_NATIVE_FLOAT;
    case ElementType::float64:
      return H5T_NATIVE_DOUBLE;
    case ElementType::int8:
      return H5T_NATIVE_INT8;
    case ElementType::uint8:
      return H5T_NATIVE_UINT8;
    case ElementType::int32:
      return H5T_NATIVE_INT32;
    case ElementType::uint32:
      return H5T_NATIVE_UINT32;
    case ElementType::int64:
      return H5T_NATIVE_INT64;
  }
  return H5I_INVALID_HID;
}

// Little-endian in the file whatever the machine: the same bytes from every build.
hid_t file_type(ElementType type) {
  switch (type) {
    case ElementType::float32:
      return H5T_IEEE_F32LE;
    case ElementType::float64:
      return H5T_IEEE_F64LE;
    case ElementType::int8:
      return H5T_STD_I8LE;
    case ElementType::uint8:
      return H5T_STD_U8LE;
    case ElementType::int32:
      return H5T_STD_I32LE;
    case ElementType::uint32:
      return H5T_STD_U32LE;
    case ElementType::int64:
      return H5T_STD_I64LE;
  }
  return H5I_INVALID_HID;
}

std::size_t size_of(ElementType type) { return element_size(type); }

// The ElementType with the class, size and signedness of a stored type, if there is one.
std::optional<ElementType> classify(hid_t type, Blame blame, const Where& where) {
  const H5T_class_t type_class = H5Tget_class(type);
  if (type_class == H5T_NO_CLASS) fail(blame, "get type class", where, innermost_hdf5_message());
  const std::size_t size = H5Tget_size(type);
  if (size == 0) fail(blame, "get type size", where, innermost_hdf5_message());
  if (type_class == H5T_FLOAT) {
    if (size == 4) return ElementType::float32;
    if (size == 8) return ElementType::float64;
    return std::nullopt;
  }
  if (type_class != H5T_INTEGER) return std::nullopt;
  const H5T_sign_t sign = H5Tget_sign(type);
  if (sign == H5T_SGN_ERROR) fail(blame, "get type sign", where, innermost_hdf5_message());
  const bool is_signed = sign == H5T_SGN_2;
  if (size == 1) return is_signed ? ElementType::int8 : ElementType::uint8;
  if (size == 4) return is_signed ? ElementType::int32 : ElementType::uint32;
  if (size == 8 && is_signed) return ElementType::int64;
  return std::nullopt;
}

std::string describe_stored_type(hid_t type) {
  const H5T_class_t type_class = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  std::string name;
  switch (type_class) {
    case H5T_INTEGER:
      name = H5Tget_sign(type) == H5T_SGN_2 ? "signed integer" : "unsigned integer";
      break;
    case H5T_FLOAT:
      name = "floating point";
      break;
    case H5T_STRING:
      name = "string";
      break;
    case H5T_COMPOUND:
      name = "compound";
      break;
    case H5T_ENUM:
      name = "enum";
      break;
    case H5T_ARRAY:
      name = "array";
      break;
    case H5T_VLEN:
      name = "variable-length sequence";
      break;
    default:
      name = "class " + std::to_string(static_cast<int>(type_class));
      break;
  }
  return name + " of " + std::to_string(size) + " bytes";
}

std::string dims_text(const Dims& dims) {
  std::string text = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) text += ", ";
    text += dims[i] == unlimited ? std::string("unlimited") : std::to_string(dims[i]);
  }
  return text + ")";
}

Extent extent_of(hid_t space, Blame blame, const Where& where) {
  const int rank = check(H5Sget_simple_extent_ndims(space), blame, "get dataspace rank", where);
  std::array<hsize_t, H5S_MAX_RANK> dims{};
  std::array<hsize_t, H5S_MAX_RANK> max_dims{};
  check(H5Sget_simple_extent_dims(space, dims.data(), max_dims.data()), blame, "get dataspace extent", where);
  Extent extent;
  extent.dims.assign(dims.begin(), dims.begin() + rank);
  extent.max_dims.assign(max_dims.begin(), max_dims.begin() + rank);
  return extent;
}

// Product of `dims`, or nullopt on overflow of 64 bits.
std::optional<std::uint64_t> product(const Dims& dims, std::size_t first) {
  std::uint64_t total = 1;
  for (std::size_t i = first; i < dims.size(); ++i) {
    if (dims[i] != 0 && total > std::numeric_limits<std::uint64_t>::max() / dims[i]) return std::nullopt;
    total *= dims[i];
  }
  return total;
}

}  // namespace detail

std::string_view name_of(ElementType type) {
  switch (type) {
    case ElementType::float32:
      return "float32";
    case ElementType::float64:
      return "float64";
    case ElementType::int8:
      return "int8";
    case ElementType::uint8:
      return "uint8";
    case ElementType::int32:
      return "int32";
    case ElementType::uint32:
      return "uint32";
    case ElementType::int64:
      return "int64";
  }
  return "unknown";
}

}  // namespace manyworlds::h5
