// The run's side files: names, the disk-space reserve and what stays after a failure.
#include "manyworlds/app/run_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

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
    const std::string message = "cannot hold back " + std::to_string(bytes >> 20) + " MiB beside the output (" +
                                path_ + "): " + std::strerror(result) + "; free disk space there or choose another --output";
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

std::string clean_up_after_failure(const RunFiles& files, const std::string& job_file) {
  std::error_code ignored;
  std::filesystem::remove(files.checkpoint + ".tmp", ignored);
  if (std::filesystem::exists(files.checkpoint, ignored))
    return "; kept " + files.partial + " and " + files.checkpoint + ": fix the cause and continue with: manyworlds run " +
           job_file + " -o " + files.output + " --resume";
  std::filesystem::remove(files.partial, ignored);
  return "; no checkpoint yet, so nothing was kept";
}

}  // namespace manyworlds
