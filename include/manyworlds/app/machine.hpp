// What the machine grants this process: memory it may use and free disk space, from Linux and SLURM.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace manyworlds {

// A memory ceiling for one process and where it comes from (named in error messages).
struct MemoryLimit {
  double bytes = 0;
  std::string source;  // e.g. "MemAvailable in /proc/meminfo shared by 4 ranks on this node"
};

// The tightest of: MemAvailable (/proc/meminfo) and the cgroup memory limit (v2 memory.max or
// v1 memory.limit_in_bytes), each shared by `ranks_on_node` processes; SLURM's SLURM_MEM_PER_CPU
// (times SLURM_CPUS_PER_TASK) and SLURM_MEM_PER_NODE (shared by `ranks_on_node`). nullopt when
// none is known. The address-space limit (ulimit -v) is separate: address_space_headroom().
std::optional<MemoryLimit> memory_limit(int ranks_on_node);

// How much more this process may map under RLIMIT_AS (ulimit -v), or nullopt if unlimited.
std::optional<double> address_space_headroom();
// This process's resident memory now (VmRSS), in bytes.
double resident_bytes();

// Parsers, exposed for the unit tests: a "Key:   123 kB" field of /proc/meminfo or /proc/self/status
// (bytes), a cgroup limit file ("max" is none), SLURM's memory variables ("4000" or "4G": MB by default).
std::optional<double> kib_field(const std::string& text, const std::string& key);
std::optional<double> cgroup_limit_bytes(const std::string& text);
std::optional<double> slurm_megabytes(const std::string& text);

// Bytes free for an unprivileged user on the file system holding `folder`; nullopt if unknown.
std::optional<double> free_disk_bytes(const std::string& folder);

}  // namespace manyworlds
