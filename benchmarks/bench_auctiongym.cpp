// Benchmarks of the AuctionGym-compatible scenario: auctions per second on one core, and its parts.
#include <benchmark/benchmark.h>

#include <string>

#include "manyworlds/scenarios/auctiongym/scenario.hpp"

namespace manyworlds::auctiongym {
namespace {

Scenario sp_oracle() { return load_scenario(std::string(MANYWORLDS_SOURCE_DIR) + "/jobs/auctiongym-sp-oracle.toml"); }

// Whole auctions of jobs/auctiongym-sp-oracle.toml, statistics included, in batches of 4096;
// items/s = auctions/s on one core. The argument is the VectorIsa (0 sse2, 1 avx2, 2 avx512): results are
// identical, speed is not; the auctiongym command uses best_vector_isa().
void BM_AuctionGymAuctions(benchmark::State& state) {
  const auto isa = static_cast<VectorIsa>(state.range(0));
  if (!supported(isa)) {
    state.SkipWithError("this CPU does not support the instruction set");
    return;
  }
  const Scenario scenario = sp_oracle();
  const Simulator simulator(scenario, make_catalogue(scenario), isa);
  constexpr std::int64_t batch = 4096;
  RoundStats stats(scenario.bidders);
  std::int64_t next = 0;
  for (auto _ : state) {
    simulator.simulate(0, {next, next + batch}, stats);
    next += batch;
  }
  benchmark::DoNotOptimize(stats.bidders.data());
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetLabel(to_string(isa));
}
BENCHMARK(BM_AuctionGymAuctions)->DenseRange(0, 2);

// One oracle bid (12 items, 5 dimensions): the dot products, the sigmoids and the arg-max.
void BM_AuctionGymOracleBid(benchmark::State& state) {
  const Scenario scenario = sp_oracle();
  const Simulator simulator(scenario, make_catalogue(scenario));
  const double context[5] = {0.3, -1.2, 0.7, 0.05, -0.4};
  int bidder = 0;
  for (auto _ : state) {
    const Bid bid = simulator.oracle(bidder, context);
    benchmark::DoNotOptimize(bid);
    bidder = bidder == scenario.bidders - 1 ? 0 : bidder + 1;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuctionGymOracleBid);

// The 32-bit ziggurat normals of the auctions (compare BM_StreamNormal, which takes 64 bits a normal).
void BM_ZigguratNormal(benchmark::State& state) {
  const ZigguratNormal normal;
  Stream stream(42, Purpose::auctiongym, 7, 1, 0);
  double sum = 0;
  for (auto _ : state) sum += normal(stream);
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ZigguratNormal);

}  // namespace
}  // namespace manyworlds::auctiongym
