// Attributes of HDF5 groups and datasets: strings (UTF-8, variable length), int64 and float64 scalars and arrays.
#include <algorithm>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "hdf5_internal.hpp"
#include "manyworlds/core/errors.hpp"

namespace manyworlds::h5 {

using namespace detail;

namespace {

TypeId utf8_string_type(const Where& where) {
  TypeId type(check(H5Tcopy(H5T_C_S1), Blame::runtime, "copy string type", where));
  check(H5Tset_size(type.get(), H5T_VARIABLE), Blame::runtime, "make string type variable-length", where);
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), Blame::runtime, "set string type to UTF-8", where);
  return type;
}

// Scalar when `count` is empty, else 1-D (also for zero values: h5py then reads an empty array).
SpaceId attribute_space(std::optional<std::uint64_t> count, const Where& where) {
  if (!count) return SpaceId(check(H5Screate(H5S_SCALAR), Blame::runtime, "create scalar dataspace", where));
  const hsize_t size = *count;
  return SpaceId(check(H5Screate_simple(1, &size, nullptr), Blame::runtime, "create attribute dataspace", where));
}

// Creates or replaces attribute `name` of `location`. Replaced in place when the stored type and
// shape agree (no garbage left in the file), else deleted and created anew.
void write_attribute_data(hid_t location, const std::string& name, hid_t stored_type, hid_t memory, hid_t space,
                          const void* data, const Where& where) {
  const std::string operation = "write attribute '" + name + "'";
  const htri_t exists = check(H5Aexists(location, name.c_str()), Blame::runtime, operation, where);
  AttributeId attribute;
  if (exists > 0) {
    AttributeId old(check(H5Aopen(location, name.c_str(), H5P_DEFAULT), Blame::runtime, operation, where));
    const TypeId old_type(check(H5Aget_type(old.get()), Blame::runtime, operation, where));
    const SpaceId old_space(check(H5Aget_space(old.get()), Blame::runtime, operation, where));
    const bool same = check(H5Tequal(old_type.get(), stored_type), Blame::runtime, operation, where) > 0 &&
                      check(H5Sextent_equal(old_space.get(), space), Blame::runtime, operation, where) > 0;
    if (same) {
      attribute = std::move(old);
    } else {
      old.reset();
      check(H5Adelete(location, name.c_str()), Blame::runtime, operation, where);
    }
  }
  if (!attribute) {
    attribute = AttributeId(check(H5Acreate2(location, name.c_str(), stored_type, space, H5P_DEFAULT, H5P_DEFAULT),
                                  Blame::runtime, operation, where));
  }
  if (check(H5Sget_simple_extent_npoints(space), Blame::runtime, operation, where) > 0) {
    check(H5Awrite(attribute.get(), memory, data), Blame::runtime, operation, where);
  }
}

void write_string_attribute(hid_t location, const std::string& name, const std::vector<std::string>& values,
                            bool scalar, const Where& where) {
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const std::string& value : values) {
    if (value.find('\0') != std::string::npos) {
      fail(Blame::runtime, "write attribute '" + name + "'", where, "the string contains a NUL character");
    }
    pointers.push_back(value.c_str());
  }
  const TypeId type = utf8_string_type(where);
  const SpaceId space = attribute_space(scalar ? std::nullopt : std::optional<std::uint64_t>(values.size()), where);
  write_attribute_data(location, name, type.get(), type.get(), space.get(), pointers.data(), where);
}

// Frees what H5Aread allocated for variable-length strings, also when copying them throws.
struct VlenStrings {
  hid_t type;
  hid_t space;
  std::vector<char*> pointers;
  ~VlenStrings() { H5Dvlen_reclaim(type, space, H5P_DEFAULT, pointers.data()); }
};

std::vector<std::string> read_strings(hid_t attribute, hid_t stored, hid_t space, std::size_t count,
                                      const std::string& operation, const Where& where) {
  std::vector<std::string> values;
  if (count == 0) return values;
  values.reserve(count);
  const H5T_cset_t cset = H5Tget_cset(stored);
  if (cset == H5T_CSET_ERROR) fail(Blame::input, operation, where, innermost_hdf5_message());
  if (check(H5Tis_variable_str(stored), Blame::input, operation, where) > 0) {
    TypeId memory(check(H5Tcopy(H5T_C_S1), Blame::input, operation, where));
    check(H5Tset_size(memory.get(), H5T_VARIABLE), Blame::input, operation, where);
    check(H5Tset_cset(memory.get(), cset), Blame::input, operation, where);
    VlenStrings strings{memory.get(), space, std::vector<char*>(count, nullptr)};
    check(H5Aread(attribute, memory.get(), strings.pointers.data()), Blame::input, operation, where);
    for (const char* text : strings.pointers) values.emplace_back(text != nullptr ? text : "");
    return values;
  }
  const std::size_t size = H5Tget_size(stored);
  if (size == 0) fail(Blame::input, operation, where, innermost_hdf5_message());
  const H5T_str_t padding = H5Tget_strpad(stored);
  if (padding == H5T_STR_ERROR) fail(Blame::input, operation, where, innermost_hdf5_message());
  TypeId memory(check(H5Tcopy(H5T_C_S1), Blame::input, operation, where));
  check(H5Tset_size(memory.get(), size), Blame::input, operation, where);
  check(H5Tset_strpad(memory.get(), padding), Blame::input, operation, where);
  check(H5Tset_cset(memory.get(), cset), Blame::input, operation, where);
  std::vector<char> buffer(size * count);
  check(H5Aread(attribute, memory.get(), buffer.data()), Blame::input, operation, where);
  for (std::size_t i = 0; i < count; ++i) {
    const char* begin = buffer.data() + i * size;
    std::string value(begin, std::find(begin, begin + size, '\0'));
    if (padding == H5T_STR_SPACEPAD) value.erase(value.find_last_not_of(' ') + 1);
    values.push_back(std::move(value));
  }
  return values;
}

}  // namespace

Object::Object(std::shared_ptr<detail::FileState> file, std::string path)
    : file_(std::move(file)), path_(std::move(path)) {}

const std::string& Object::file_path() const {
  if (!file_) throw RuntimeFailure("HDF5 use of a moved-from h5::Group or h5::Dataset");
  return file_->path;
}

bool Object::has_attribute(const std::string& name) const {
  return check(H5Aexists(id(), name.c_str()), Blame::input, "look for attribute '" + name + "'",
               Where{file_path(), path()}) > 0;
}

void Object::write_attribute(const std::string& name, const std::string& value) const {
  write_string_attribute(id(), name, {value}, true, Where{file_path(), path()});
}

void Object::write_attribute(const std::string& name, const std::vector<std::string>& values) const {
  write_string_attribute(id(), name, values, false, Where{file_path(), path()});
}

void Object::write_attribute(const std::string& name, std::int64_t value) const {
  const Where where{file_path(), path()};
  const SpaceId space = attribute_space(std::nullopt, where);
  write_attribute_data(id(), name, H5T_STD_I64LE, H5T_NATIVE_INT64, space.get(), &value, where);
}

void Object::write_attribute(const std::string& name, double value) const {
  const Where where{file_path(), path()};
  const SpaceId space = attribute_space(std::nullopt, where);
  write_attribute_data(id(), name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, space.get(), &value, where);
}

void Object::write_attribute(const std::string& name, const std::vector<std::int64_t>& values) const {
  const Where where{file_path(), path()};
  const SpaceId space = attribute_space(values.size(), where);
  write_attribute_data(id(), name, H5T_STD_I64LE, H5T_NATIVE_INT64, space.get(), values.data(), where);
}

void Object::write_attribute(const std::string& name, const std::vector<double>& values) const {
  const Where where{file_path(), path()};
  const SpaceId space = attribute_space(values.size(), where);
  write_attribute_data(id(), name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, space.get(), values.data(), where);
}

void Object::unsigned_attribute_too_large(const std::string& name) const {
  fail(Blame::runtime, "write attribute '" + name + "'", Where{file_path(), path()},
       "the unsigned value does not fit into the int64 that attributes store");
}

template <class T>
requires is_attribute_type_v<T> T Object::read_attribute(const std::string& name)
const {
  const Where where{file_path(), path()};
  const std::string operation = "read attribute '" + name + "'";
  if (check(H5Aexists(id(), name.c_str()), Blame::input, operation, where) == 0) {
    fail(Blame::input, operation, where, "no such attribute");
  }
  const AttributeId attribute(check(H5Aopen(id(), name.c_str(), H5P_DEFAULT), Blame::input, operation, where));
  const TypeId stored(check(H5Aget_type(attribute.get()), Blame::input, operation, where));
  const SpaceId space(check(H5Aget_space(attribute.get()), Blame::input, operation, where));
  const H5S_class_t space_class = H5Sget_simple_extent_type(space.get());
  if (space_class == H5S_NO_CLASS) fail(Blame::input, operation, where, innermost_hdf5_message());
  const std::size_t count =
      space_class == H5S_NULL
          ? 0
          : static_cast<std::size_t>(check(H5Sget_simple_extent_npoints(space.get()), Blame::input, operation, where));
  const H5T_class_t stored_class = H5Tget_class(stored.get());
  if (stored_class == H5T_NO_CLASS) fail(Blame::input, operation, where, innermost_hdf5_message());

  constexpr bool wants_string = std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<std::string>>;
  constexpr bool wants_int = std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::vector<std::int64_t>>;
  constexpr bool wants_scalar =
      std::is_same_v<T, std::string> || std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>;
  const H5T_class_t wanted_class = wants_string ? H5T_STRING : (wants_int ? H5T_INTEGER : H5T_FLOAT);
  if (stored_class != wanted_class) {
    fail(Blame::input, operation, where,
         "it stores " + describe_stored_type(stored.get()) + " values, expected " +
             (wants_string ? "strings" : (wants_int ? "integers" : "floating-point numbers")));
  }
  if (wants_scalar && count != 1) {
    fail(Blame::input, operation, where, "it holds " + std::to_string(count) + " values, expected one");
  }
  if constexpr (wants_string) {
    std::vector<std::string> values = read_strings(attribute.get(), stored.get(), space.get(), count, operation, where);
    if constexpr (std::is_same_v<T, std::string>) {
      return std::move(values.front());
    } else {
      return values;
    }
  } else {
    using Value = std::conditional_t<wants_int, std::int64_t, double>;
    std::vector<Value> values(count);
    if (count > 0) {
      check(H5Aread(attribute.get(), wants_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, values.data()), Blame::input,
            operation, where);
    }
    if constexpr (wants_scalar) {
      return values.front();
    } else {
      return values;
    }
  }
}

template std::string Object::read_attribute<std::string>(const std::string&) const;
template std::int64_t Object::read_attribute<std::int64_t>(const std::string&) const;
template double Object::read_attribute<double>(const std::string&) const;
template std::vector<std::string> Object::read_attribute<std::vector<std::string>>(const std::string&) const;
template std::vector<std::int64_t> Object::read_attribute<std::vector<std::int64_t>>(const std::string&) const;
template std::vector<double> Object::read_attribute<std::vector<double>>(const std::string&) const;

}  // namespace manyworlds::h5
