// Float32 dense layers and Eigen's tanh for one row or many (rows as lanes), written once with GCC vector types,
// compiled per instruction set.
#include "manyworlds/learn/batch_forward.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace manyworlds {
namespace {

// L floats as one vector (and the matching integer vector): one SSE2, AVX2 or AVX-512 register.
// (Spelled out per size: GCC drops vector_size with a size that depends on a template parameter.)
template <int L>
struct Lanes;
template <>
struct Lanes<4> {
  using Real = float __attribute__((vector_size(16)));
  using Int = std::int32_t __attribute__((vector_size(16)));
};
template <>
struct Lanes<8> {
  using Real = float __attribute__((vector_size(32)));
  using Int = std::int32_t __attribute__((vector_size(32)));
};
template <>
struct Lanes<16> {
  using Real = float __attribute__((vector_size(64)));
  using Int = std::int32_t __attribute__((vector_size(64)));
};

// The helpers are always inlined, so they are compiled for the instruction set of the entry point
// that uses them; vectors go by reference (a 32- or 64-byte vector by value would change the
// calling convention with the instruction set).
template <class Real>
[[gnu::always_inline]] inline void load(Real& v, const float* p) {
  std::memcpy(&v, p, sizeof v);
}
template <class Real>
[[gnu::always_inline]] inline void store(float* p, const Real& v) {
  std::memcpy(p, &v, sizeof v);
}

// Eigen 3.4's generic_fast_tanh_float for a build without FMA, lane by lane: clamp with
// pmin(x, c) = (c < x ? c : x) and pmax(x, -c) = (-c > x ? -c : x) (Eigen's SSE operand order),
// the odd/even polynomials by Horner with separate multiply and add, x itself where |x| < 0.0004.
template <class Real, class Int>
[[gnu::always_inline]] inline void tanh_in_place(Real& v) {
  const Real plus_clamp = Real{} + 7.90531110763549805f;
  const Real minus_clamp = Real{} - 7.90531110763549805f;
  Real x;
  if constexpr (sizeof(Real) == 16) {  // SSE2's minps/maxps are these selects in one instruction
    x = __builtin_ia32_minps(plus_clamp, v);
    x = __builtin_ia32_maxps(minus_clamp, x);
  } else {
    x = plus_clamp < v ? plus_clamp : v;
    x = minus_clamp > x ? minus_clamp : x;
  }
  Int bits;
  std::memcpy(&bits, &v, sizeof bits);
  bits &= 0x7fffffff;
  Real magnitude;
  std::memcpy(&magnitude, &bits, sizeof magnitude);
  const Int tiny = magnitude < 0.0004f;
  const Real x2 = x * x;
  Real p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = x2 * p + -8.60467152213735e-11f;
  p = x2 * p + 5.12229709037114e-08f;
  p = x2 * p + 1.48572235717979e-05f;
  p = x2 * p + 6.37261928875436e-04f;
  p = x2 * p + 4.89352455891786e-03f;
  p = x * p;
  Real q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = x2 * q + 2.26843463243900e-03f;
  q = x2 * q + 4.89352518554385e-03f;
  const Real ratio = p / q;
  v = tiny ? x : ratio;
}

// ---- many rows: one row per lane ---------------------------------------------------------------

// Outputs j0 .. j0 + G - 1 of one layer for all lanes: b_j + sum_k x_k W(k, j) in Parts
// interleaved partial sums (k = r, r + Parts, ... ascending, the rest from r = 0 on), added in the
// one-row kernel's tree.
template <int L, int Parts, int G>
[[gnu::always_inline]] inline void dense_outputs(const DenseLayerView& layer, const float* x, float* y, int j0) {
  using Real = typename Lanes<L>::Real;
  using Int = typename Lanes<L>::Int;
  static_assert(sizeof(Real) == sizeof(float) * L);
  const float* w = layer.weights + j0;
  const int stride = layer.outputs;
  Real acc[G][Parts];
  for (int g = 0; g < G; ++g) {
    acc[g][0] = Real{} + layer.bias[j0 + g];
    for (int r = 1; r < Parts; ++r) acc[g][r] = Real{};
  }
  int k = 0;
  for (; k + Parts <= layer.inputs; k += Parts) {
    for (int r = 0; r < Parts; ++r) {
      Real xk;
      load(xk, x + static_cast<std::ptrdiff_t>(k + r) * L);
      const float* row = w + static_cast<std::ptrdiff_t>(k + r) * stride;
      for (int g = 0; g < G; ++g) acc[g][r] += xk * row[g];
    }
  }
  for (int r = 0; k < layer.inputs; ++k, ++r) {
    Real xk;
    load(xk, x + static_cast<std::ptrdiff_t>(k) * L);
    const float* row = w + static_cast<std::ptrdiff_t>(k) * stride;
    for (int g = 0; g < G; ++g) acc[g][r] += xk * row[g];
  }
  for (int g = 0; g < G; ++g) {
    if constexpr (Parts == 4) {
      acc[g][0] += acc[g][1];
      acc[g][2] += acc[g][3];
    }
    if constexpr (Parts >= 2) acc[g][0] += acc[g][Parts / 2];
    if (layer.tanh) tanh_in_place<Real, Int>(acc[g][0]);
    store(y + static_cast<std::ptrdiff_t>(j0 + g) * L, acc[g][0]);
  }
}

// Outputs [begin, end) that share a partial-sum count, G at a time, then one at a time.
template <int L, int Parts, int G>
[[gnu::always_inline]] inline void dense_range(const DenseLayerView& layer, const float* x, float* y, int begin,
                                               int end) {
  int j = begin;
  for (; j + G <= end; j += G) dense_outputs<L, Parts, G>(layer, x, y, j);
  for (; j < end; ++j) dense_outputs<L, Parts, 1>(layer, x, y, j);
}

// The one-row kernel covers the padded width with 32-float blocks (1 partial sum), then a 16-float
// block (2), then an 8-float block (4); only outputs below `computed` are evaluated.
template <int L>
[[gnu::always_inline]] inline void dense(const DenseLayerView& layer, const float* x, float* y) {
  const int blocks32 = layer.outputs / 32 * 32;
  const int blocks16 = layer.outputs - blocks32 >= 16 ? blocks32 + 16 : blocks32;
  const auto clip = [&](int j) { return j < layer.computed ? j : layer.computed; };
  dense_range<L, 1, 8>(layer, x, y, 0, clip(blocks32));
  dense_range<L, 2, 4>(layer, x, y, clip(blocks32), clip(blocks16));
  dense_range<L, 4, 2>(layer, x, y, clip(blocks16), layer.computed);
}

template <int L>
[[gnu::always_inline]] inline const float* forward(std::span<const DenseLayerView> layers, const float* input, float* a,
                                                   float* b) {
  const float* x = input;
  float* y = a;
  for (const DenseLayerView& layer : layers) {
    dense<L>(layer, x, y);
    x = y;
    y = y == a ? b : a;
  }
  return x;
}

// ---- one row: vectorised across the outputs, as InferencePolicy's Eigen kernel was ---------------

// Outputs [j0, j0 + Width) of one layer for one row, in registers of L floats: the sum over k in
// Parts interleaved partial sums exactly as dense_outputs (so the same bits), then tanh.
template <int L, int Width, int Parts>
[[gnu::always_inline]] inline void row_block(const DenseLayerView& layer, const float* x, float* y, int j0) {
  using Real = typename Lanes<L>::Real;
  using Int = typename Lanes<L>::Int;
  constexpr int vectors = Width / L;
  static_assert(vectors * L == Width);
  const float* w = layer.weights + j0;
  const int stride = layer.outputs;
  Real acc[vectors][Parts];
  for (int v = 0; v < vectors; ++v) {
    load(acc[v][0], layer.bias + j0 + static_cast<std::ptrdiff_t>(v) * L);
    for (int r = 1; r < Parts; ++r) acc[v][r] = Real{};
  }
  int k = 0;
  for (; k + Parts <= layer.inputs; k += Parts) {
    for (int r = 0; r < Parts; ++r) {
      const float xk = x[k + r];
      const float* row = w + static_cast<std::ptrdiff_t>(k + r) * stride;
      for (int v = 0; v < vectors; ++v) {
        Real wk;
        load(wk, row + static_cast<std::ptrdiff_t>(v) * L);
        acc[v][r] += xk * wk;
      }
    }
  }
  for (int r = 0; k < layer.inputs; ++k, ++r) {
    const float* row = w + static_cast<std::ptrdiff_t>(k) * stride;
    for (int v = 0; v < vectors; ++v) {
      Real wk;
      load(wk, row + static_cast<std::ptrdiff_t>(v) * L);
      acc[v][r] += x[k] * wk;
    }
  }
  for (int v = 0; v < vectors; ++v) {
    if constexpr (Parts == 4) {
      acc[v][0] += acc[v][1];
      acc[v][2] += acc[v][3];
    }
    if constexpr (Parts >= 2) acc[v][0] += acc[v][Parts / 2];
    if (layer.tanh) tanh_in_place<Real, Int>(acc[v][0]);
    store(y + j0 + static_cast<std::ptrdiff_t>(v) * L, acc[v][0]);
  }
}

// The padded width in 32-float blocks (1 partial sum), then a 16-float block (2), then an 8-float
// block (4), each in registers of at most L floats; all outputs (padding included) are computed.
template <int L>
[[gnu::always_inline]] inline void row_dense(const DenseLayerView& layer, const float* x, float* y) {
  constexpr int L16 = std::min(L, 16);
  constexpr int L8 = std::min(L, 8);
  int j = 0;
  for (; j + 32 <= layer.outputs; j += 32) row_block<L, 32, 1>(layer, x, y, j);
  if (j + 16 <= layer.outputs) {
    row_block<L16, 16, 2>(layer, x, y, j);
    j += 16;
  }
  if (j + 8 <= layer.outputs) row_block<L8, 8, 4>(layer, x, y, j);
}

template <int L>
[[gnu::always_inline]] inline const float* row_forward(std::span<const DenseLayerView> layers, const float* input,
                                                       float* a, float* b) {
  const float* x = input;
  float* y = a;
  for (const DenseLayerView& layer : layers) {
    row_dense<L>(layer, x, y);
    x = y;
    y = y == a ? b : a;
  }
  return x;
}

const float* row_sse2(std::span<const DenseLayerView> layers, const float* input, float* a, float* b) {
  return row_forward<4>(layers, input, a, b);
}
[[gnu::target("avx2")]] const float* row_avx2(std::span<const DenseLayerView> layers, const float* input, float* a,
                                              float* b) {
  return row_forward<8>(layers, input, a, b);
}
[[gnu::target("avx512f")]] const float* row_avx512(std::span<const DenseLayerView> layers, const float* input, float* a,
                                                   float* b) {
  return row_forward<16>(layers, input, a, b);
}

// ---- entry points -------------------------------------------------------------------------------

const float* forward_sse2(std::span<const DenseLayerView> layers, const float* input, float* a, float* b) {
  return forward<4>(layers, input, a, b);
}
[[gnu::target("avx2")]] const float* forward_avx2(std::span<const DenseLayerView> layers, const float* input, float* a,
                                                  float* b) {
  return forward<8>(layers, input, a, b);
}
[[gnu::target("avx512f")]] const float* forward_avx512(std::span<const DenseLayerView> layers, const float* input,
                                                       float* a, float* b) {
  return forward<16>(layers, input, a, b);
}

}  // namespace

int batch_lanes(VectorIsa isa) {
  switch (isa) {
    case VectorIsa::sse2:
      return 4;
    case VectorIsa::avx2:
      return 8;
    case VectorIsa::avx512:
      return 16;
  }
  return 4;
}

const float* row_forward(VectorIsa isa, std::span<const DenseLayerView> layers, const float* input, float* a,
                         float* b) {
  switch (isa) {
    case VectorIsa::avx512:
      return row_avx512(layers, input, a, b);
    case VectorIsa::avx2:
      return row_avx2(layers, input, a, b);
    case VectorIsa::sse2:
      break;
  }
  return row_sse2(layers, input, a, b);
}

const float* batch_forward(VectorIsa isa, std::span<const DenseLayerView> layers, const float* input, float* a,
                           float* b) {
  switch (isa) {
    case VectorIsa::avx512:
      return forward_avx512(layers, input, a, b);
    case VectorIsa::avx2:
      return forward_avx2(layers, input, a, b);
    case VectorIsa::sse2:
      break;
  }
  return forward_sse2(layers, input, a, b);
}

}  // namespace manyworlds
