// An HDF5 file, parallel (MPI-IO, collective) or serial: creating, opening, flushing and closing it.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>

#include "manyworlds/io/hdf5_group.hpp"

namespace manyworlds::h5 {

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
