// Float32 MLP forward passes for one row (vectorised across outputs) or a group of rows (one per lane), per instruction
// set.
#pragma once

#include <span>

#include "manyworlds/core/vector_isa.hpp"

namespace manyworlds {

// One dense layer as InferencePolicy stores it: weights row-major inputs x outputs, outputs padded
// to a multiple of 8 (padding weights and biases 0), hidden layers followed by tanh.
struct DenseLayerView {
  int inputs = 0;
  int outputs = 0;   // padded width: fixes how each output's sum is split (see InferencePolicy)
  int computed = 0;  // outputs actually computed: 0 .. computed - 1 (the last layer skips its padding)
  const float* weights = nullptr;
  const float* bias = nullptr;
  bool tanh = false;
};

// Runs `layers` on one row `input`, vectorised across each layer's outputs (4, 8 or 16 floats per
// register on `isa`); `a` and `b` are workspaces of (widest layer) floats; returns the last
// layer's padded output (in a or b). Every output is b_j + sum_k x_k W(k, j) with the sum over k
// split by the layer's padded width: 32-float blocks in one ascending sum, then a 16-float block
// in 2 interleaved partial sums (k = r, r + 2, ...) and an 8-float block in 4, added in a fixed
// tree; then Eigen's float tanh (the rational approximation of Eigen 3.4's
// generic_fast_tanh_float without FMA, with its SSE min/max/select semantics). These are the
// float operations of the Eigen kernel InferencePolicy used before, so results are bitwise those,
// on every instruction set. `isa` must be supported by this CPU.
const float* row_forward(VectorIsa isa, std::span<const DenseLayerView> layers, const float* input, float* a, float* b);

// Rows evaluated together on `isa`: 4, 8 or 16 floats per vector.
int batch_lanes(VectorIsa isa);

// Runs `layers` on batch_lanes(isa) rows at once, one row per vector lane. `input` holds the rows
// transposed (input[k * lanes + r]); `a` and `b` are workspaces of (widest layer) x lanes floats.
// Returns the last layer's outputs, transposed (y[j * lanes + r] for j < its `computed`), in a or b.
//
// Every lane computes exactly row_forward's float operations for its row, in the same order, so
// each row's result is bitwise the one-row result, on every instruction set. `isa` must be
// supported by this CPU.
const float* batch_forward(VectorIsa isa, std::span<const DenseLayerView> layers, const float* input, float* a,
                           float* b);

}  // namespace manyworlds
