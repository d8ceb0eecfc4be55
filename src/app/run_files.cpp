// The run's side files: names, the disk-space reserve and what stays after a failure.
#include "manyworlds/app/run_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "manyworlds/app/estimate.hpp"
#include "manyworlds/app/machine.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/io/checkpoint.hpp"

namespace manyworlds {

RunFiles RunFiles::for_output(const std::string& output) {
  return {output, output + ".partial", checkpoint_path_for(output), output + ".reserve"};
}

SpaceReserve::SpaceReserve(std::string path, std::uint64_t bytes) : path_(std::move(path)) {
  const int descriptor = ::open(path_.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (descriptor < 0) {
    const std::string message = "cannot create " + path_ + " to hold back disk space: " + std::strerror(errno);
    path_.clear();
    throw ResourceError(message);
  }
  int result = ::posix_fallocate(descriptor, 0, static_cast<off_t>(bytes));
  if (::close(descriptor) != 0 && result == 0) result = errno;
  if (result != 0) {
    const std::string message = "cannot hold back " + std::to_string(bytes >> 20) + " MiB beside the output (" + path_ +
                                "): " + std::strerror(result) + "; free disk space there or choose another --output";
    release();
    throw ResourceError(message);
  }
}

SpaceReserve& SpaceReserve::operator=(SpaceReserve&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

void SpaceReserve::release() noexcept {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
  path_.clear();
}

void secure_output_space(const std::string& partial, double bytes, const std::string& what) {
  const double wanted = std::ceil(std::max(0.0, bytes)) + static_cast<double>(output_space_margin);
  const auto full = [&](const std::string& cause) {
    return RuntimeFailure("the disk of " + partial + " is full: " + what + " needs about " + human_bytes(wanted) +
                          " more (" + cause + ")");
  };
  const int descriptor = ::open(partial.c_str(), O_WRONLY);
  if (descriptor < 0)
    throw RuntimeFailure("cannot open " + partial + " to make room for " + what + ": " + std::strerror(errno));
  struct stat status {};
  int result = ::fstat(descriptor, &status) == 0 ? 0 : errno;
  if (result == 0) {
    result = ::fallocate(descriptor, FALLOC_FL_KEEP_SIZE, status.st_size, static_cast<off_t>(wanted)) == 0 ? 0 : errno;
  }
  ::close(descriptor);
  if (result == 0) return;
  const std::filesystem::path parent = std::filesystem::path(partial).parent_path();
  const std::string folder = parent.empty() ? std::string(".") : parent.string();
  if (result == ENOSPC || result == EDQUOT) {
    const std::optional<double> free = free_disk_bytes(folder);
    throw full(std::string(std::strerror(result)) + (free ? "; " + human_bytes(*free) + " free" : std::string()));
  }
  if (result != EOPNOTSUPP && result != ENOSYS && result != EINVAL)
    throw RuntimeFailure("cannot make room for " + what + " after the end of " + partial + ": " +
                         std::strerror(result));
  // No preallocation here (some network file systems): the free space must cover the need.
  const std::optional<double> free = free_disk_bytes(folder);
  if (free && *free < wanted) throw full(human_bytes(*free) + " free");
}

void trim_output_space(const std::string& path) noexcept {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return;
  [[maybe_unused]] const int ignored = ::truncate(path.c_str(), status.st_size);
}

std::string clean_up_after_failure(const RunFiles& files, const std::string& job_file) {
  std::error_code ignored;
  std::filesystem::remove(files.checkpoint + ".tmp", ignored);
  if (std::filesystem::exists(files.checkpoint, ignored)) {
    trim_output_space(files.partial);
    return "; kept " + files.partial + " and " + files.checkpoint +
           ": fix the cause and continue with: manyworlds run " + job_file + " -o " + files.output + " --resume";
  }
  std::filesystem::remove(files.partial, ignored);
  return "; no checkpoint yet, so nothing was kept";
}

}  // namespace manyworlds
