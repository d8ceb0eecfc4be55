// Formatting of checksums.
#include "manyworlds/core/checksum.hpp"

#include <cstdio>

namespace manyworlds {

std::string hex64(std::uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace manyworlds
