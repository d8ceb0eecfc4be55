// The MLP's initialisation, forward and backward passes: dense layers by the per-instruction-set kernels, fixed order.
#include "manyworlds/learn/mlp.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "manyworlds/learn/dense_kernels.hpp"
#include "manyworlds/learn/exact_tanh.hpp"

namespace manyworlds {
namespace {

using ConstWeights = Eigen::Map<const RowMatrix>;

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
  const VectorIsa isa = best_vector_isa();
  cache.activations.resize(static_cast<std::size_t>(layers()) + 1);
  cache.activations[0] = input;
  for (int layer = 0; layer < layers(); ++layer) {
    const int in = layer_inputs(layer);
    const int out = layer_outputs(layer);
    RowMatrix& y = cache.activations[layer + 1];
    y.resize(rows, out);
    dense_forward(isa, {rows, in, out}, cache.activations[layer].data(), params.data() + weight_offset(layer),
                  params.data() + bias_offset(layer), y.data());
    if (layer + 1 < layers()) tanh_in_place(std::span<double>(y.data(), static_cast<std::size_t>(y.size())));
  }
  return cache.activations.back();
}

void Mlp::backward(Eigen::Ref<const Eigen::VectorXd> params, MlpCache& cache, const RowMatrix& grad_output,
                   Eigen::Ref<Eigen::VectorXd> grad) const {
  backward_rows(params, cache, grad_output, 0, grad_output.rows(), grad);
}

void Mlp::backward_rows(Eigen::Ref<const Eigen::VectorXd> params, MlpCache& cache, const RowMatrix& grad_output,
                        Eigen::Index first, Eigen::Index count, Eigen::Ref<Eigen::VectorXd> grad) const {
  const VectorIsa isa = best_vector_isa();
  cache.delta = grad_output.middleRows(first, count);
  for (int layer = layers() - 1; layer >= 0; --layer) {
    const int in = layer_inputs(layer);
    const int out = layer_outputs(layer);
    const RowMatrix& x = cache.activations[layer];
    dense_parameter_gradient(isa, {count, in, out}, x.data() + first * in, cache.delta.data(),
                             grad.data() + weight_offset(layer), grad.data() + bias_offset(layer));
    if (layer == 0) break;
    // Through W and the tanh that produced this layer's input: d/dz tanh(z) = 1 - tanh(z)^2.
    cache.transposed_weights = ConstWeights(params.data() + weight_offset(layer), in, out).transpose();
    cache.delta_below.resize(count, in);
    dense_input_gradient(isa, {count, in, out}, cache.delta.data(), cache.transposed_weights.data(),
                         x.data() + first * in, cache.delta_below.data());
    cache.delta.swap(cache.delta_below);
  }
}

}  // namespace manyworlds
