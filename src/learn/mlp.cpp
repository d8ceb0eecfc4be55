// The MLP's initialisation, forward and backward passes, written as fixed-order row loops.
#include "manyworlds/learn/mlp.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace manyworlds {
namespace {

using ConstWeights = Eigen::Map<const RowMatrix>;
using Weights = Eigen::Map<RowMatrix>;

}  // namespace

Mlp::Mlp(int inputs, const std::vector<int>& hidden, int outputs) {
  widths_.push_back(inputs);
  widths_.insert(widths_.end(), hidden.begin(), hidden.end());
  widths_.push_back(outputs);
  for (int width : widths_) {
    if (width <= 0) throw std::invalid_argument("MLP layer widths must be positive, got " + std::to_string(width));
  }
  offsets_.push_back(0);
  for (int layer = 0; layer < layers(); ++layer) {
    const Eigen::Index in = layer_inputs(layer);
    const Eigen::Index out = layer_outputs(layer);
    offsets_.push_back(offsets_.back() + in * out + out);
  }
}

Eigen::Index Mlp::bias_offset(int layer) const {
  return offsets_[layer] + Eigen::Index{layer_inputs(layer)} * layer_outputs(layer);
}

void Mlp::initialize(Eigen::Ref<Eigen::VectorXd> params, Stream& stream, double output_gain) const {
  for (int layer = 0; layer < layers(); ++layer) {
    const int in = layer_inputs(layer);
    const int out = layer_outputs(layer);
    double limit = std::sqrt(6.0 / static_cast<double>(in + out));
    if (layer == layers() - 1) limit *= output_gain;
    const Eigen::Index begin = weight_offset(layer);
    for (Eigen::Index i = 0; i < Eigen::Index{in} * out; ++i) params[begin + i] = stream.uniform(-limit, limit);
    params.segment(bias_offset(layer), out).setZero();
  }
}

const RowMatrix& Mlp::forward(Eigen::Ref<const Eigen::VectorXd> params, const RowMatrix& input, MlpCache& cache) const {
  const Eigen::Index rows = input.rows();
  cache.activations.resize(static_cast<std::size_t>(layers()) + 1);
  cache.activations[0] = input;
  for (int layer = 0; layer < layers(); ++layer) {
    const int in = layer_inputs(layer);
    const int out = layer_outputs(layer);
    const ConstWeights w(params.data() + weight_offset(layer), in, out);
    const auto bias = params.segment(bias_offset(layer), out).transpose();
    const RowMatrix& x = cache.activations[layer];
    RowMatrix& y = cache.activations[layer + 1];
    y.resize(rows, out);
    for (Eigen::Index i = 0; i < rows; ++i) {
      auto row = y.row(i);
      row = bias;
      for (int k = 0; k < in; ++k) row += x(i, k) * w.row(k);
      if (layer + 1 < layers()) row = row.array().tanh().matrix();
    }
  }
  return cache.activations.back();
}

void Mlp::backward(Eigen::Ref<const Eigen::VectorXd> params, MlpCache& cache, const RowMatrix& grad_output,
                   Eigen::Ref<Eigen::VectorXd> grad) const {
  backward_rows(params, cache, grad_output, 0, grad_output.rows(), grad);
}

void Mlp::backward_rows(Eigen::Ref<const Eigen::VectorXd> params, MlpCache& cache, const RowMatrix& grad_output,
                        Eigen::Index first, Eigen::Index count, Eigen::Ref<Eigen::VectorXd> grad) const {
  cache.delta = grad_output.middleRows(first, count);
  for (int layer = layers() - 1; layer >= 0; --layer) {
    const int in = layer_inputs(layer);
    const int out = layer_outputs(layer);
    const RowMatrix& x = cache.activations[layer];
    Weights grad_w(grad.data() + weight_offset(layer), in, out);
    auto grad_b = grad.segment(bias_offset(layer), out).transpose();
    for (Eigen::Index i = 0; i < count; ++i) {
      const auto delta_row = cache.delta.row(i);
      grad_b += delta_row;
      for (int k = 0; k < in; ++k) grad_w.row(k) += x(first + i, k) * delta_row;
    }
    if (layer == 0) break;
    // Through W and the tanh that produced this layer's input: d/dz tanh(z) = 1 - tanh(z)^2.
    const ConstWeights w(params.data() + weight_offset(layer), in, out);
    cache.delta_below.resize(count, in);
    for (Eigen::Index i = 0; i < count; ++i) {
      for (int k = 0; k < in; ++k) {
        const double a = x(first + i, k);
        cache.delta_below(i, k) = cache.delta.row(i).dot(w.row(k)) * (1.0 - a * a);
      }
    }
    cache.delta.swap(cache.delta_below);
  }
}

}  // namespace manyworlds
