// A small multilayer perceptron (tanh hidden layers, linear output) over a flat double parameter vector.
#pragma once

#include <Eigen/Core>
#include <vector>

#include "manyworlds/core/random.hpp"

namespace manyworlds {

// Row-major double matrix; in batches, one row per sample.
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// What Mlp::forward keeps for Mlp::backward: the input and every layer's output, one row per sample.
struct MlpCache {
  std::vector<RowMatrix> activations;  // [0] = input, [l + 1] = output of layer l (tanh for hidden layers)
  RowMatrix delta;                     // scratch: dLoss/d(pre-activation) of the current layer
  RowMatrix delta_below;               // scratch: the same for the layer below
  RowMatrix transposed_weights;        // scratch: W^T of the layer being passed through
};

// The shape of an MLP and its maths; the parameters live outside, in one flat vector.
//
// Parameter layout (layer l = 0 .. layers()-1, in this order, no gaps):
//   W_l: layer_inputs(l) x layer_outputs(l), row-major: W_l(k, j) at weight_offset(l) + k * layer_outputs(l) + j,
//        the weight from input k to output j;
//   b_l: layer_outputs(l) values at bias_offset(l) = weight_offset(l) + layer_inputs(l) * layer_outputs(l).
// Layer l computes y_j = b_j + sum_k x_k W(k, j); every layer but the last applies tanh.
//
// All sums run in a fixed order that depends only on the shape and the row count (never on cache
// sizes, threads, how Eigen would block a matrix product or the vector width: the dense layers run
// on learn/dense_kernels.hpp's widest path), so a build gives bitwise the same results on every
// machine whose C math library (tanh) does.
class Mlp {
 public:
  // `hidden` may be empty (an affine model). Throws std::invalid_argument on non-positive widths.
  Mlp(int inputs, const std::vector<int>& hidden, int outputs);

  int inputs() const { return widths_.front(); }
  int outputs() const { return widths_.back(); }
  int layers() const { return static_cast<int>(widths_.size()) - 1; }
  int layer_inputs(int layer) const { return widths_[layer]; }
  int layer_outputs(int layer) const { return widths_[layer + 1]; }
  Eigen::Index weight_offset(int layer) const { return offsets_[layer]; }
  Eigen::Index bias_offset(int layer) const;
  Eigen::Index parameter_count() const { return offsets_.back(); }

  // Glorot-uniform weights, W ~ U(-a, a) with a = sqrt(6 / (in + out)), drawn from `stream` in
  // layout order; the last layer's a is multiplied by `output_gain`; biases are 0.
  void initialize(Eigen::Ref<Eigen::VectorXd> params, Stream& stream, double output_gain) const;

  // Batched forward pass of the rows of `input`; returns the output rows (stored in `cache`).
  const RowMatrix& forward(Eigen::Ref<const Eigen::VectorXd> params, const RowMatrix& input, MlpCache& cache) const;

  // Adds dLoss/dparams to `grad` (same layout as params), given dLoss/doutput for the rows of the
  // last forward pass made with `cache`.
  void backward(Eigen::Ref<const Eigen::VectorXd> params, MlpCache& cache, const RowMatrix& grad_output,
                Eigen::Ref<Eigen::VectorXd> grad) const;
  // The same for rows [first, first + count) of the last forward pass only (`grad_output` holds
  // dLoss/doutput of every row of that pass). Sums run over the range in row order, so this adds
  // bitwise what a forward and backward pass of those rows alone would.
  void backward_rows(Eigen::Ref<const Eigen::VectorXd> params, MlpCache& cache, const RowMatrix& grad_output,
                     Eigen::Index first, Eigen::Index count, Eigen::Ref<Eigen::VectorXd> grad) const;

 private:
  std::vector<int> widths_;            // inputs, hidden..., outputs
  std::vector<Eigen::Index> offsets_;  // weight offset of each layer, then the total size
};

}  // namespace manyworlds
