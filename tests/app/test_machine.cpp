// Parsing of the memory facts the preflight reads from /proc, cgroups and SLURM.
#include <gtest/gtest.h>

#include "manyworlds/app/machine.hpp"

namespace manyworlds {
namespace {

TEST(Machine, ReadsKibFieldsOfProcFiles) {
  const std::string meminfo = "MemTotal:       24576000 kB\nMemFree:         1000 kB\nMemAvailable:   20000000 kB\n";
  EXPECT_EQ(kib_field(meminfo, "MemAvailable"), 20000000.0 * 1024);
  EXPECT_EQ(kib_field(meminfo, "MemTotal"), 24576000.0 * 1024);
  EXPECT_FALSE(kib_field(meminfo, "VmRSS"));
}

TEST(Machine, ReadsCgroupLimitsAndTheirAbsence) {
  EXPECT_EQ(cgroup_limit_bytes("1073741824\n"), 1073741824.0);
  EXPECT_FALSE(cgroup_limit_bytes("max\n"));
  EXPECT_FALSE(cgroup_limit_bytes("9223372036854771712\n"));  // cgroup v1 without a limit
}

TEST(Machine, ReadsSlurmMemoryInMegabytesByDefault) {
  EXPECT_EQ(slurm_megabytes("4000"), 4000.0 * 1024 * 1024);
  EXPECT_EQ(slurm_megabytes("2G"), 2.0 * 1024 * 1024 * 1024);
  EXPECT_FALSE(slurm_megabytes("0"));
  EXPECT_FALSE(slurm_megabytes("lots"));
}

TEST(Machine, KnowsSomeMemoryLimitAndFreeDiskSpaceHere) {
  ASSERT_TRUE(memory_limit(1));  // /proc/meminfo exists on Linux
  EXPECT_GT(memory_limit(1)->bytes, memory_limit(4)->bytes);
  EXPECT_TRUE(free_disk_bytes("."));
  EXPECT_FALSE(free_disk_bytes("/no/such/folder"));
}

}  // namespace
}  // namespace manyworlds
