// The layer edges of the 128-layer normal ziggurat (Marsaglia and Tsang 2000), shared by both normal generators.
#pragma once

#include <array>
#include <cmath>

namespace manyworlds {

inline constexpr int ziggurat_layers = 128;
inline constexpr double ziggurat_edge = 3.442619855899;       // R: where the tail starts
inline constexpr double ziggurat_area = 9.91256303526217e-3;  // V: the area of every layer

using ZigguratEdges = std::array<double, ziggurat_layers + 1>;

// x[0] = V / f(R) (the base strip's width), x[1] = R, x[i + 1] = f^-1(f(x[i]) + V / x[i]), x[128] = 0,
// with f(x) = exp(-x^2 / 2). Built once on first use, never changed.
inline const ZigguratEdges& ziggurat_edges() {
  static const ZigguratEdges edges = [] {
    const auto f = [](double x) { return std::exp(-0.5 * x * x); };
    ZigguratEdges x{};
    x[0] = ziggurat_area / f(ziggurat_edge);
    x[1] = ziggurat_edge;
    for (int i = 1; i + 1 < ziggurat_layers; ++i) x[i + 1] = std::sqrt(-2.0 * std::log(f(x[i]) + ziggurat_area / x[i]));
    x[ziggurat_layers] = 0.0;
    return x;
  }();
  return edges;
}

}  // namespace manyworlds
