// Benchmarks of the importance sampler's draw() per mode and of event typing, against the number of experiences.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "manyworlds/core/collectives.hpp"
#include "manyworlds/core/config.hpp"
#include "manyworlds/core/experience.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/sampling/event_types.hpp"
#include "manyworlds/sampling/sampler.hpp"

namespace manyworlds {
namespace {

constexpr std::int64_t bench_worlds = 128;
constexpr std::int64_t bench_batch = 2048;
constexpr std::int32_t bench_episode_length = 50;

struct BenchPopulation {
  std::vector<Experience> experiences;
  std::vector<WorldSlice> worlds;
};

// `count` experiences over 128 equally sized worlds: ~10% crisis users, ~8% with a conversion value,
// advantages spread around 0; contents drawn from each world's own stream.
BenchPopulation make_population(std::int64_t count) {
  BenchPopulation population;
  population.experiences.reserve(static_cast<std::size_t>(count));
  for (std::int64_t world = 0; world < bench_worlds; ++world) {
    const std::int64_t begin = count * world / bench_worlds;
    const std::int64_t end = count * (world + 1) / bench_worlds;
    Stream stream(1, Purpose::population, static_cast<std::uint32_t>(world));
    for (std::int64_t i = begin; i < end; ++i) {
      Experience e;
      const auto index = static_cast<std::int32_t>(i - begin);
      e.world = static_cast<std::int32_t>(world);
      e.episode = index / bench_episode_length;
      e.step = index % bench_episode_length;
      const bool crisis = stream.bernoulli(0.1);
      const bool done = e.step == bench_episode_length - 1 || i + 1 == end;
      e.flags = static_cast<std::uint8_t>((crisis ? flag_crisis_truth : 0) | (done ? flag_done : 0));
      e.event_type = static_cast<std::uint8_t>(crisis ? EventType::crisis : EventType::regular);
      e.tags = stream.bernoulli(0.05) ? 1u << 1 : 1u;
      e.advantage = static_cast<float>(stream.normal());
      e.conversion_value =
          stream.bernoulli(crisis ? 0.3 : 0.05) ? static_cast<float>(stream.lognormal(3.0, 1.0)) : 0.0f;
      e.expected_reward = e.conversion_value - 0.5f;
      population.experiences.push_back(e);
    }
    population.worlds.push_back({world, begin, end});
  }
  return population;
}

// Arguments: sampling mode (0 proportional, 1 stratified, 2 without replacement), number of experiences.
void BM_SamplerDraw(benchmark::State& state) {
  const auto mode = static_cast<SamplingMode>(state.range(0));
  const std::int64_t count = state.range(1);
  const BenchPopulation population = make_population(count);
  SamplingSection config;
  config.mode = mode;
  config.batch_size = bench_batch;
  config.advantage_priority = true;
  const BatchSampler sampler(config, 1);
  SerialCollectives serial;
  int iteration = 0;
  for (auto _ : state) {
    const SampledBatch batch = sampler.draw(population.experiences, population.worlds, iteration++, 0.4, serial);
    benchmark::DoNotOptimize(batch.rows.data());
  }
  state.SetLabel(to_string(mode));
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(BM_SamplerDraw)
    ->ArgNames({"mode", "experiences"})
    ->ArgsProduct({{0, 1, 2}, {10000, 100000, 1000000}})
    ->Unit(benchmark::kMillisecond);

// Argument: number of experiences. Precedence keywords, then the exact global value percentile
// (a bisection of about 31 counting passes), then ground truth.
void BM_EventTyperClassify(benchmark::State& state) {
  BenchPopulation population = make_population(state.range(0));
  EventTypeSection config;
  config.precedence = {EventSource::keywords, EventSource::value_percentile, EventSource::ground_truth};
  const std::vector<std::string> vocabulary{"family", "crisis", "urgent", "emergency", "high_priority"};
  const EventTyper typer(config, vocabulary);
  SerialCollectives serial;
  for (auto _ : state) {
    const IdentificationCounts counts = typer.classify(population.experiences, serial);
    benchmark::DoNotOptimize(counts.true_positive);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EventTyperClassify)
    ->ArgName("experiences")
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace manyworlds
