// agreed(): an allocation failure on one rank becomes the same exit code 5 and message naming the memory keys on every
// rank.
#include <gtest/gtest.h>

#include <boost/mpi/communicator.hpp>
#include <new>
#include <string>

#include "manyworlds/app/agreement.hpp"

namespace manyworlds {
namespace {

TEST(Agreement, AllocationFailureOnTheLastRankIsExitCodeFiveEverywhere) {
  const boost::mpi::communicator world;
  try {
    agreed(world, [&] {
      if (world.rank() == world.size() - 1) throw std::bad_alloc();
    });
    FAIL() << "no failure";
  } catch (const AgreedFailure& failure) {
    EXPECT_EQ(failure.code(), ExitCode::bad_resources);
    EXPECT_NE(std::string(failure.what()).find("run.max_experiences_per_rank"), std::string::npos) << failure.what();
    EXPECT_STREQ(failure.what(), out_of_memory_message);
  }
}

TEST(Agreement, NoFailureMeansNoThrowOnAnyRank) {
  const boost::mpi::communicator world;
  int calls = 0;
  agreed(world, [&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace manyworlds
