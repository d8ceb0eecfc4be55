// Benchmarks of the learn layer: act() per decision, batched values(), PPO updates over worlds, exact gradient sums.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "manyworlds/learn/exact_tanh.hpp"
#include "manyworlds/learn/inference_policy.hpp"
#include "manyworlds/learn/ppo.hpp"

namespace manyworlds {
namespace {

constexpr int bench_creatives = 4;

std::vector<Experience> random_experiences(std::size_t count) {
  Stream stream(5, Purpose::training, 1);
  std::vector<Experience> experiences(count);
  for (Experience& e : experiences) {
    for (float& x : e.obs) x = static_cast<float>(stream.uniform(-1.0, 1.0));
  }
  return experiences;
}

std::vector<double> initial_parameters(const PolicyModel& model) {
  Stream stream(5, Purpose::training, 0);
  const Eigen::VectorXd params = model.initial_parameters(stream);
  return {params.data(), params.data() + params.size()};
}

// One sampled decision with the default [32, 32] trunk and 4 creatives (noise drawn beforehand),
// on the instruction set range(0) (0 sse2, 1 avx2, 2 avx512).
void BM_LearnAct(benchmark::State& state) {
  const auto isa = static_cast<VectorIsa>(state.range(0));
  if (!supported(isa)) {
    state.SkipWithError("this CPU does not support the instruction set");
    return;
  }
  const PolicyModel model(PolicySection{}, bench_creatives);
  InferencePolicy policy(model, initial_parameters(model), InferencePolicy::Mode::sample, isa);
  const std::vector<Experience> experiences = random_experiences(1024);
  std::vector<DecisionNoise> noise(1024);
  Stream stream(5, Purpose::action, 0);
  for (DecisionNoise& n : noise) n = {stream.normal(), stream.uniform()};
  std::size_t i = 0;
  for (auto _ : state) {
    const Action a = policy.act(experiences[i].obs, bench_creatives, noise[i]);
    benchmark::DoNotOptimize(a);
    i = (i + 1) & 1023;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(to_string(isa));
}
BENCHMARK(BM_LearnAct)->DenseRange(0, 2);

// The same decisions in batches of range(1) (the lockstep interface) on the instruction set
// range(0) (0 sse2, 1 avx2, 2 avx512): bitwise the same actions; items/s = decisions/s.
void BM_LearnActBatch(benchmark::State& state) {
  const auto isa = static_cast<VectorIsa>(state.range(0));
  if (!supported(isa)) {
    state.SkipWithError("this CPU does not support the instruction set");
    return;
  }
  const PolicyModel model(PolicySection{}, bench_creatives);
  InferencePolicy policy(model, initial_parameters(model), InferencePolicy::Mode::sample, isa);
  const std::vector<Experience> experiences = random_experiences(1024);
  std::vector<Decision> decisions;
  Stream stream(5, Purpose::action, 0);
  for (std::size_t i = 0; i < experiences.size(); ++i)
    decisions.push_back({&experiences[i].obs, {stream.normal(), stream.uniform()}, bench_creatives, 0});
  const auto batch = static_cast<std::size_t>(state.range(1));
  std::vector<Action> actions(batch);
  std::size_t first = 0;
  for (auto _ : state) {
    policy.act(std::span<const Decision>(decisions.data() + first, batch), actions);
    benchmark::DoNotOptimize(actions.data());
    first = (first + batch) & 511;
  }
  state.SetItemsProcessed(state.iterations() * state.range(1));
  state.SetLabel(to_string(isa));
}
BENCHMARK(BM_LearnActBatch)->ArgsProduct({{0, 1, 2}, {16, 32}});

// Value-head evaluation of `range(0)` experiences per call.
void BM_LearnValues(benchmark::State& state) {
  const PolicyModel model(PolicySection{}, bench_creatives);
  InferencePolicy policy(model, initial_parameters(model));
  const std::size_t rows = static_cast<std::size_t>(state.range(0));
  const std::vector<Experience> experiences = random_experiences(rows);
  std::vector<float> values(rows);
  for (auto _ : state) {
    policy.values(experiences.data(), rows, values.data());
    benchmark::DoNotOptimize(values.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_LearnValues)->Arg(1)->Arg(64)->Arg(4096);

// One PPO update of a 2048-sample batch spread over `worlds` worlds (state.range(0)): minibatch 512,
// 4 epochs (16 Adam steps), default shapes. One world is a plain minibatch sum; more worlds show the
// cost of per-world partial gradients and their exact sum.
void BM_PpoUpdate(benchmark::State& state) {
  const PolicyModel model(PolicySection{}, bench_creatives);
  const std::vector<double> params = initial_parameters(model);
  const std::vector<Experience> experiences = random_experiences(2048);
  const auto worlds = static_cast<std::int64_t>(state.range(0));
  LocalBatch batch;
  Stream stream(5, Purpose::training, 2);
  for (const Experience& e : experiences) {
    TrainingSample s = training_sample(e, stream.uniform(0.2, 3.0));
    s.log_bid_multiplier = static_cast<float>(stream.normal(0.0, 0.5));
    s.creative = static_cast<int>(stream.below(bench_creatives));
    s.log_prob = static_cast<float>(-1.5 + stream.uniform(-0.2, 0.2));
    s.advantage = static_cast<float>(stream.normal());
    s.value_target = static_cast<float>(stream.normal());
    batch.worlds.push_back(static_cast<std::int64_t>(batch.samples.size()) * worlds / 2048);
    batch.samples.push_back(s);
  }
  batch.total_rows = 2048;
  PpoSection ppo;
  ppo.minibatch_size = 512;
  ppo.epochs = 4;
  PpoTrainer trainer(model, ppo,
                     Eigen::Map<const Eigen::VectorXd>(params.data(), static_cast<Eigen::Index>(params.size())));
  SerialCollectives serial;
  std::uint32_t iteration = 0;
  for (auto _ : state) {
    const PpoStats stats = trainer.update(batch, 5, ++iteration, serial);
    benchmark::DoNotOptimize(stats);
  }
  state.SetItemsProcessed(state.iterations() * 2048 * ppo.epochs);
}
BENCHMARK(BM_PpoUpdate)->Arg(1)->Arg(16)->Arg(128)->Arg(2048)->Unit(benchmark::kMillisecond);

// The exact sum of a policy-sized gradient: `state.range(0)` per-world partials added, one reduce.
// Partials like real ones: each component's magnitude spread over eight decades, varying by world.
void BM_ExactSumGradient(benchmark::State& state) {
  const PolicyModel model(PolicySection{}, bench_creatives);
  const auto size = static_cast<std::size_t>(model.parameter_count());
  std::vector<std::vector<double>> partials(static_cast<std::size_t>(state.range(0)), std::vector<double>(size));
  Stream stream(9, Purpose::training, 3);
  std::vector<double> scale(size);
  for (double& x : scale) x = std::pow(10.0, stream.uniform(-8.0, 0.0));
  for (auto& partial : partials)
    for (std::size_t j = 0; j < size; ++j) partial[j] = stream.normal() * scale[j];
  ExactSum sum(size);
  std::vector<double> out(size);
  SerialCollectives serial;
  for (auto _ : state) {
    for (const auto& partial : partials) sum.add(partial);
    sum.reduce(serial, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * static_cast<std::int64_t>(size));
}
BENCHMARK(BM_ExactSumGradient)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);

// tanh of 4096 values like hidden-layer inputs (normal, sd 1.5): the C library's one at a time
// (state.range(0) == 0) against tanh_in_place's SIMD lanes (1), the same bits.
void BM_Tanh(benchmark::State& state) {
  Stream stream(13, Purpose::training, 6);
  std::vector<double> inputs(4096);
  for (double& x : inputs) x = 1.5 * stream.normal();
  std::vector<double> values(inputs.size());
  for (auto _ : state) {
    values = inputs;
    if (state.range(0) == 0) {
      for (double& x : values) x = std::tanh(x);
    } else {
      tanh_in_place(values);
    }
    benchmark::DoNotOptimize(values.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(inputs.size()));
}
BENCHMARK(BM_Tanh)->Arg(0)->Arg(1);

}  // namespace
}  // namespace manyworlds
