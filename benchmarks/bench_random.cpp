// Benchmarks of the counter-based random streams (doubles and normals per second).
#include <benchmark/benchmark.h>

#include "manyworlds/core/random.hpp"

namespace manyworlds {
namespace {

void BM_StreamUniform(benchmark::State& state) {
  Stream stream(42, Purpose::auction, 7, 1, 0);
  double sum = 0;
  for (auto _ : state) sum += stream.uniform();
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StreamUniform);

void BM_StreamNormal(benchmark::State& state) {
  Stream stream(42, Purpose::auction, 7, 1, 0);
  double sum = 0;
  for (auto _ : state) sum += stream.normal();
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StreamNormal);

}  // namespace
}  // namespace manyworlds
