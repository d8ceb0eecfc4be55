// Double-precision dense-layer kernels of the MLP's training passes, per instruction set, each sum in a fixed order.
#pragma once

#include <cstddef>

#include "manyworlds/core/vector_isa.hpp"

namespace manyworlds {

// A dense layer applied to `rows` rows: x is rows x inputs and y (or delta) rows x outputs, both
// row-major and dense; the weights are inputs x outputs, row-major (W(k, j) at k * outputs + j).
struct DenseShape {
  std::ptrdiff_t rows = 0;
  int inputs = 0;
  int outputs = 0;
};

// y(i, j) = b_j + x(i, 0) W(0, j) + x(i, 1) W(1, j) + ...: the bias first, then each product,
// rounded, added in ascending k; no FMA. These are the operations of the loop
// `row = bias; for k: row += x(i, k) * W.row(k)` lane by lane, so every instruction set (2, 4 or
// 8 doubles per vector) gives the same bits. `isa` must be supported by this CPU.
void dense_forward(VectorIsa isa, const DenseShape& shape, const double* x, const double* weights, const double* bias,
                   double* y);

// Adds the layer's weight and bias gradients of the rows: grad_b_j += delta(i, j) and
// grad_W(k, j) += x(i, k) delta(i, j), each element's sum over i = 0, 1, ... in row order (the
// product rounded, then added; no FMA), the same bits on every instruction set. `isa` must be
// supported by this CPU.
void dense_parameter_gradient(VectorIsa isa, const DenseShape& shape, const double* x, const double* delta,
                              double* grad_weights, double* grad_bias);

// The gradient below a tanh layer: delta_below(i, k) = (delta(i, .) . W(k, .)) (1 - x(i, k)^2) for
// the rows, with delta rows x outputs, x (the tanh outputs) and delta_below rows x inputs, and
// `transposed` = W^T (outputs x inputs, row-major). Each dot product runs in the order of Eigen
// 3.4's dynamic-size dot with SSE2 packets (pairs of alternate 2-element packets, see the source),
// the order the former Eigen code had, the same bits on every instruction set. `isa` must be
// supported by this CPU.
void dense_input_gradient(VectorIsa isa, const DenseShape& shape, const double* delta, const double* transposed,
                          const double* x, double* delta_below);

}  // namespace manyworlds
