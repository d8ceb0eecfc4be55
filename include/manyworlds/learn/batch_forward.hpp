// Float32 MLP forward passes over a group of rows held as SIMD lanes, compiled for SSE2, AVX2 and AVX-512.
#pragma once

#include <span>

#include "manyworlds/core/vector_isa.hpp"

namespace manyworlds {

// One dense layer as InferencePolicy stores it: weights row-major inputs x outputs, outputs padded
// to a multiple of 8 (padding weights and biases 0), hidden layers followed by tanh.
struct DenseLayerView {
  int inputs = 0;
  int outputs = 0;      // padded width: fixes how each output's sum is split (see InferencePolicy)
  int computed = 0;     // outputs actually computed: 0 .. computed - 1 (the last layer skips its padding)
  const float* weights = nullptr;
  const float* bias = nullptr;
  bool tanh = false;
};

// Rows evaluated together on `isa`: 4, 8 or 16 floats per vector.
int batch_lanes(VectorIsa isa);

// Runs `layers` on batch_lanes(isa) rows at once, one row per vector lane. `input` holds the rows
// transposed (input[k * lanes + r]); `a` and `b` are workspaces of (widest layer) x lanes floats.
// Returns the last layer's outputs, transposed (y[j * lanes + r] for j < its `computed`), in a or b.
//
// Every lane computes exactly the float operations of InferencePolicy's one-row kernel, in the same
// order: out_j = b_j + sum_k x_k W(k, j) with the sum split into the same 1, 2 or 4 interleaved
// partial sums, then Eigen's float tanh (the rational approximation of generic_fast_tanh_float,
// with Eigen's SSE min/max/select semantics). So each row's result is bitwise the one-row result,
// on every instruction set. `isa` must be supported by this CPU.
const float* batch_forward(VectorIsa isa, std::span<const DenseLayerView> layers, const float* input, float* a,
                           float* b);

}  // namespace manyworlds
