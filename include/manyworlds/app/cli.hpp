// The command-line interface: subcommands run, validate, calibrate, evaluate.
#pragma once

namespace manyworlds {

// Parses the command line, runs the chosen subcommand and returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace manyworlds
