// The MLP's double dense-layer loops written once with GCC vector types, compiled per instruction set.
#include "manyworlds/learn/dense_kernels.hpp"

#include <cstring>

// The generic code below is inlined into each entry point (always_inline), in the entry point's
// instruction set, so no vector crosses a call: -Wpsabi's ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace manyworlds {
namespace {

// L doubles as one vector: one SSE2, AVX2 or AVX-512 register. (Spelled out per size: GCC drops
// vector_size with a size that depends on a template parameter.)
template <int L>
struct Doubles;
template <>
struct Doubles<2> {
  using V = double __attribute__((vector_size(16)));
};
template <>
struct Doubles<4> {
  using V = double __attribute__((vector_size(32)));
};
template <>
struct Doubles<8> {
  using V = double __attribute__((vector_size(64)));
};

// Up to this many vectors of outputs are summed in registers at once.
constexpr int block_vectors = 4;

template <class V>
[[gnu::always_inline]] inline void load(V& v, const double* p) {
  std::memcpy(&v, p, sizeof v);
}
template <class V>
[[gnu::always_inline]] inline void store(double* p, const V& v) {
  std::memcpy(p, &v, sizeof v);
}

// Lanes of a vector type V (a double is a vector of one lane: the scalar tails).
template <class V>
constexpr std::ptrdiff_t lanes_of = static_cast<std::ptrdiff_t>(sizeof(V) / sizeof(double));

// Outputs [0, N x lanes) of `y_row` (offset by the caller): the bias, then x_k W(k, .) for every k
// in order; a scalar times a vector is a broadcast, so each lane does the scalar loop's operations.
template <class V, int N>
[[gnu::always_inline]] inline void forward_block(const double* x_row, int inputs, const double* weights, int outputs,
                                                 const double* bias, double* y_row) {
  constexpr std::ptrdiff_t lanes = lanes_of<V>;
  V sum[N];
  for (std::ptrdiff_t v = 0; v < N; ++v) load(sum[v], bias + v * lanes);
  for (int k = 0; k < inputs; ++k) {
    const double x = x_row[k];
    const double* w = weights + static_cast<std::ptrdiff_t>(k) * outputs;
    for (std::ptrdiff_t v = 0; v < N; ++v) {
      V w_part;
      load(w_part, w + v * lanes);
      sum[v] = sum[v] + x * w_part;
    }
  }
  for (std::ptrdiff_t v = 0; v < N; ++v) store(y_row + v * lanes, sum[v]);
}

template <int L>
[[gnu::always_inline]] inline void forward(const DenseShape& shape, const double* x, const double* weights,
                                           const double* bias, double* y) {
  using V = typename Doubles<L>::V;
  const int n = shape.inputs;
  const int m = shape.outputs;
  for (std::ptrdiff_t i = 0; i < shape.rows; ++i) {
    const double* x_row = x + i * n;
    double* y_row = y + i * m;
    int j = 0;
    for (; j + block_vectors * L <= m; j += block_vectors * L)
      forward_block<V, block_vectors>(x_row, n, weights + j, m, bias + j, y_row + j);
    for (; j + L <= m; j += L) forward_block<V, 1>(x_row, n, weights + j, m, bias + j, y_row + j);
    for (; j < m; ++j) forward_block<double, 1>(x_row, n, weights + j, m, bias + j, y_row + j);
  }
}

// Gradient entries [0, N x lanes) of one row of outputs (offset by the caller): `grad` plus, for
// every row i in order, x(i, k) delta(i, .) (a row of W's gradient, x_column = &x(0, k)) or
// delta(i, .) itself (the bias).
template <class V, int N, bool Bias>
[[gnu::always_inline]] inline void gradient_block(const DenseShape& shape, const double* x_column, const double* delta,
                                                  double* grad) {
  constexpr std::ptrdiff_t lanes = lanes_of<V>;
  V sum[N];
  for (std::ptrdiff_t v = 0; v < N; ++v) load(sum[v], grad + v * lanes);
  for (std::ptrdiff_t i = 0; i < shape.rows; ++i) {
    const double* delta_row = delta + i * shape.outputs;
    for (std::ptrdiff_t v = 0; v < N; ++v) {
      V d;
      load(d, delta_row + v * lanes);
      if constexpr (Bias)
        sum[v] = sum[v] + d;
      else
        sum[v] = sum[v] + x_column[i * shape.inputs] * d;
    }
  }
  for (std::ptrdiff_t v = 0; v < N; ++v) store(grad + v * lanes, sum[v]);
}

// One row of gradient entries (W's row k, or the bias), for every output j.
template <int L, bool Bias>
[[gnu::always_inline]] inline void gradient_row(const DenseShape& shape, const double* x_column, const double* delta,
                                                double* grad) {
  using V = typename Doubles<L>::V;
  const int m = shape.outputs;
  int j = 0;
  for (; j + block_vectors * L <= m; j += block_vectors * L)
    gradient_block<V, block_vectors, Bias>(shape, x_column, delta + j, grad + j);
  for (; j + L <= m; j += L) gradient_block<V, 1, Bias>(shape, x_column, delta + j, grad + j);
  for (; j < m; ++j) gradient_block<double, 1, Bias>(shape, x_column, delta + j, grad + j);
}

template <int L>
[[gnu::always_inline]] inline void parameter_gradient(const DenseShape& shape, const double* x, const double* delta,
                                                      double* grad_weights, double* grad_bias) {
  gradient_row<L, true>(shape, x, delta, grad_bias);
  for (int k = 0; k < shape.inputs; ++k)
    gradient_row<L, false>(shape, x + k, delta, grad_weights + static_cast<std::ptrdiff_t>(k) * shape.outputs);
}

// delta(i, .) . W(k, .) for the L inputs k whose rows of W are the lanes of `transposed` + j x
// inputs (W^T row-major), in Eigen 3.4's order for a dynamic-size dot product with SSE2 packets
// of 2 (Redux.h, LinearVectorizedTraversal, no unrolling): packets 0, 2, 4, ... summed in one
// packet and 1, 3, 5, ... in another (from 2 packets up), the two added, then an unpaired last
// packet, then the packet's two elements added, then an odd last element. Each lane runs these
// scalar operations, so every instruction set gives Eigen's bits.
template <class V>
[[gnu::always_inline]] inline V eigen_order_dot(int n, const double* delta_row, const double* transposed, int inputs) {
  const auto product = [&](int j) {
    V w;
    load(w, transposed + static_cast<std::ptrdiff_t>(j) * inputs);
    return delta_row[j] * w;
  };
  if (n < 2) return product(0);
  const int pairs_end = n / 4 * 4;
  const int packets_end = n / 2 * 2;
  V even0 = product(0);  // packet 0, lane 0 and 1
  V even1 = product(1);
  if (packets_end > 2) {
    V odd0 = product(2);
    V odd1 = product(3);
    for (int j = 4; j < pairs_end; j += 4) {
      even0 = even0 + product(j);
      even1 = even1 + product(j + 1);
      odd0 = odd0 + product(j + 2);
      odd1 = odd1 + product(j + 3);
    }
    even0 = even0 + odd0;
    even1 = even1 + odd1;
    if (packets_end > pairs_end) {
      even0 = even0 + product(pairs_end);
      even1 = even1 + product(pairs_end + 1);
    }
  }
  V sum = even0 + even1;
  if (packets_end < n) sum = sum + product(n - 1);
  return sum;
}

// delta_below(i, k) = (delta(i, .) . W(k, .)) (1 - x(i, k)^2) for the lanes of V: inputs k, k + 1, ...
template <class V>
[[gnu::always_inline]] inline void input_gradient_block(int outputs, const double* delta_row, const double* transposed,
                                                        int inputs, const double* x, double* below) {
  V a;
  load(a, x);
  store(below, eigen_order_dot<V>(outputs, delta_row, transposed, inputs) * (1.0 - a * a));
}

template <int L>
[[gnu::always_inline]] inline void input_gradient(const DenseShape& shape, const double* delta,
                                                  const double* transposed, const double* x, double* delta_below) {
  using V = typename Doubles<L>::V;
  const int n = shape.inputs;
  const int m = shape.outputs;
  for (std::ptrdiff_t i = 0; i < shape.rows; ++i) {
    const double* delta_row = delta + i * m;
    int k = 0;
    for (; k + L <= n; k += L)
      input_gradient_block<V>(m, delta_row, transposed + k, n, x + i * n + k, delta_below + i * n + k);
    for (; k < n; ++k)
      input_gradient_block<double>(m, delta_row, transposed + k, n, x + i * n + k, delta_below + i * n + k);
  }
}

void forward_sse2(const DenseShape& shape, const double* x, const double* weights, const double* bias, double* y) {
  forward<2>(shape, x, weights, bias, y);
}
[[gnu::target("avx2")]] void forward_avx2(const DenseShape& shape, const double* x, const double* weights,
                                          const double* bias, double* y) {
  forward<4>(shape, x, weights, bias, y);
}
[[gnu::target("avx512f")]] void forward_avx512(const DenseShape& shape, const double* x, const double* weights,
                                               const double* bias, double* y) {
  forward<8>(shape, x, weights, bias, y);
}

void gradient_sse2(const DenseShape& shape, const double* x, const double* delta, double* grad_weights,
                   double* grad_bias) {
  parameter_gradient<2>(shape, x, delta, grad_weights, grad_bias);
}
[[gnu::target("avx2")]] void gradient_avx2(const DenseShape& shape, const double* x, const double* delta,
                                           double* grad_weights, double* grad_bias) {
  parameter_gradient<4>(shape, x, delta, grad_weights, grad_bias);
}
[[gnu::target("avx512f")]] void gradient_avx512(const DenseShape& shape, const double* x, const double* delta,
                                                double* grad_weights, double* grad_bias) {
  parameter_gradient<8>(shape, x, delta, grad_weights, grad_bias);
}

void input_gradient_sse2(const DenseShape& shape, const double* delta, const double* transposed, const double* x,
                         double* delta_below) {
  input_gradient<2>(shape, delta, transposed, x, delta_below);
}
[[gnu::target("avx2")]] void input_gradient_avx2(const DenseShape& shape, const double* delta, const double* transposed,
                                                 const double* x, double* delta_below) {
  input_gradient<4>(shape, delta, transposed, x, delta_below);
}
[[gnu::target("avx512f")]] void input_gradient_avx512(const DenseShape& shape, const double* delta,
                                                      const double* transposed, const double* x, double* delta_below) {
  input_gradient<8>(shape, delta, transposed, x, delta_below);
}

}  // namespace

void dense_forward(VectorIsa isa, const DenseShape& shape, const double* x, const double* weights, const double* bias,
                   double* y) {
  switch (isa) {
    case VectorIsa::avx512:
      return forward_avx512(shape, x, weights, bias, y);
    case VectorIsa::avx2:
      return forward_avx2(shape, x, weights, bias, y);
    case VectorIsa::sse2:
      break;
  }
  forward_sse2(shape, x, weights, bias, y);
}

void dense_parameter_gradient(VectorIsa isa, const DenseShape& shape, const double* x, const double* delta,
                              double* grad_weights, double* grad_bias) {
  switch (isa) {
    case VectorIsa::avx512:
      return gradient_avx512(shape, x, delta, grad_weights, grad_bias);
    case VectorIsa::avx2:
      return gradient_avx2(shape, x, delta, grad_weights, grad_bias);
    case VectorIsa::sse2:
      break;
  }
  gradient_sse2(shape, x, delta, grad_weights, grad_bias);
}

void dense_input_gradient(VectorIsa isa, const DenseShape& shape, const double* delta, const double* transposed,
                          const double* x, double* delta_below) {
  switch (isa) {
    case VectorIsa::avx512:
      return input_gradient_avx512(shape, delta, transposed, x, delta_below);
    case VectorIsa::avx2:
      return input_gradient_avx2(shape, delta, transposed, x, delta_below);
    case VectorIsa::sse2:
      break;
  }
  input_gradient_sse2(shape, delta, transposed, x, delta_below);
}

}  // namespace manyworlds
