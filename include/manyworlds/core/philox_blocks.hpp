// Several Philox4x32-10 blocks at once with SIMD integer arithmetic (SSE2, AVX2, AVX-512), bitwise Random123's.
#pragma once

#include <array>
#include <cstdint>

#include "manyworlds/core/vector_isa.hpp"

namespace manyworlds {

using PhiloxKey = std::array<std::uint32_t, 2>;
using PhiloxCounter = std::array<std::uint32_t, 4>;

// The largest `count` philox_blocks accepts.
inline constexpr int max_philox_blocks = 16;

// Writes the Philox4x32-10 blocks of the counters base, base + e, ..., base + (count - 1) e, where
// e adds 1 to counter word `word` (0..3, without carry), to out[4 i .. 4 i + 3] for i < count
// (1 <= count <= max_philox_blocks): exactly r123::Philox4x32()(counter, key), lane by lane.
// The first form runs on best_vector_isa(); `isa` must be supported by this CPU.
void philox_blocks(const PhiloxKey& key, const PhiloxCounter& base, int word, int count, std::uint32_t* out);
void philox_blocks(VectorIsa isa, const PhiloxKey& key, const PhiloxCounter& base, int word, int count,
                   std::uint32_t* out);

// Blocks one pass of philox_blocks computes on best_vector_isa() (2, 4 or 8: one per 64-bit lane);
// a request for fewer costs the same pass.
int philox_pass_blocks();

}  // namespace manyworlds
