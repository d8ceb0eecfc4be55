// Tests of the float32 layer kernels: one row and many rows, every instruction set, bitwise the former Eigen kernel.
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cstring>
#include <vector>

#include "manyworlds/core/random.hpp"
#include "manyworlds/learn/batch_forward.hpp"

namespace manyworlds {
namespace {

using Buffer = std::vector<float, Eigen::aligned_allocator<float>>;

// The one-row kernel InferencePolicy ran before the dispatched kernels (Eigen, SSE2 packets):
// outputs [0, Width) held in registers, the sum over k in 32 / Width interleaved partial sums.
template <int Width, bool Tanh>
void eigen_block(const float* x, int inputs, const float* w, int stride, const float* b, float* y) {
  using Block = Eigen::Array<float, Width, 1>;
  using Row = Eigen::Map<const Block>;
  constexpr int parts = 32 / Width;
  const auto row = [&](int k) { return Row(w + static_cast<std::ptrdiff_t>(k) * stride); };
  Block acc[parts];
  acc[0] = Row(b);
  for (int r = 1; r < parts; ++r) acc[r].setZero();
  int k = 0;
  for (; k + parts <= inputs; k += parts) {
    for (int r = 0; r < parts; ++r) acc[r] += x[k + r] * row(k + r);
  }
  for (int r = 0; k < inputs; ++k, ++r) acc[r] += x[k] * row(k);
  if constexpr (parts == 4) {
    acc[0] += acc[1];
    acc[2] += acc[3];
  }
  if constexpr (parts >= 2) acc[0] += acc[parts / 2];
  if constexpr (Tanh) acc[0] = acc[0].tanh();
  Eigen::Map<Block> out(y);
  out = acc[0];
}

template <bool Tanh>
void eigen_dense(const float* x, int inputs, const float* w, int outputs, const float* b, float* y) {
  int j = 0;
  for (; j + 32 <= outputs; j += 32) eigen_block<32, Tanh>(x, inputs, w + j, outputs, b + j, y + j);
  if (j + 16 <= outputs) {
    eigen_block<16, Tanh>(x, inputs, w + j, outputs, b + j, y + j);
    j += 16;
  }
  if (j + 8 <= outputs) eigen_block<8, Tanh>(x, inputs, w + j, outputs, b + j, y + j);
}

struct Network {
  std::vector<Buffer> weights;
  std::vector<Buffer> biases;
  std::vector<DenseLayerView> layers;
};

// Layers of the given padded widths (multiples of 8) with random weights, some of them large so
// that tanh's clamps are reached, and zero padding columns as InferencePolicy stores them.
Network random_network(int inputs, const std::vector<int>& widths, Stream& stream) {
  Network net;
  int in = inputs;
  for (std::size_t l = 0; l < widths.size(); ++l) {
    const int out = widths[l];
    Buffer w(static_cast<std::size_t>(in) * out);
    Buffer b(static_cast<std::size_t>(out));
    for (float& x : w) x = static_cast<float>(stream.uniform(-1.5, 1.5));
    for (float& x : b) x = static_cast<float>(stream.uniform(-0.5, 0.5));
    for (int k = 0; k < in; ++k) w[static_cast<std::size_t>(k) * out + out - 1] = 0.0f;  // a padding column
    b[static_cast<std::size_t>(out) - 1] = 0.0f;
    net.weights.push_back(std::move(w));
    net.biases.push_back(std::move(b));
    in = out;
  }
  for (std::size_t l = 0; l < widths.size(); ++l)
    net.layers.push_back({l == 0 ? inputs : widths[l - 1], widths[l], widths[l], net.weights[l].data(),
                          net.biases[l].data(), l + 1 < widths.size()});
  return net;
}

std::vector<float> eigen_forward(const Network& net, const float* input) {
  Buffer a(64), b(64);
  std::copy(input, input + net.layers[0].inputs, a.begin());
  for (const DenseLayerView& layer : net.layers) {
    if (layer.tanh)
      eigen_dense<true>(a.data(), layer.inputs, layer.weights, layer.outputs, layer.bias, b.data());
    else
      eigen_dense<false>(a.data(), layer.inputs, layer.weights, layer.outputs, layer.bias, b.data());
    a.swap(b);
  }
  return {a.begin(), a.begin() + net.layers.back().outputs};
}

float testing_value(Stream& stream, int kind) {
  switch (kind % 4) {
    case 0:
      return static_cast<float>(stream.uniform(-2.0, 2.0));
    case 1:
      return static_cast<float>(stream.uniform(-1e-4, 1e-4));  // tanh's pass-through below 4e-4
    case 2:
      return static_cast<float>(stream.uniform(-30.0, 30.0));  // beyond its clamps
    default:
      return stream.uniform() < 0.5 ? -0.0f : 0.0f;
  }
}

TEST(BatchForward, OneRowAndManyRowsAreBitwiseTheEigenKernelOnEveryInstructionSet) {
  Stream stream(3, Purpose::training, 77);
  // Widths that use every block shape: 32 (one sum), 16 (two partial sums), 8 (four), 24 = 16 + 8.
  for (const std::vector<int>& widths :
       {std::vector<int>{32, 32, 8}, std::vector<int>{24, 40, 16}, std::vector<int>{8, 56}}) {
    const int inputs = 16;
    const Network net = random_network(inputs, widths, stream);
    const int rows = 37;
    std::vector<float> input(static_cast<std::size_t>(rows) * inputs);
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = testing_value(stream, static_cast<int>(i / inputs));
    std::vector<std::vector<float>> expected;
    for (int r = 0; r < rows; ++r) expected.push_back(eigen_forward(net, input.data() + r * inputs));
    const int outputs = widths.back();
    for (VectorIsa isa : all_vector_isas) {
      if (!supported(isa)) continue;
      Buffer a(64), b(64);
      for (int r = 0; r < rows; ++r) {
        const float* y = row_forward(isa, net.layers, input.data() + r * inputs, a.data(), b.data());
        ASSERT_EQ(std::memcmp(y, expected[static_cast<std::size_t>(r)].data(), sizeof(float) * outputs), 0)
            << to_string(isa) << " one row " << r;
      }
      const int lanes = batch_lanes(isa);
      Buffer transposed(static_cast<std::size_t>(inputs) * lanes), ta(64 * static_cast<std::size_t>(lanes)),
          tb(64 * static_cast<std::size_t>(lanes));
      for (int first = 0; first < rows; first += lanes) {
        for (int r = 0; r < lanes; ++r)
          for (int k = 0; k < inputs; ++k)
            transposed[static_cast<std::size_t>(k * lanes + r)] =
                first + r < rows ? input[static_cast<std::size_t>((first + r) * inputs + k)] : 0.0f;
        const float* y = batch_forward(isa, net.layers, transposed.data(), ta.data(), tb.data());
        for (int r = 0; r < lanes && first + r < rows; ++r)
          for (int j = 0; j < outputs; ++j)
            ASSERT_EQ(
                std::memcmp(&y[j * lanes + r],
                            &expected[static_cast<std::size_t>(first + r)][static_cast<std::size_t>(j)], sizeof(float)),
                0)
                << to_string(isa) << " row " << first + r << " output " << j;
      }
    }
  }
}

}  // namespace
}  // namespace manyworlds
