// HDF5 files: parallel (MPI-IO with write hints, metadata held until a flush) and serial; the identifiers' close.
#include <memory>
#include <string>

#include "hdf5_internal.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/parallel/mpi_error.hpp"

namespace manyworlds::h5 {

namespace detail {

void close_id(IdKind kind, std::int64_t id) noexcept {
  switch (kind) {
    case IdKind::file:
      H5Fclose(id);
      break;
    case IdKind::group:
      H5Gclose(id);
      break;
    case IdKind::dataset:
      H5Dclose(id);
      break;
    case IdKind::dataspace:
      H5Sclose(id);
      break;
    case IdKind::datatype:
      H5Tclose(id);
      break;
    case IdKind::property_list:
      H5Pclose(id);
      break;
    case IdKind::attribute:
      H5Aclose(id);
      break;
  }
}

}  // namespace detail

using namespace detail;

namespace {

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
  constexpr std::size_t mib = std::size_t{1024} * 1024;
  config.evictions_enabled = false;  // needs automatic resizing off
  config.incr_mode = H5C_incr__off;
  config.flash_incr_mode = H5C_flash_incr__off;
  config.decr_mode = H5C_decr__off;
  config.set_initial_size = true;
  config.initial_size = 32 * mib;
  config.min_size = 1 * mib;
  config.max_size = 128 * mib;              // HDF5's largest
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

bool is_hdf5_file(const std::string& path) {
  silence_automatic_error_printing();
  return H5Fis_hdf5(path.c_str()) > 0;  // negative (missing, unreadable) means "no" here
}

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
  state->id = FileId(
      check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), Blame::runtime, "create file", where));
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
  agree_after(state(), failure_of(H5Fflush(state().id.get(), H5F_SCOPE_GLOBAL)), "flush",
              Where{state().path, root_path});
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

}  // namespace manyworlds::h5
