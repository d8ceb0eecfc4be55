// An object of an HDF5 file that carries attributes (a group or a dataset): typed, checked attribute reads and writes.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "manyworlds/io/hdf5_types.hpp"

namespace manyworlds::h5 {

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
  requires(std::is_integral_v<I> && !std::is_same_v<I, bool> &&
           !std::is_same_v<I, std::int64_t>) void write_attribute(const std::string& name, I value) const {
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
  requires is_attribute_type_v<T> T read_attribute(const std::string& name)
  const;

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

}  // namespace manyworlds::h5
