// Philox4x32-10 with one block per 64-bit vector lane: the 32x32->64-bit multiplies of pmuludq, one copy per instruction set.
#include "manyworlds/core/philox_blocks.hpp"

#include <immintrin.h>

#include <cstring>

// The generic code below is compiled into each entry point by `flatten` (every call inlined, in
// the entry point's instruction set), so no vector crosses a call: -Wpsabi's ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
// GCC 12 flags the deliberately undefined pass-through operand inside avx512fintrin.h's
// _mm512_mul_epu32 and _mm512_srli_epi64 as maybe uninitialized (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace manyworlds {
namespace {

constexpr std::uint32_t multiplier0 = 0xD2511F53u;  // Random123's PHILOX_M4x32_0, _1 and the Weyl key
constexpr std::uint32_t multiplier1 = 0xCD9E8D57u;  // increments PHILOX_W32_0, _1
constexpr std::uint32_t weyl0 = 0x9E3779B9u;
constexpr std::uint32_t weyl1 = 0xBB67AE85u;
constexpr int rounds = 10;

// The integer operations of one instruction set on vectors of 64-bit lanes; every lane holds a
// 32-bit word in its low half (the high half is ignored until the result is written out). They
// carry their instruction set; the entry points at the end inline them (gnu::flatten).
struct Sse2 {
  using V = __m128i;
  static constexpr int lanes = 2;
  static V splat(std::uint64_t x) { return _mm_set1_epi64x(static_cast<long long>(x)); }
  static V load(const std::uint64_t* p) { return _mm_loadu_si128(reinterpret_cast<const V*>(p)); }
  static void store(std::uint64_t* p, V v) { _mm_storeu_si128(reinterpret_cast<V*>(p), v); }
  static V mul(V a, V b) { return _mm_mul_epu32(a, b); }
  static V high(V a) { return _mm_srli_epi64(a, 32); }
  static V low_to_high(V a) { return _mm_slli_epi64(a, 32); }
  static V xor3(V a, V b, V c) { return _mm_xor_si128(_mm_xor_si128(a, b), c); }
  static V blend_low_high(V low, V high) {  // low 32 bits of `low`, high 32 of `high`
    return _mm_or_si128(_mm_and_si128(low, _mm_set1_epi64x(0xffffffff)), high);
  }
};

struct Avx2 {
  using V = __m256i;
  static constexpr int lanes = 4;
  [[gnu::target("avx2")]] static V splat(std::uint64_t x) {
    return _mm256_set1_epi64x(static_cast<long long>(x));
  }
  [[gnu::target("avx2")]] static V load(const std::uint64_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const V*>(p));
  }
  [[gnu::target("avx2")]] static void store(std::uint64_t* p, V v) {
    _mm256_storeu_si256(reinterpret_cast<V*>(p), v);
  }
  [[gnu::target("avx2")]] static V mul(V a, V b) { return _mm256_mul_epu32(a, b); }
  [[gnu::target("avx2")]] static V high(V a) { return _mm256_srli_epi64(a, 32); }
  [[gnu::target("avx2")]] static V low_to_high(V a) { return _mm256_slli_epi64(a, 32); }
  [[gnu::target("avx2")]] static V xor3(V a, V b, V c) {
    return _mm256_xor_si256(_mm256_xor_si256(a, b), c);
  }
  [[gnu::target("avx2")]] static V blend_low_high(V low, V high) {
    return _mm256_blend_epi32(high, low, 0x55);
  }
};

struct Avx512 {
  using V = __m512i;
  static constexpr int lanes = 8;
  [[gnu::target("avx512f")]] static V splat(std::uint64_t x) {
    return _mm512_set1_epi64(static_cast<long long>(x));
  }
  [[gnu::target("avx512f")]] static V load(const std::uint64_t* p) { return _mm512_loadu_si512(p); }
  [[gnu::target("avx512f")]] static void store(std::uint64_t* p, V v) { _mm512_storeu_si512(p, v); }
  [[gnu::target("avx512f")]] static V mul(V a, V b) { return _mm512_mul_epu32(a, b); }
  [[gnu::target("avx512f")]] static V high(V a) { return _mm512_srli_epi64(a, 32); }
  [[gnu::target("avx512f")]] static V low_to_high(V a) { return _mm512_slli_epi64(a, 32); }
  [[gnu::target("avx512f")]] static V xor3(V a, V b, V c) {
    return _mm512_ternarylogic_epi64(a, b, c, 0x96);
  }
  [[gnu::target("avx512f")]] static V blend_low_high(V low, V high) {
    return _mm512_mask_blend_epi32(0x5555, high, low);
  }
};

// Blocks first .. first + Isa::lanes - 1 of the request, one per lane; the 16 output bytes of
// lane i are block first + i.
template <class Isa>
void lane_blocks(const PhiloxKey& key, const PhiloxCounter& base, int word, int first,
                                               std::uint32_t* out) {
  using V = typename Isa::V;
  constexpr int lanes = Isa::lanes;
  std::uint64_t words[4][lanes];
  for (int w = 0; w < 4; ++w)
    for (int i = 0; i < lanes; ++i) words[w][i] = base[w] + (w == word ? static_cast<std::uint32_t>(first + i) : 0u);
  V x0 = Isa::load(words[0]);
  V x1 = Isa::load(words[1]);
  V x2 = Isa::load(words[2]);
  V x3 = Isa::load(words[3]);
  const V m0 = Isa::splat(multiplier0);
  const V m1 = Isa::splat(multiplier1);
  std::uint32_t k0 = key[0];
  std::uint32_t k1 = key[1];
  for (int r = 0; r < rounds; ++r) {
    const V p0 = Isa::mul(x0, m0);
    const V p1 = Isa::mul(x2, m1);
    x0 = Isa::xor3(Isa::high(p1), x1, Isa::splat(k0));
    x1 = p1;
    x2 = Isa::xor3(Isa::high(p0), x3, Isa::splat(k1));
    x3 = p0;
    k0 += weyl0;
    k1 += weyl1;
  }
  std::uint64_t pairs01[lanes];  // words 0 and 1 of each block, as one little-endian 64-bit value
  std::uint64_t pairs23[lanes];
  Isa::store(pairs01, Isa::blend_low_high(x0, Isa::low_to_high(x1)));
  Isa::store(pairs23, Isa::blend_low_high(x2, Isa::low_to_high(x3)));
  for (int i = 0; i < lanes; ++i) {
    std::memcpy(out + 4 * i, &pairs01[i], 8);
    std::memcpy(out + 4 * i + 2, &pairs23[i], 8);
  }
}

template <class Isa>
void blocks(const PhiloxKey& key, const PhiloxCounter& base, int word, int count,
                                          std::uint32_t* out) {
  std::uint32_t spill[4 * Isa::lanes];
  for (int first = 0; first < count; first += Isa::lanes) {
    if (first + Isa::lanes <= count) {
      lane_blocks<Isa>(key, base, word, first, out + 4 * first);
    } else {
      lane_blocks<Isa>(key, base, word, first, spill);
      std::memcpy(out + 4 * first, spill, sizeof(std::uint32_t) * 4 * static_cast<std::size_t>(count - first));
    }
  }
}

[[gnu::flatten]] void blocks_sse2(const PhiloxKey& key, const PhiloxCounter& base, int word, int count, std::uint32_t* out) {
  blocks<Sse2>(key, base, word, count, out);
}
[[gnu::target("avx2"), gnu::flatten]] void blocks_avx2(const PhiloxKey& key, const PhiloxCounter& base, int word, int count,
                                         std::uint32_t* out) {
  blocks<Avx2>(key, base, word, count, out);
}
[[gnu::target("avx512f"), gnu::flatten]] void blocks_avx512(const PhiloxKey& key, const PhiloxCounter& base, int word, int count,
                                              std::uint32_t* out) {
  blocks<Avx512>(key, base, word, count, out);
}

using BlocksKernel = void (*)(const PhiloxKey&, const PhiloxCounter&, int, int, std::uint32_t*);

BlocksKernel kernel_for(VectorIsa isa) {
  switch (isa) {
    case VectorIsa::avx512: return blocks_avx512;
    case VectorIsa::avx2: return blocks_avx2;
    case VectorIsa::sse2: break;
  }
  return blocks_sse2;
}

}  // namespace

void philox_blocks(const PhiloxKey& key, const PhiloxCounter& base, int word, int count, std::uint32_t* out) {
  static const BlocksKernel best = kernel_for(best_vector_isa());  // chosen once; never changes
  best(key, base, word, count, out);
}

void philox_blocks(VectorIsa isa, const PhiloxKey& key, const PhiloxCounter& base, int word, int count,
                   std::uint32_t* out) {
  kernel_for(isa)(key, base, word, count, out);
}

}  // namespace manyworlds
