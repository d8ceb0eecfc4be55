// The manyworlds command-line entry point: a thin shell over the library's app layer.
#include "manyworlds/app/allocator.hpp"
#include "manyworlds/app/cli.hpp"

int main(int argc, char** argv) {
  manyworlds::keep_freed_memory();  // speed only: if malloc refuses, the run is the same with more page faults
  return manyworlds::run_cli(argc, argv);
}
