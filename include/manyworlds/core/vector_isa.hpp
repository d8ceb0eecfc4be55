// The instruction sets the hot kernels are compiled for in one portable build, and which one this CPU runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace manyworlds {

// Every hot kernel (the world's random blocks, the batched policy, the AuctionGym auctions) is
// compiled once per instruction set in the same portable x86-64 build and chosen at run time.
// All paths give bit-identical results: lane-wise IEEE operations in the same order, no FMA
// contraction, integer arithmetic for the random numbers. The faster path is only faster.
enum class VectorIsa : std::uint8_t {
  sse2,    // any x86-64: 16-byte vectors
  avx2,    // 32-byte vectors
  avx512,  // 64-byte vectors (AVX-512F)
};

inline constexpr VectorIsa all_vector_isas[] = {VectorIsa::sse2, VectorIsa::avx2, VectorIsa::avx512};

// Whether this CPU (and operating system) runs code for `isa`.
bool supported(VectorIsa isa);
// The widest instruction set this CPU supports.
VectorIsa best_vector_isa();
const char* to_string(VectorIsa isa);
// "sse2", "avx2" or "avx512"; nothing for another name.
std::optional<VectorIsa> parse_vector_isa(std::string_view name);

}  // namespace manyworlds
