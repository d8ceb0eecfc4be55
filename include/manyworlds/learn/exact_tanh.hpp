// tanh of many doubles at once with SIMD, bit for bit the values of the C library's tanh.
#pragma once

#include <span>

#include "manyworlds/core/vector_isa.hpp"

namespace manyworlds {

// Replaces every value by std::tanh of it, with the same bits. Where glibc's tanh runs its FMA
// build of expm1 (CPUs with AVX2 and FMA, unless GLIBC_TUNABLES turns them off), 4 or 8 values go
// through the same operations at once (AVX2 or AVX-512F), once a check against std::tanh in this
// process has passed (it tells the two builds apart); elsewhere, and for the tail, std::tanh itself.
void tanh_in_place(std::span<double> values);

// Whether tanh_in_place uses SIMD on this machine (the CPU qualifies and the check passed).
bool simd_tanh_in_use();

// The SIMD path alone, for tests: whether this CPU qualifies (AVX2 and FMA), and the lanes of `isa`
// (avx2 or avx512, supported by this CPU; sse2 means avx2), the tail by std::tanh.
bool simd_tanh_available();
void simd_tanh_in_place(VectorIsa isa, std::span<double> values);

}  // namespace manyworlds
