// Philox4x32-10 with one block per 64-bit vector lane: the 32x32->64-bit multiplies of pmuludq, one copy per
// instruction set.
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
  static V lane_index() { return _mm_set_epi64x(1, 0); }
  static V add(V a, V b) { return _mm_add_epi64(a, b); }
  static V mul(V a, V b) { return _mm_mul_epu32(a, b); }
  static V high(V a) { return _mm_srli_epi64(a, 32); }
  static V low_to_high(V a) { return _mm_slli_epi64(a, 32); }
  static V xor3(V a, V b, V c) { return _mm_xor_si128(_mm_xor_si128(a, b), c); }
  static V blend_low_high(V low, V high) {  // low 32 bits of `low`, high 32 of `high`
    return _mm_or_si128(_mm_and_si128(low, _mm_set1_epi64x(0xffffffff)), high);
  }
  // Lane i of w01 holds words 0 and 1 of block i, lane i of w23 words 2 and 3: out gets the blocks in order.
  static void store_blocks(std::uint32_t* out, V w01, V w23) {
    _mm_storeu_si128(reinterpret_cast<V*>(out), _mm_unpacklo_epi64(w01, w23));
    _mm_storeu_si128(reinterpret_cast<V*>(out + 4), _mm_unpackhi_epi64(w01, w23));
  }
};

struct Avx2 {
  using V = __m256i;
  static constexpr int lanes = 4;
  [[gnu::target("avx2")]] static V splat(std::uint64_t x) { return _mm256_set1_epi64x(static_cast<long long>(x)); }
  [[gnu::target("avx2")]] static V lane_index() { return _mm256_set_epi64x(3, 2, 1, 0); }
  [[gnu::target("avx2")]] static V add(V a, V b) { return _mm256_add_epi64(a, b); }
  [[gnu::target("avx2")]] static V mul(V a, V b) { return _mm256_mul_epu32(a, b); }
  [[gnu::target("avx2")]] static V high(V a) { return _mm256_srli_epi64(a, 32); }
  [[gnu::target("avx2")]] static V low_to_high(V a) { return _mm256_slli_epi64(a, 32); }
  [[gnu::target("avx2")]] static V xor3(V a, V b, V c) { return _mm256_xor_si256(_mm256_xor_si256(a, b), c); }
  [[gnu::target("avx2")]] static V blend_low_high(V low, V high) { return _mm256_blend_epi32(high, low, 0x55); }
  [[gnu::target("avx2")]] static void store_blocks(std::uint32_t* out, V w01, V w23) {
    const V even = _mm256_unpacklo_epi64(w01, w23);  // blocks 0 and 2
    const V odd = _mm256_unpackhi_epi64(w01, w23);   // blocks 1 and 3
    _mm256_storeu_si256(reinterpret_cast<V*>(out), _mm256_permute2x128_si256(even, odd, 0x20));
    _mm256_storeu_si256(reinterpret_cast<V*>(out + 8), _mm256_permute2x128_si256(even, odd, 0x31));
  }
};

struct Avx512 {
  using V = __m512i;
  static constexpr int lanes = 8;
  [[gnu::target("avx512f")]] static V splat(std::uint64_t x) { return _mm512_set1_epi64(static_cast<long long>(x)); }
  [[gnu::target("avx512f")]] static V lane_index() { return _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0); }
  [[gnu::target("avx512f")]] static V add(V a, V b) { return _mm512_add_epi64(a, b); }
  [[gnu::target("avx512f")]] static V mul(V a, V b) { return _mm512_mul_epu32(a, b); }
  [[gnu::target("avx512f")]] static V high(V a) { return _mm512_srli_epi64(a, 32); }
  [[gnu::target("avx512f")]] static V low_to_high(V a) { return _mm512_slli_epi64(a, 32); }
  [[gnu::target("avx512f")]] static V xor3(V a, V b, V c) { return _mm512_ternarylogic_epi64(a, b, c, 0x96); }
  [[gnu::target("avx512f")]] static V blend_low_high(V low, V high) {
    return _mm512_mask_blend_epi32(0x5555, high, low);
  }
  [[gnu::target("avx512f")]] static void store_blocks(std::uint32_t* out, V w01, V w23) {
    const V first = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);  // w01[0], w23[0], w01[1], w23[1], ...
    const V second = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    _mm512_storeu_si512(out, _mm512_permutex2var_epi64(w01, first, w23));
    _mm512_storeu_si512(out + 16, _mm512_permutex2var_epi64(w01, second, w23));
  }
};

// Blocks first .. first + Isa::lanes - 1 of the request, one per lane; the 16 output bytes of
// lane i are block first + i.
template <class Isa>
void lane_blocks(const PhiloxKey& key, const PhiloxCounter& base, int word, int first, std::uint32_t* out) {
  using V = typename Isa::V;
  V x[4];
  for (int w = 0; w < 4; ++w) x[w] = Isa::splat(base[w]);
  x[word] = Isa::add(x[word], Isa::add(Isa::lane_index(), Isa::splat(static_cast<std::uint32_t>(first))));
  V x0 = x[0];
  V x1 = x[1];
  V x2 = x[2];
  V x3 = x[3];
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
  Isa::store_blocks(out, Isa::blend_low_high(x0, Isa::low_to_high(x1)), Isa::blend_low_high(x2, Isa::low_to_high(x3)));
}

template <class Isa>
void blocks(const PhiloxKey& key, const PhiloxCounter& base, int word, int count, std::uint32_t* out) {
  std::uint32_t spill[4 * Isa::lanes];
  for (int first = 0; first < count; first += Isa::lanes) {
    if (first + Isa::lanes <= count) {
      lane_blocks<Isa>(key, base, word, first, out + 4 * static_cast<std::ptrdiff_t>(first));
    } else {
      lane_blocks<Isa>(key, base, word, first, spill);
      std::memcpy(out + 4 * static_cast<std::ptrdiff_t>(first), spill,
                  sizeof(std::uint32_t) * 4 * static_cast<std::size_t>(count - first));
    }
  }
}

[[gnu::flatten]] void blocks_sse2(const PhiloxKey& key, const PhiloxCounter& base, int word, int count,
                                  std::uint32_t* out) {
  blocks<Sse2>(key, base, word, count, out);
}
[[gnu::target("avx2"), gnu::flatten]] void blocks_avx2(const PhiloxKey& key, const PhiloxCounter& base, int word,
                                                       int count, std::uint32_t* out) {
  blocks<Avx2>(key, base, word, count, out);
}
[[gnu::target("avx512f"), gnu::flatten]] void blocks_avx512(const PhiloxKey& key, const PhiloxCounter& base, int word,
                                                            int count, std::uint32_t* out) {
  blocks<Avx512>(key, base, word, count, out);
}

using BlocksKernel = void (*)(const PhiloxKey&, const PhiloxCounter&, int, int, std::uint32_t*);

BlocksKernel kernel_for(VectorIsa isa) {
  switch (isa) {
    case VectorIsa::avx512:
      return blocks_avx512;
    case VectorIsa::avx2:
      return blocks_avx2;
    case VectorIsa::sse2:
      break;
  }
  return blocks_sse2;
}

}  // namespace

void philox_blocks(const PhiloxKey& key, const PhiloxCounter& base, int word, int count, std::uint32_t* out) {
  static const BlocksKernel best = kernel_for(best_vector_isa());  // chosen once; never changes
  best(key, base, word, count, out);
}

int philox_pass_blocks() {
  switch (best_vector_isa()) {
    case VectorIsa::avx512:
      return Avx512::lanes;
    case VectorIsa::avx2:
      return Avx2::lanes;
    case VectorIsa::sse2:
      break;
  }
  return Sse2::lanes;
}

void philox_blocks(VectorIsa isa, const PhiloxKey& key, const PhiloxCounter& base, int word, int count,
                   std::uint32_t* out) {
  kernel_for(isa)(key, base, word, count, out);
}

}  // namespace manyworlds
