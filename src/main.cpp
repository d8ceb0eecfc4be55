// The manyworlds command-line entry point: a thin shell over the library's app layer.
#include "manyworlds/app/cli.hpp"

int main(int argc, char** argv) { return manyworlds::run_cli(argc, argv); }
