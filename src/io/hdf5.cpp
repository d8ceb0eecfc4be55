// The one place in manyworlds that calls the HDF5 C API: RAII handles, checked calls, collective writes.
#include "manyworlds/io/hdf5.hpp"

#include <hdf5.h>

#include <algorithm>
#include <array>
#include <optional>
#include <type_traits>
#include <utility>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/parallel/mpi_error.hpp"

#ifndef H5_HAVE_PARALLEL
#error "manyworlds needs the parallel (MPI) build of HDF5 (Debian: libhdf5-openmpi-dev)"
#endif

static_assert(std::is_same_v<hid_t, std::int64_t>, "h5::detail::Handle stores hid_t as std::int64_t");
static_assert(sizeof(hsize_t) == sizeof(std::uint64_t) && std::is_unsigned_v<hsize_t>,
              "h5::Dims stores hsize_t as std::uint64_t");
static_assert(H5S_UNLIMITED == manyworlds::h5::unlimited, "h5::unlimited must equal H5S_UNLIMITED");

namespace manyworlds::h5 {

namespace detail {

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

void close_id(IdKind kind, std::int64_t id) noexcept {
  switch (kind) {
    case IdKind::file: H5Fclose(id); break;
    case IdKind::group: H5Gclose(id); break;
    case IdKind::dataset: H5Dclose(id); break;
    case IdKind::dataspace: H5Sclose(id); break;
    case IdKind::datatype: H5Tclose(id); break;
    case IdKind::property_list: H5Pclose(id); break;
    case IdKind::attribute: H5Aclose(id); break;
  }
}

}  // namespace detail

namespace {

using detail::FileState;
using detail::Handle;
using detail::IdKind;
using FileId = Handle<IdKind::file>;
using GroupId = Handle<IdKind::group>;
using DatasetId = Handle<IdKind::dataset>;
using SpaceId = Handle<IdKind::dataspace>;
using TypeId = Handle<IdKind::datatype>;
using PlistId = Handle<IdKind::property_list>;
using AttributeId = Handle<IdKind::attribute>;

// ---- errors -------------------------------------------------------------------------------------

enum class Blame : std::uint8_t { input, runtime };  // InputError or RuntimeFailure

// Names the operation, the file and the object of every message.
struct Where {
  const std::string& file;
  const std::string& object;
};

// Newlines, tabs and runs of blanks (HDF5 messages have them) become single spaces.
std::string one_line(const std::string& text) {
  std::string line;
  line.reserve(text.size());
  for (const char c : text) {
    const bool blank = c == ' ' || c == '\n' || c == '\r' || c == '\t';
    if (!blank) line += c;
    else if (!line.empty() && line.back() != ' ') line += ' ';
  }
  if (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

// The most specific message on HDF5's default error stack (where the error was detected).
std::string innermost_hdf5_message() {
  struct Innermost {
    bool seen = false;
    std::string desc;
    hid_t minor = H5I_INVALID_HID;
  } innermost;
  const auto visit = [](unsigned, const H5E_error2_t* error, void* data) -> herr_t {
    auto* out = static_cast<Innermost*>(data);
    if (!out->seen) {
      out->seen = true;
      if (error->desc != nullptr) out->desc = error->desc;
      out->minor = error->min_num;
    }
    return 0;
  };
  if (H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, visit, &innermost) < 0 || !innermost.seen) {
    return "no HDF5 error details";
  }
  if (innermost.desc.empty() && innermost.minor >= 0) {  // H5Eget_msg clears the stack: call it after the walk
    std::array<char, 256> text{};
    if (H5Eget_msg(innermost.minor, nullptr, text.data(), text.size()) > 0) innermost.desc = text.data();
  }
  return innermost.desc.empty() ? std::string("no HDF5 error details") : one_line(innermost.desc);
}

[[noreturn]] void fail(Blame blame, std::string_view operation, const Where& where, const std::string& detail) {
  const std::string message = "HDF5 " + std::string(operation) + " failed: file '" + where.file + "', object '" +
                              where.object + "': " + one_line(detail);
  if (blame == Blame::input) throw InputError(message);
  throw RuntimeFailure(message);
}

// Returns `result` unless it is negative (HDF5's failure value for hid_t, herr_t, htri_t, ssize_t).
template <class R>
R check(R result, Blame blame, std::string_view operation, const Where& where) {
  static_assert(std::is_signed_v<R>);
  if (result < 0) fail(blame, operation, where, innermost_hdf5_message());
  return result;
}

void silence_automatic_error_printing() {
  // Idempotent, and HDF5's state rather than ours: every entry point may call it.
  if (H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) < 0) {
    throw RuntimeFailure("HDF5 switching off automatic error printing failed: " + innermost_hdf5_message());
  }
}

// ---- types and extents -------------------------------------------------------------------------

hid_t memory_type(ElementType type) {
  switch (type) {
    case ElementType::float32: return H5T_NATIVE_FLOAT;
    case ElementType::float64: return H5T_NATIVE_DOUBLE;
    case ElementType::int8: return H5T_NATIVE_INT8;
    case ElementType::uint8: return H5T_NATIVE_UINT8;
    case ElementType::int32: return H5T_NATIVE_INT32;
    case ElementType::uint32: return H5T_NATIVE_UINT32;
    case ElementType::int64: return H5T_NATIVE_INT64;
  }
  return H5I_INVALID_HID;
}

// Little-endian in the file whatever the machine: the same bytes from every build.
hid_t file_type(ElementType type) {
  switch (type) {
    case ElementType::float32: return H5T_IEEE_F32LE;
    case ElementType::float64: return H5T_IEEE_F64LE;
    case ElementType::int8: return H5T_STD_I8LE;
    case ElementType::uint8: return H5T_STD_U8LE;
    case ElementType::int32: return H5T_STD_I32LE;
    case ElementType::uint32: return H5T_STD_U32LE;
    case ElementType::int64: return H5T_STD_I64LE;
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
    case H5T_INTEGER: name = H5Tget_sign(type) == H5T_SGN_2 ? "signed integer" : "unsigned integer"; break;
    case H5T_FLOAT: name = "floating point"; break;
    case H5T_STRING: name = "string"; break;
    case H5T_COMPOUND: name = "compound"; break;
    case H5T_ENUM: name = "enum"; break;
    case H5T_ARRAY: name = "array"; break;
    case H5T_VLEN: name = "variable-length sequence"; break;
    default: name = "class " + std::to_string(static_cast<int>(type_class)); break;
  }
  return name + " of " + std::to_string(size) + " bytes";
}

// A Dims as an hsize_t array for the C API (hsize_t is unsigned long long, std::uint64_t is not).
struct HsizeArray {
  std::array<hsize_t, H5S_MAX_RANK> values{};
  explicit HsizeArray(const Dims& dims) {
    for (std::size_t i = 0; i < dims.size() && i < values.size(); ++i) values[i] = dims[i];
  }
  const hsize_t* data() const { return values.data(); }
};

std::string dims_text(const Dims& dims) {
  std::string text = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) text += ", ";
    text += dims[i] == unlimited ? std::string("unlimited") : std::to_string(dims[i]);
  }
  return text + ")";
}

// Current and maximum extent of a simple dataspace.
struct Extent {
  Dims dims;
  Dims max_dims;
};

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
std::optional<std::uint64_t> product(const Dims& dims, std::size_t first = 0) {
  std::uint64_t total = 1;
  for (std::size_t i = first; i < dims.size(); ++i) {
    if (dims[i] != 0 && total > std::numeric_limits<std::uint64_t>::max() / dims[i]) return std::nullopt;
    total *= dims[i];
  }
  return total;
}

// ---- paths ------------------------------------------------------------------------------------

std::vector<std::string> path_components(const std::string& path) {
  std::vector<std::string> components;
  std::size_t begin = 0;
  while (begin <= path.size()) {
    const std::size_t end = std::min(path.find('/', begin), path.size());
    if (end > begin && path.compare(begin, end - begin, ".") != 0) components.push_back(path.substr(begin, end - begin));
    begin = end + 1;
  }
  return components;
}

// The absolute path of `path` seen from the group at `base`.
std::string join_path(const std::string& base, const std::string& path) {
  std::vector<std::string> components = path.starts_with('/') ? std::vector<std::string>{} : path_components(base);
  for (std::string& component : path_components(path)) components.push_back(std::move(component));
  std::string joined;
  for (const std::string& component : components) joined += "/" + component;
  return joined.empty() ? std::string("/") : joined;
}

PlistId intermediate_groups_lcpl(const Where& where) {
  PlistId lcpl(check(H5Pcreate(H5P_LINK_CREATE), Blame::runtime, "create link property list", where));
  check(H5Pset_create_intermediate_group(lcpl.get(), 1), Blame::runtime, "set intermediate group creation", where);
  return lcpl;
}

// ---- attributes --------------------------------------------------------------------------------

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

// ---- collective agreement ----------------------------------------------------------------------

// In a parallel file, every rank learns whether any rank found a problem with its arguments, so
// that all of them throw (instead of the good ones waiting forever inside H5Dwrite).
void agree_or_throw(const FileState& file, const std::string& problem, std::string_view operation,
                    const Where& where) {
  int bad = problem.empty() ? 0 : 1;
  if (file.parallel()) check_mpi(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, file.comm), "MPI_Allreduce");
  if (!problem.empty()) fail(Blame::runtime, operation, where, problem);
  if (bad != 0) fail(Blame::runtime, operation, where, "another rank passed invalid arguments to this collective write");
}

// After a collective HDF5 call that may fail on some ranks only: every rank throws the message of
// the lowest failing rank (serial files: just this one's).
void agree_after(const FileState& file, const std::string& failure, std::string_view operation, const Where& where) {
  if (!file.parallel()) {
    if (!failure.empty()) fail(Blame::runtime, operation, where, failure);
    return;
  }
  int rank = 0;
  int size = 0;
  check_mpi(MPI_Comm_rank(file.comm, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(file.comm, &size), "MPI_Comm_size");
  int first = failure.empty() ? size : rank;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, file.comm), "MPI_Allreduce");
  if (first == size) return;
  std::string message = failure;
  int length = static_cast<int>(message.size());
  check_mpi(MPI_Bcast(&length, 1, MPI_INT, first, file.comm), "MPI_Bcast");
  message.resize(static_cast<std::size_t>(length));
  check_mpi(MPI_Bcast(message.data(), length, MPI_CHAR, first, file.comm), "MPI_Bcast");
  fail(Blame::runtime, operation, where, rank == first ? message : message + " (on rank " + std::to_string(first) + ")");
}

// The innermost HDF5 message if `result` is negative, else "".
template <class R>
std::string failure_of(R result) {
  return result < 0 ? innermost_hdf5_message() : std::string();
}

// ---- files -------------------------------------------------------------------------------------

// MPI-IO hints of parallel files: two-phase collective buffering on, with 16 MiB buffers, so that the
// ranks' row blocks reach a striped parallel file system as few large aligned writes (on one local
// disk it made no difference beyond the noise, docs/output-format.md). ROMIO_HINTS still overrides.
class WriteHints {
 public:
  WriteHints() {
    check_mpi(MPI_Info_create(&info_), "MPI_Info_create");
    check_mpi(MPI_Info_set(info_, "romio_cb_write", "enable"), "MPI_Info_set (romio_cb_write)");
    check_mpi(MPI_Info_set(info_, "cb_buffer_size", "16777216"), "MPI_Info_set (cb_buffer_size)");
  }
  ~WriteHints() { MPI_Info_free(&info_); }
  WriteHints(const WriteHints&) = delete;
  WriteHints& operator=(const WriteHints&) = delete;
  MPI_Info get() const { return info_; }

 private:
  MPI_Info info_ = MPI_INFO_NULL;
};

// Metadata cache settings that keep metadata in memory until a flush (MetadataWrites::at_flush).
void hold_metadata_until_flush(hid_t fapl, const Where& where) {
  H5AC_cache_config_t config{};
  config.version = H5AC__CURR_CACHE_CONFIG_VERSION;
  check(H5Pget_mdc_config(fapl, &config), Blame::runtime, "get metadata cache configuration", where);
  constexpr std::size_t mib = 1024 * 1024;
  config.evictions_enabled = false;  // needs automatic resizing off
  config.incr_mode = H5C_incr__off;
  config.flash_incr_mode = H5C_flash_incr__off;
  config.decr_mode = H5C_decr__off;
  config.set_initial_size = true;
  config.initial_size = 32 * mib;
  config.min_size = 1 * mib;
  config.max_size = 128 * mib;            // HDF5's largest
  config.dirty_bytes_threshold = 32 * mib;  // HDF5's largest: synchronisation writes only past this
  check(H5Pset_mdc_config(fapl, &config), Blame::runtime, "set metadata cache configuration", where);
}

PlistId mpio_access_plist(MPI_Comm comm, MetadataWrites metadata, const Where& where) {
  PlistId fapl(check(H5Pcreate(H5P_FILE_ACCESS), Blame::runtime, "create file access property list", where));
  const WriteHints hints;  // H5Pset_fapl_mpio keeps a copy
  check(H5Pset_fapl_mpio(fapl.get(), comm, hints.get()), Blame::runtime, "select the MPI-IO driver", where);
  check(H5Pset_all_coll_metadata_ops(fapl.get(), 1), Blame::runtime, "set collective metadata reads", where);
  check(H5Pset_coll_metadata_write(fapl.get(), 1), Blame::runtime, "set collective metadata writes", where);
  if (metadata == MetadataWrites::at_flush) hold_metadata_until_flush(fapl.get(), where);
  return fapl;
}

PlistId sec2_access_plist(const Where& where) {
  PlistId fapl(check(H5Pcreate(H5P_FILE_ACCESS), Blame::runtime, "create file access property list", where));
  check(H5Pset_fapl_sec2(fapl.get()), Blame::runtime, "select the sec2 driver", where);
  return fapl;
}

std::shared_ptr<FileState> new_state(const std::string& path, MPI_Comm comm) {
  auto state = std::make_shared<FileState>();
  state->path = path;
  if (comm != MPI_COMM_NULL) check_mpi(MPI_Comm_dup(comm, &state->comm), "MPI_Comm_dup");
  return state;
}

const std::string root_path = "/";

}  // namespace

// ---- free functions ------------------------------------------------------------------------------

std::string_view name_of(ElementType type) {
  switch (type) {
    case ElementType::float32: return "float32";
    case ElementType::float64: return "float64";
    case ElementType::int8: return "int8";
    case ElementType::uint8: return "uint8";
    case ElementType::int32: return "int32";
    case ElementType::uint32: return "uint32";
    case ElementType::int64: return "int64";
  }
  return "unknown";
}

std::string describe_no_collective_cause(std::uint32_t cause) {
  if (cause == H5D_MPIO_COLLECTIVE) return "collective";
  static constexpr std::array<std::pair<std::uint32_t, const char*>, 8> names{{
      {H5D_MPIO_SET_INDEPENDENT, "independent I/O requested"},
      {H5D_MPIO_DATATYPE_CONVERSION, "datatype conversion"},
      {H5D_MPIO_DATA_TRANSFORMS, "data transforms"},
      {H5D_MPIO_MPI_OPT_TYPES_ENV_VAR_DISABLED, "MPI derived types disabled by environment"},
      {H5D_MPIO_NOT_SIMPLE_OR_SCALAR_DATASPACES, "dataspace neither simple nor scalar"},
      {H5D_MPIO_NOT_CONTIGUOUS_OR_CHUNKED_DATASET, "dataset neither contiguous nor chunked"},
      {H5D_MPIO_PARALLEL_FILTERED_WRITES_DISABLED, "parallel filtered writes disabled"},
      {H5D_MPIO_ERROR_WHILE_CHECKING_COLLECTIVE_POSSIBLE, "error while checking whether collective I/O is possible"},
  }};
  std::string text;
  std::uint32_t rest = cause;
  for (const auto& [bit, name] : names) {
    if ((cause & bit) == 0) continue;
    if (!text.empty()) text += '|';
    text += name;
    rest &= ~bit;
  }
  if (rest != 0) {
    if (!text.empty()) text += '|';
    text += "unknown cause " + std::to_string(rest);
  }
  return text;
}

bool is_hdf5_file(const std::string& path) {
  silence_automatic_error_printing();
  return H5Fis_hdf5(path.c_str()) > 0;  // negative (missing, unreadable) means "no" here
}

// ---- File ----------------------------------------------------------------------------------------

File File::create_parallel(const std::string& path, MPI_Comm comm, MetadataWrites metadata) {
  silence_automatic_error_printing();
  const Where where{path, root_path};
  const PlistId fapl = mpio_access_plist(comm, metadata, where);
  auto state = new_state(path, comm);
  state->id = FileId(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), Blame::runtime,
                           "create parallel file", where));
  return File(std::move(state));
}

File File::open_parallel(const std::string& path, MPI_Comm comm, bool writable, MetadataWrites metadata) {
  silence_automatic_error_printing();
  const Where where{path, root_path};
  const PlistId fapl = mpio_access_plist(comm, metadata, where);
  auto state = new_state(path, comm);
  state->id = FileId(check(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get()), Blame::input,
                           writable ? "open parallel file for writing" : "open parallel file for reading", where));
  return File(std::move(state));
}

File File::create_serial(const std::string& path, std::uint64_t userblock_bytes) {
  silence_automatic_error_printing();
  const Where where{path, root_path};
  const PlistId fapl = sec2_access_plist(where);
  const PlistId fcpl(check(H5Pcreate(H5P_FILE_CREATE), Blame::runtime, "create file creation property list", where));
  if (userblock_bytes > 0)
    check(H5Pset_userblock(fcpl.get(), userblock_bytes), Blame::runtime, "set user block size", where);
  auto state = new_state(path, MPI_COMM_NULL);
  state->id = FileId(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), Blame::runtime,
                           "create file", where));
  return File(std::move(state));
}

File File::open_read(const std::string& path) {
  silence_automatic_error_printing();
  const Where where{path, root_path};
  const PlistId fapl = sec2_access_plist(where);
  auto state = new_state(path, MPI_COMM_NULL);
  state->id =
      FileId(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), Blame::input, "open file for reading", where));
  return File(std::move(state));
}

File File::open_writable_serial(const std::string& path) {
  silence_automatic_error_printing();
  const Where where{path, root_path};
  const PlistId fapl = sec2_access_plist(where);
  auto state = new_state(path, MPI_COMM_NULL);
  state->id =
      FileId(check(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()), Blame::input, "open file for writing", where));
  return File(std::move(state));
}

const detail::FileState& File::state() const {
  if (!state_) throw RuntimeFailure("HDF5 use of a closed or moved-from h5::File");
  return *state_;
}

const std::string& File::path() const { return state().path; }

bool File::is_parallel() const { return state().parallel(); }

Group File::root() const {
  const Where where{state().path, root_path};
  const hid_t id = check(H5Gopen2(state().id.get(), "/", H5P_DEFAULT), Blame::runtime, "open root group", where);
  return Group(state_, root_path, id);
}

void File::flush() const {
  agree_after(state(), failure_of(H5Fflush(state().id.get(), H5F_SCOPE_GLOBAL)), "flush", Where{state().path, root_path});
}

void File::close() {
  if (!state_) return;
  const Where where{state_->path, root_path};
  if (state_.use_count() > 1) {
    fail(Blame::runtime, "close", where,
         std::to_string(state_.use_count() - 1) + " group or dataset object(s) of the file are still alive");
  }
  const std::shared_ptr<FileState> state = std::move(state_);
  agree_after(*state, failure_of(H5Fclose(state->id.release())), "close", where);
}

std::int64_t File::open_object_count() const {
  return check(H5Fget_obj_count(state().id.get(), H5F_OBJ_ALL), Blame::runtime, "count open objects",
               Where{state().path, root_path});
}

TransferReport File::last_transfer() const { return state().last; }

// ---- Object --------------------------------------------------------------------------------------

Object::Object(std::shared_ptr<detail::FileState> file, std::string path) : file_(std::move(file)), path_(std::move(path)) {}

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
  requires is_attribute_type_v<T>
T Object::read_attribute(const std::string& name) const {
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
  constexpr bool wants_scalar = std::is_same_v<T, std::string> || std::is_same_v<T, std::int64_t> ||
                                std::is_same_v<T, double>;
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

// ---- Group ---------------------------------------------------------------------------------------

Group::Group(std::shared_ptr<detail::FileState> file, std::string path, std::int64_t id)
    : Object(std::move(file), std::move(path)), handle_(id) {}

Group Group::create_group(const std::string& path) const {
  const std::string full = join_path(this->path(), path);
  const Where where{file_path(), full};
  const PlistId lcpl = intermediate_groups_lcpl(where);
  const hid_t id = check(H5Gcreate2(handle_.get(), path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                         Blame::runtime, "create group", where);
  return Group(file(), full, id);
}

Group Group::open_group(const std::string& path) const {
  const std::string full = join_path(this->path(), path);
  const hid_t id =
      check(H5Gopen2(handle_.get(), path.c_str(), H5P_DEFAULT), Blame::input, "open group", Where{file_path(), full});
  return Group(file(), full, id);
}

bool Group::exists(const std::string& path) const {
  const std::string full = join_path(this->path(), path);
  const Where where{file_path(), full};
  const std::vector<std::string> components = path_components(path);
  std::string prefix = path.starts_with('/') ? "/" : "";
  for (std::size_t i = 0; i < components.size(); ++i) {
    prefix += components[i];
    if (check(H5Lexists(handle_.get(), prefix.c_str(), H5P_DEFAULT), Blame::input, "look for link", where) == 0) {
      return false;
    }
    if (check(H5Oexists_by_name(handle_.get(), prefix.c_str(), H5P_DEFAULT), Blame::input, "look for object",
              where) == 0) {
      return false;  // a dangling soft or external link
    }
    if (i + 1 < components.size()) {  // the path goes on only through groups
      H5O_info_t info;
      check(H5Oget_info_by_name2(handle_.get(), prefix.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT), Blame::input,
            "look for group", where);
      if (info.type != H5O_TYPE_GROUP) return false;
    }
    prefix += '/';
  }
  return true;
}

void Group::remove(const std::string& path) const {
  const Where where{file_path(), join_path(this->path(), path)};
  check(H5Ldelete(handle_.get(), path.c_str(), H5P_DEFAULT), Blame::runtime, "remove object", where);
}

std::vector<std::string> Group::dataset_paths() const {
  const Where where{file_path(), path()};
  struct Visit {
    std::string base;
    std::vector<std::string> paths;
  } visit{path() == "/" ? std::string() : path(), {}};
  const auto collect = [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
    auto* out = static_cast<Visit*>(data);
    if (info->type == H5O_TYPE_DATASET) out->paths.push_back(out->base + "/" + name);
    return 0;
  };
  check(H5Ovisit2(handle_.get(), H5_INDEX_NAME, H5_ITER_INC, collect, &visit, H5O_INFO_BASIC), Blame::input,
        "list datasets", where);
  return visit.paths;
}

Dataset Group::create_dataset_of(ElementType type, const std::string& path, const Dims& dims,
                                 const DatasetOptions& options) const {
  const std::string full = join_path(this->path(), path);
  const Where where{file_path(), full};
  const std::string_view operation = "create dataset";
  const std::size_t rank = dims.size();
  if (rank == 0 || rank > H5S_MAX_RANK) {
    fail(Blame::runtime, operation, where, "a dataset needs 1 to 32 axes, got " + std::to_string(rank));
  }
  const Dims max_dims = options.max_dims.empty() ? dims : options.max_dims;
  if (max_dims.size() != rank) {
    fail(Blame::runtime, operation, where, "max_dims " + dims_text(max_dims) + " do not match dims " + dims_text(dims));
  }
  bool growable = false;
  for (std::size_t i = 0; i < rank; ++i) {
    if (max_dims[i] != unlimited && max_dims[i] < dims[i]) {
      fail(Blame::runtime, operation, where, "max_dims " + dims_text(max_dims) + " below dims " + dims_text(dims));
    }
    growable = growable || max_dims[i] != dims[i];
  }
  if (options.deflate < 0 || options.deflate > 9) {
    fail(Blame::runtime, operation, where, "deflate level must be 0..9, got " + std::to_string(options.deflate));
  }
  Dims chunk = options.chunk;
  if (chunk.empty() && (growable || options.deflate > 0)) {
    // Whole inner axes; as many rows as fit in about 256 KiB (at least one).
    chunk.assign(rank, 1);
    std::uint64_t row_bytes = size_of(type);
    for (std::size_t i = 1; i < rank; ++i) {
      chunk[i] = std::max<std::uint64_t>(1, max_dims[i] == unlimited ? dims[i] : max_dims[i]);
      row_bytes = row_bytes > (std::uint64_t{1} << 40) / chunk[i] ? (std::uint64_t{1} << 40) : row_bytes * chunk[i];
    }
    const std::uint64_t rows_limit = max_dims[0] == unlimited ? std::numeric_limits<std::uint64_t>::max() : max_dims[0];
    chunk[0] = std::clamp<std::uint64_t>((std::uint64_t{1} << 18) / row_bytes, 1, std::max<std::uint64_t>(1, rows_limit));
  }
  if (!chunk.empty()) {
    if (chunk.size() != rank) {
      fail(Blame::runtime, operation, where, "chunk " + dims_text(chunk) + " does not match dims " + dims_text(dims));
    }
    for (std::uint64_t extent : chunk) {
      if (extent == 0 || extent == unlimited) {
        fail(Blame::runtime, operation, where, "chunk " + dims_text(chunk) + " needs finite extents >= 1");
      }
    }
  }

  const HsizeArray current(dims);
  const HsizeArray maximum(max_dims);
  const int hdf5_rank = static_cast<int>(rank);
  const SpaceId space(check(H5Screate_simple(hdf5_rank, current.data(), maximum.data()), Blame::runtime, operation, where));
  const PlistId dcpl(check(H5Pcreate(H5P_DATASET_CREATE), Blame::runtime, operation, where));
  if (!chunk.empty()) {
    const HsizeArray chunk_dims(chunk);
    check(H5Pset_chunk(dcpl.get(), hdf5_rank, chunk_dims.data()), Blame::runtime, "set chunk shape", where);
  }
  if (options.written_whole) {
    check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), Blame::runtime, "set fill time never", where);
  }
  if (options.deflate > 0) {
    if (check(H5Zfilter_avail(H5Z_FILTER_DEFLATE), Blame::runtime, operation, where) == 0) {
      fail(Blame::runtime, operation, where, "this HDF5 library has no deflate (zlib) filter");
    }
    check(H5Pset_shuffle(dcpl.get()), Blame::runtime, "set shuffle filter", where);
    check(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options.deflate)), Blame::runtime, "set deflate filter", where);
  }
  const PlistId lcpl = intermediate_groups_lcpl(where);
  const hid_t id = check(H5Dcreate2(handle_.get(), path.c_str(), file_type(type), space.get(), lcpl.get(), dcpl.get(),
                                    H5P_DEFAULT),
                         Blame::runtime, operation, where);
  return Dataset(file(), full, id);
}

Dataset Group::open_dataset(const std::string& path) const {
  const std::string full = join_path(this->path(), path);
  const hid_t id =
      check(H5Dopen2(handle_.get(), path.c_str(), H5P_DEFAULT), Blame::input, "open dataset", Where{file_path(), full});
  return Dataset(file(), full, id);
}

// ---- Dataset -------------------------------------------------------------------------------------

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
  check(H5Dread(handle_.get(), memory_type(type), memory_space.get(), file_space.get(), H5P_DEFAULT, out),
        Blame::input, operation, where);
}

}  // namespace manyworlds::h5
