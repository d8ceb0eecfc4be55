// Entry point of the MPI test executable: initialises MPI, runs GoogleTest on every rank.
#include <gtest/gtest.h>

#include <boost/mpi/environment.hpp>

int main(int argc, char** argv) {
  boost::mpi::environment environment(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
