// Run-time detection of the instruction sets the hot kernels are compiled for.
#include "manyworlds/core/vector_isa.hpp"

namespace manyworlds {

bool supported(VectorIsa isa) {
  switch (isa) {
    case VectorIsa::sse2:
      return true;
    case VectorIsa::avx2:
      return __builtin_cpu_supports("avx2") != 0;
    case VectorIsa::avx512:
      return __builtin_cpu_supports("avx512f") != 0;
  }
  return false;
}

VectorIsa best_vector_isa() {
  if (supported(VectorIsa::avx512)) return VectorIsa::avx512;
  if (supported(VectorIsa::avx2)) return VectorIsa::avx2;
  return VectorIsa::sse2;
}

const char* to_string(VectorIsa isa) {
  switch (isa) {
    case VectorIsa::sse2:
      return "sse2";
    case VectorIsa::avx2:
      return "avx2";
    case VectorIsa::avx512:
      return "avx512";
  }
  return "unknown";
}

std::optional<VectorIsa> parse_vector_isa(std::string_view name) {
  for (VectorIsa isa : all_vector_isas)
    if (name == to_string(isa)) return isa;
  return std::nullopt;
}

}  // namespace manyworlds
