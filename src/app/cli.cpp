// The command-line interface (being built).
#include "manyworlds/app/cli.hpp"

namespace manyworlds {
int run_cli(int, char**) { return 0; }
}  // namespace manyworlds
