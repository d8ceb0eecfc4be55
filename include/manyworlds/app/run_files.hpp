// The files a run writes beside its output, the disk space it holds back, and cleaning up after a failure.
#pragma once

#include <cstdint>
#include <string>

namespace manyworlds {

// OUTPUT.partial (the output until it is complete), OUTPUT.checkpoint (and .checkpoint.tmp while
// one is written), OUTPUT.reserve (disk space held back, see SpaceReserve).
struct RunFiles {
  std::string output;
  std::string partial;
  std::string checkpoint;
  std::string reserve;

  static RunFiles for_output(const std::string& output);
};

// Bytes held back by SpaceReserve: far more than the output's metadata changes between two flushes.
inline constexpr std::uint64_t reserve_bytes = std::uint64_t{4} << 20;

// Disk space held back on the output's file system (an allocated file), so that after a "disk
// full" failure the output can still be closed cleanly (its metadata written in full) once the
// reserve is released. Removed on release() and on destruction.
class SpaceReserve {
 public:
  SpaceReserve() = default;
  // ResourceError naming the folder if the space cannot be allocated.
  SpaceReserve(std::string path, std::uint64_t bytes);
  ~SpaceReserve() { release(); }
  SpaceReserve(SpaceReserve&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  SpaceReserve& operator=(SpaceReserve&& other) noexcept;
  SpaceReserve(const SpaceReserve&) = delete;
  SpaceReserve& operator=(const SpaceReserve&) = delete;

  void release() noexcept;

 private:
  std::string path_;
};

// Bytes added to every securing of output space below: the file's metadata (written when it is
// flushed, at addresses HDF5 took since) and anything the upper bounds of OutputFile miss.
inline constexpr std::uint64_t output_space_margin = std::uint64_t{2} << 20;

// Rank 0, before collective HDF5 calls that let OUTPUT.partial grow by up to `bytes` (an upper
// bound; output_space_margin is added): allocates that space on disk after the file's end with
// fallocate(FALLOC_FL_KEEP_SIZE) -- the file's size does not change, and the writes that follow land
// in blocks the file already owns, so a disk that fills meanwhile cannot fail them. Where the file
// system cannot preallocate, compares the free space (statvfs) instead. Throws RuntimeFailure (exit
// code 1) naming the need and the free space if the room is not there. Called inside agreed(), so
// every rank stops before the HDF5 calls: parallel HDF5 allocates chunks when a dataset grows, and a
// rank that fails there skips a barrier the other ranks wait in.
void secure_output_space(const std::string& partial, double bytes, const std::string& what);

// Rank 0, with the output closed: frees what secure_output_space allocated after the file's end and
// the writes did not use (truncating the file to its own size). Best effort: errors are ignored.
void trim_output_space(const std::string& path) noexcept;

// Rank 0, after a failure, with the output closed: removes OUTPUT.checkpoint.tmp; keeps
// OUTPUT.partial when OUTPUT.checkpoint exists to resume from, else removes it. Returns the end of
// the error message saying what was kept and how to go on.
std::string clean_up_after_failure(const RunFiles& files, const std::string& job_file);

}  // namespace manyworlds
