// Preflight: output folder, disk space, memory and sampling constraints, checked before anything is created.
#include "manyworlds/app/preflight.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "manyworlds/app/machine.hpp"
#include "manyworlds/app/run_files.hpp"
#include "manyworlds/core/errors.hpp"

namespace manyworlds {

namespace {

std::string folder_of(const std::string& output) {
  const std::filesystem::path path(output);
  return path.has_parent_path() ? path.parent_path().string() : std::string(".");
}

std::string on_rank(const PreflightTarget& target) {
  return target.ranks > 1 ? " (rank " + std::to_string(target.rank) + ")" : "";
}

void check_paths(const PreflightTarget& target) {
  const std::string folder = folder_of(target.output);
  if (!std::filesystem::is_directory(folder))
    throw InputError("output " + target.output + ": the folder " + folder + " does not exist" + on_rank(target) +
                     "; create it or pass another --output");
  if (std::filesystem::is_directory(target.output))
    throw InputError("output " + target.output + " is a folder; pass a file path with --output (e.g. " +
                     (std::filesystem::path(target.output) / "run.h5").string() + ")");
}

// Creates and removes a probe file where the output will be written.
void probe_writable(const PreflightTarget& target) {
  const std::string folder = folder_of(target.output);
  const std::string probe = target.output + ".probe-" + std::to_string(::getpid());
  const int descriptor = ::open(probe.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
  if (descriptor < 0)
    throw ResourceError("output folder " + folder + " is not writable" + on_rank(target) + " (" + std::strerror(errno) +
                        "); make it writable or pass another --output");
  const int closed = ::close(descriptor);
  const int saved = errno;
  std::error_code removed;
  std::filesystem::remove(probe, removed);
  if (closed != 0 || removed)
    throw ResourceError("output folder " + folder + " is not writable" + on_rank(target) + " (" +
                        (closed != 0 ? std::strerror(saved) : removed.message()) +
                        "); make it writable or pass another --output");
}

double size_or_zero(const std::string& path) {
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  return error ? 0.0 : static_cast<double>(size);
}

void check_space(const ResourceEstimate& estimate, const PreflightTarget& target) {
  const RunFiles files = RunFiles::for_output(target.output);
  const std::optional<double> free = free_disk_bytes(folder_of(target.output));
  if (!free) return;
  const double written = target.resume ? size_or_zero(files.partial) : 0.0;
  const double needed = std::max(0.0, estimate.output_bytes - written) + 2 * estimate.checkpoint_bytes +
                        static_cast<double>(reserve_bytes);
  const double available = *free + size_or_zero(files.reserve);  // a reserve left by a killed run is replaced
  if (available < needed)
    throw ResourceError("output folder " + folder_of(target.output) + " has " + human_bytes(available) + " free" +
                        on_rank(target) + ", the run needs about " + human_bytes(needed) + " (output at most " +
                        human_bytes(estimate.output_bytes) + ", checkpoints, " +
                        human_bytes(static_cast<double>(reserve_bytes)) +
                        " held back); free space there or pass another --output");
}

void check_memory(const Job& job, const ResourceEstimate& estimate, const PreflightTarget& target) {
  const double needed = estimate.memory_per_rank_bytes;
  const std::string fix =
      "; run on more ranks or nodes, or lower run.worlds or world.horizon_days (" + job.config.file + ")";
  if (const std::optional<MemoryLimit> limit = memory_limit(target.ranks_on_node); limit && limit->bytes < needed)
    throw ResourceError("each rank needs about " + human_bytes(needed) + " of memory with " +
                        std::to_string(target.ranks) + " rank(s), but only " + human_bytes(limit->bytes) +
                        " is available" + on_rank(target) + " (" + limit->source + ")" + fix);
  const double still_to_come = std::max(0.0, needed - resident_bytes());
  if (const std::optional<double> headroom = address_space_headroom(); headroom && *headroom < still_to_come)
    throw ResourceError("each rank needs about " + human_bytes(needed) +
                        " of memory, but the address-space limit (ulimit -v) "
                        "leaves this process " +
                        human_bytes(std::max(0.0, *headroom)) + " more" + on_rank(target) + "; raise ulimit -v" + fix);
}

void check_sampling(const Job& job, const ResourceEstimate& estimate) {
  const JobConfig& config = job.config;
  if (config.sampling.mode == SamplingMode::without_replacement &&
      static_cast<double>(config.sampling.batch_size) > estimate.experiences_per_iteration)
    throw InputError(config.file + ": 'sampling.batch_size' = " + std::to_string(config.sampling.batch_size) +
                     " exceeds the about " +
                     std::to_string(static_cast<std::int64_t>(std::floor(estimate.experiences_per_iteration))) +
                     " experiences an iteration produces, and mode 'without_replacement' draws each at most once; "
                     "lower the batch size, or raise run.worlds, run.episodes_per_iteration or world.horizon_days");
  if (!estimate.fits_buffer)
    throw ResourceError(config.file + ": the busiest rank is expected to hold about " +
                        std::to_string(static_cast<std::int64_t>(estimate.experiences_per_rank)) +
                        " experiences per iteration, above 'run.max_experiences_per_rank' = " +
                        std::to_string(config.run.max_experiences_per_rank) + "; run on more ranks or raise the limit");
}

}  // namespace

void preflight(const Job& job, const ResourceEstimate& estimate, const PreflightTarget& target) {
  check_paths(target);
  check_sampling(job, estimate);
  check_memory(job, estimate, target);
  probe_writable(target);
  check_space(estimate, target);
}

}  // namespace manyworlds
