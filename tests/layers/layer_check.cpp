// One translation unit of a layer including one more header (LAYER_CHECK_HEADER): tests/layers/CMakeLists.txt.
#include "manyworlds/world/world.hpp"

#include LAYER_CHECK_HEADER

namespace manyworlds {

int layer_check() { return 0; }

}  // namespace manyworlds
