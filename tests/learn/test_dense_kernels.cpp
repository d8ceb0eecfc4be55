// Tests of the double dense-layer kernels: on every instruction set, bit for bit the Eigen row loops they replaced.
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cstring>
#include <string>
#include <vector>

#include "manyworlds/core/random.hpp"
#include "manyworlds/learn/dense_kernels.hpp"

namespace manyworlds {
namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Values over many binades and both signs, with exact zeros of both signs now and then.
RowMatrix random_matrix(Eigen::Index rows, Eigen::Index cols, Stream& stream) {
  RowMatrix m(rows, cols);
  for (Eigen::Index i = 0; i < rows; ++i) {
    for (Eigen::Index j = 0; j < cols; ++j) {
      const double u = stream.uniform();
      m(i, j) = u < 0.03 ? 0.0 : u < 0.06 ? -0.0 : stream.normal() * std::exp2(stream.uniform(-30.0, 30.0));
    }
  }
  return m;
}

// The forward loop of Mlp before the kernels (Eigen 3.4, SSE2 packets), the reference.
RowMatrix reference_forward(const RowMatrix& x, const RowMatrix& w, const RowMatrix& bias) {
  RowMatrix y(x.rows(), w.cols());
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    auto row = y.row(i);
    row = bias;
    for (Eigen::Index k = 0; k < x.cols(); ++k) row += x(i, k) * w.row(k);
  }
  return y;
}

// The parameter-gradient loop of Mlp::backward_rows before the kernels, the reference.
void reference_gradient(const RowMatrix& x, const RowMatrix& delta, RowMatrix& grad_w, RowMatrix& grad_b) {
  for (Eigen::Index i = 0; i < delta.rows(); ++i) {
    const auto delta_row = delta.row(i);
    grad_b += delta_row;
    for (Eigen::Index k = 0; k < x.cols(); ++k) grad_w.row(k) += x(i, k) * delta_row;
  }
}

// The step of Mlp::backward_rows below a tanh layer before the kernels, the reference.
RowMatrix reference_input_gradient(const RowMatrix& delta, const RowMatrix& w, const RowMatrix& x) {
  RowMatrix below(delta.rows(), w.rows());
  for (Eigen::Index i = 0; i < delta.rows(); ++i) {
    for (Eigen::Index k = 0; k < w.rows(); ++k) {
      const double a = x(i, k);
      below(i, k) = delta.row(i).dot(w.row(k)) * (1.0 - a * a);
    }
  }
  return below;
}

bool same_bits(const RowMatrix& a, const RowMatrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         (a.size() == 0 || std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0);
}

struct Shape {
  int rows;
  int inputs;
  int outputs;
};
// Output widths below, at and between the vector blocks of every path (2, 4, 8 doubles; 4 vectors
// a block), the MLP's own shapes, and no rows at all.
const std::vector<Shape> shapes = {{1, 1, 1},  {3, 17, 32}, {7, 32, 32}, {5, 32, 4},  {9, 32, 1},  {4, 5, 33},
                                   {2, 3, 15}, {6, 9, 63},  {3, 1, 66},  {0, 17, 32}, {13, 40, 7}, {1, 2, 31}};

std::string describe(VectorIsa isa, const Shape& shape) {
  return std::string(to_string(isa)) + ", " + std::to_string(shape.rows) + " rows, " + std::to_string(shape.inputs) +
         " inputs, " + std::to_string(shape.outputs) + " outputs";
}

TEST(DenseKernels, ForwardIsTheEigenLoopOnEveryPath) {
  Stream stream(17, Purpose::training, 40);
  for (const Shape& shape : shapes) {
    const RowMatrix x = random_matrix(shape.rows, shape.inputs, stream);
    const RowMatrix w = random_matrix(shape.inputs, shape.outputs, stream);
    const RowMatrix bias = random_matrix(1, shape.outputs, stream);
    const RowMatrix expected = reference_forward(x, w, bias);
    for (VectorIsa isa : all_vector_isas) {
      if (!supported(isa)) continue;
      RowMatrix y(shape.rows, shape.outputs);
      dense_forward(isa, {shape.rows, shape.inputs, shape.outputs}, x.data(), w.data(), bias.data(), y.data());
      EXPECT_TRUE(same_bits(y, expected)) << describe(isa, shape);
    }
  }
}

TEST(DenseKernels, ParameterGradientIsTheEigenLoopOnEveryPath) {
  Stream stream(18, Purpose::training, 41);
  for (const Shape& shape : shapes) {
    const RowMatrix x = random_matrix(shape.rows, shape.inputs, stream);
    const RowMatrix delta = random_matrix(shape.rows, shape.outputs, stream);
    const RowMatrix start_w = random_matrix(shape.inputs, shape.outputs, stream);  // gradients already added to
    const RowMatrix start_b = random_matrix(1, shape.outputs, stream);
    RowMatrix expected_w = start_w;
    RowMatrix expected_b = start_b;
    reference_gradient(x, delta, expected_w, expected_b);
    for (VectorIsa isa : all_vector_isas) {
      if (!supported(isa)) continue;
      RowMatrix grad_w = start_w;
      RowMatrix grad_b = start_b;
      dense_parameter_gradient(isa, {shape.rows, shape.inputs, shape.outputs}, x.data(), delta.data(), grad_w.data(),
                               grad_b.data());
      EXPECT_TRUE(same_bits(grad_w, expected_w)) << "weights, " << describe(isa, shape);
      EXPECT_TRUE(same_bits(grad_b, expected_b)) << "bias, " << describe(isa, shape);
    }
  }
}

TEST(DenseKernels, InputGradientIsTheEigenLoopOnEveryPath) {
  // The kernels keep the order of Eigen's dot with SSE2 packets (the portable build's); a build
  // whose Eigen uses wider packets (MANYWORLDS_NATIVE) sums its own dot in another order.
  if (Eigen::internal::packet_traits<double>::size != 2)
    GTEST_SKIP() << "Eigen's double packets hold " << Eigen::internal::packet_traits<double>::size
                 << " values in this build; the reference needs 2";
  Stream stream(19, Purpose::training, 42);
  for (const Shape& shape : shapes) {
    const RowMatrix delta = random_matrix(shape.rows, shape.outputs, stream);
    const RowMatrix w = random_matrix(shape.inputs, shape.outputs, stream);
    const RowMatrix x = random_matrix(shape.rows, shape.inputs, stream);
    const RowMatrix expected = reference_input_gradient(delta, w, x);
    const RowMatrix transposed = w.transpose();
    for (VectorIsa isa : all_vector_isas) {
      if (!supported(isa)) continue;
      RowMatrix below(shape.rows, shape.inputs);
      dense_input_gradient(isa, {shape.rows, shape.inputs, shape.outputs}, delta.data(), transposed.data(), x.data(),
                           below.data());
      EXPECT_TRUE(same_bits(below, expected)) << describe(isa, shape);
    }
  }
}

// A sum whose order shows: 1 + 2^-53 + 2^-53 is 1 added in order, 1 + 2^-52 if the small terms
// were added first. The kernels add in input (forward) and row (gradient) order, in every lane.
TEST(DenseKernels, SumsRunInOrder) {
  constexpr int width = 19;  // vector blocks and a scalar tail on every path
  const double tiny = std::exp2(-53);
  const RowMatrix ones = RowMatrix::Ones(3, 1);
  RowMatrix terms(3, width);
  terms << RowMatrix::Ones(1, width), RowMatrix::Constant(2, width, tiny);
  const RowMatrix zero = RowMatrix::Zero(1, width);
  for (VectorIsa isa : all_vector_isas) {
    if (!supported(isa)) continue;
    RowMatrix y(1, width);
    dense_forward(isa, {1, 3, width}, ones.data(), terms.data(), zero.data(), y.data());
    EXPECT_TRUE((y.array() == 1.0).all()) << to_string(isa);
    RowMatrix grad_w = zero;
    RowMatrix grad_b = zero;
    dense_parameter_gradient(isa, {3, 1, width}, ones.data(), terms.data(), grad_w.data(), grad_b.data());
    EXPECT_TRUE((grad_w.array() == 1.0).all()) << to_string(isa);
    EXPECT_TRUE((grad_b.array() == 1.0).all()) << to_string(isa);
  }
}

}  // namespace
}  // namespace manyworlds
