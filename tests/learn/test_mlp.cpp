// Tests of the flat-parameter MLP: layout, forward values, deterministic initialisation, backward vs finite
// differences.
#include <gtest/gtest.h>

#include <cmath>

#include "manyworlds/learn/mlp.hpp"

namespace manyworlds {
namespace {

Eigen::VectorXd random_parameters(const Mlp& net, std::uint64_t seed) {
  Stream stream(seed, Purpose::training, 0);
  Eigen::VectorXd params(net.parameter_count());
  for (Eigen::Index i = 0; i < params.size(); ++i) params[i] = stream.uniform(-1.0, 1.0);
  return params;
}

RowMatrix random_rows(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
  Stream stream(seed, Purpose::training, 1);
  RowMatrix m(rows, cols);
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j) m(i, j) = stream.uniform(-1.0, 1.0);
  return m;
}

TEST(LearnMlp, LayoutOffsetsAndCount) {
  const Mlp net(3, {4, 2}, 5);
  EXPECT_EQ(net.layers(), 3);
  EXPECT_EQ(net.weight_offset(0), 0);
  EXPECT_EQ(net.bias_offset(0), 12);
  EXPECT_EQ(net.weight_offset(1), 16);
  EXPECT_EQ(net.bias_offset(1), 24);
  EXPECT_EQ(net.weight_offset(2), 26);
  EXPECT_EQ(net.bias_offset(2), 36);
  EXPECT_EQ(net.parameter_count(), 41);
  EXPECT_THROW(Mlp(3, {0}, 1), std::invalid_argument);
}

TEST(LearnMlp, ForwardMatchesHandComputation) {
  const Mlp net(2, {2}, 1);
  // W0 = [[0.5, -1], [2, 0.25]] (row k = input k), b0 = [0.1, -0.2], W1 = [[1.5], [-0.75]], b1 = [0.3].
  Eigen::VectorXd p(net.parameter_count());
  p << 0.5, -1.0, 2.0, 0.25, 0.1, -0.2, 1.5, -0.75, 0.3;
  RowMatrix x(2, 2);
  x << 0.3, -0.4, 1.0, 2.0;
  MlpCache cache;
  const RowMatrix& y = net.forward(p, x, cache);
  for (int i = 0; i < 2; ++i) {
    const double h0 = std::tanh(0.1 + x(i, 0) * 0.5 + x(i, 1) * 2.0);
    const double h1 = std::tanh(-0.2 + x(i, 0) * -1.0 + x(i, 1) * 0.25);
    EXPECT_NEAR(y(i, 0), 0.3 + 1.5 * h0 - 0.75 * h1, 1e-15);
  }
}

TEST(LearnMlp, InitialisationIsDeterministicGlorotWithZeroBiases) {
  const Mlp net(16, {32, 32}, 5);
  Eigen::VectorXd a(net.parameter_count());
  Eigen::VectorXd b(net.parameter_count());
  Stream sa(7, Purpose::training, 3);
  Stream sb(7, Purpose::training, 3);
  net.initialize(a, sa, 0.01);
  net.initialize(b, sb, 0.01);
  EXPECT_EQ(a, b);
  for (int l = 0; l < net.layers(); ++l) {
    double limit = std::sqrt(6.0 / (net.layer_inputs(l) + net.layer_outputs(l)));
    if (l == net.layers() - 1) limit *= 0.01;
    const auto w = a.segment(net.weight_offset(l), net.bias_offset(l) - net.weight_offset(l));
    EXPECT_LE(w.cwiseAbs().maxCoeff(), limit);
    EXPECT_GT(w.cwiseAbs().maxCoeff(), 0.8 * limit);  // the draws fill the range
    EXPECT_TRUE(a.segment(net.bias_offset(l), net.layer_outputs(l)).isZero(0.0));
  }
  Stream other(8, Purpose::training, 3);
  net.initialize(b, other, 0.01);
  EXPECT_NE(a, b);
}

TEST(LearnMlp, BackwardMatchesCentralDifferences) {
  const Mlp net(4, {5, 3}, 2);
  const Eigen::VectorXd p = random_parameters(net, 11);
  const RowMatrix x = random_rows(6, 4, 12);
  const RowMatrix coef = random_rows(6, 2, 13);  // loss = sum of coef .* output
  MlpCache cache;
  net.forward(p, x, cache);
  Eigen::VectorXd grad = Eigen::VectorXd::Zero(p.size());
  net.backward(p, cache, coef, grad);
  auto loss = [&](const Eigen::VectorXd& q) {
    MlpCache c;
    return net.forward(q, x, c).cwiseProduct(coef).sum();
  };
  const double h = 1e-6;
  for (Eigen::Index i = 0; i < p.size(); ++i) {
    Eigen::VectorXd plus = p;
    Eigen::VectorXd minus = p;
    plus[i] += h;
    minus[i] -= h;
    const double fd = (loss(plus) - loss(minus)) / (2 * h);
    EXPECT_NEAR(grad[i], fd, 1e-8 * (1.0 + std::abs(fd))) << "parameter " << i;
  }
}

TEST(LearnMlp, BackwardAccumulatesIntoGradient) {
  const Mlp net(3, {4}, 1);
  const Eigen::VectorXd p = random_parameters(net, 21);
  const RowMatrix x = random_rows(3, 3, 22);
  const RowMatrix ones = RowMatrix::Ones(3, 1);
  MlpCache cache;
  net.forward(p, x, cache);
  Eigen::VectorXd once = Eigen::VectorXd::Zero(p.size());
  net.backward(p, cache, ones, once);
  Eigen::VectorXd twice = once;
  net.backward(p, cache, ones, twice);
  EXPECT_TRUE(twice.isApprox(2.0 * once, 1e-15));
}

}  // namespace
}  // namespace manyworlds
