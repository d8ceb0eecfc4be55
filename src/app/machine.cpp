// Memory and disk limits read from /proc, /sys/fs/cgroup, getrlimit, statvfs and SLURM's environment.
#include "manyworlds/app/machine.hpp"

#include <sys/resource.h>
#include <sys/statvfs.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace manyworlds {

namespace {

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// The cgroup of this process (v2 "0::/path", or v1's memory controller "N:memory:/path").
std::optional<MemoryLimit> cgroup_limit() {
  const std::optional<std::string> groups = read_small_file("/proc/self/cgroup");
  if (!groups) return std::nullopt;
  std::istringstream lines(*groups);
  std::string line;
  while (std::getline(lines, line)) {
    const std::size_t first = line.find(':');
    const std::size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    const std::string file = controllers.empty()       ? "/sys/fs/cgroup" + path + "/memory.max"
                             : controllers == "memory" ? "/sys/fs/cgroup/memory" + path + "/memory.limit_in_bytes"
                                                       : std::string();
    if (file.empty()) continue;
    const std::optional<std::string> text = read_small_file(file);
    if (!text) continue;
    if (const std::optional<double> bytes = cgroup_limit_bytes(*text))
      return MemoryLimit{*bytes, "the cgroup limit " + file};
  }
  return std::nullopt;
}

void tighten(std::optional<MemoryLimit>& best, std::optional<MemoryLimit> candidate) {
  if (candidate && (!best || candidate->bytes < best->bytes)) best = std::move(candidate);
}

}  // namespace

std::optional<double> kib_field(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream value(line.substr(key.size() + 1));
    double kib = 0;
    if (value >> kib) return kib * 1024.0;
  }
  return std::nullopt;
}

std::optional<double> cgroup_limit_bytes(const std::string& text) {
  std::istringstream in(text);
  double bytes = 0;
  if (!(in >> bytes) || bytes <= 0 || bytes >= 9.0e18) return std::nullopt;  // "max", or v1's "no limit" value
  return bytes;
}

std::optional<double> slurm_megabytes(const std::string& text) {
  std::istringstream in(text);
  double value = 0;
  if (!(in >> value) || value <= 0) return std::nullopt;
  char unit = 'M';
  in >> unit;
  switch (unit) {
    case 'K':
    case 'k':
      return value * 1024.0;
    case 'G':
    case 'g':
      return value * 1024.0 * 1024.0 * 1024.0;
    case 'T':
    case 't':
      return value * 1024.0 * 1024.0 * 1024.0 * 1024.0;
    default:
      return value * 1024.0 * 1024.0;
  }
}

std::optional<MemoryLimit> memory_limit(int ranks_on_node) {
  const double sharing = ranks_on_node > 0 ? ranks_on_node : 1;
  const std::string shared =
      ranks_on_node > 1 ? " shared by " + std::to_string(ranks_on_node) + " ranks on this node" : "";
  std::optional<MemoryLimit> best;
  if (const auto meminfo = read_small_file("/proc/meminfo"))
    if (const auto available = kib_field(*meminfo, "MemAvailable"))
      tighten(best, MemoryLimit{*available / sharing, "MemAvailable in /proc/meminfo" + shared});
  if (auto cgroup = cgroup_limit()) tighten(best, MemoryLimit{cgroup->bytes / sharing, cgroup->source + shared});
  if (const auto per_cpu = environment("SLURM_MEM_PER_CPU"))
    if (const auto bytes = slurm_megabytes(*per_cpu)) {
      const double cpus =
          environment("SLURM_CPUS_PER_TASK") ? std::max(1.0, std::atof(std::getenv("SLURM_CPUS_PER_TASK"))) : 1.0;
      tighten(best, MemoryLimit{*bytes * cpus, "SLURM_MEM_PER_CPU (sbatch --mem-per-cpu)"});
    }
  if (const auto per_node = environment("SLURM_MEM_PER_NODE"))
    if (const auto bytes = slurm_megabytes(*per_node))
      tighten(best, MemoryLimit{*bytes / sharing, "SLURM_MEM_PER_NODE (sbatch --mem)" + shared});
  return best;
}

std::optional<double> address_space_headroom() {
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  double mapped = 0;
  if (const auto status = read_small_file("/proc/self/status")) mapped = kib_field(*status, "VmSize").value_or(0);
  return static_cast<double>(limit.rlim_cur) - mapped;
}

double resident_bytes() {
  const auto status = read_small_file("/proc/self/status");
  return status ? kib_field(*status, "VmRSS").value_or(0) : 0;
}

std::optional<double> free_disk_bytes(const std::string& folder) {
  struct statvfs info {};
  if (statvfs(folder.c_str(), &info) != 0) return std::nullopt;
  return static_cast<double>(info.f_bavail) * static_cast<double>(info.f_frsize);
}

}  // namespace manyworlds
