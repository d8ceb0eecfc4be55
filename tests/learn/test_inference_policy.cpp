// Tests of the float32 inference policy: agreement with the double model, batch invariance, clamping, no allocation.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "manyworlds/learn/inference_policy.hpp"

// Every operator new of this test executable is counted (and forwarded to malloc), so a test can
// check that a stretch of code allocates nothing through the C++ allocator. The learn layer's hot
// path also uses no dynamically-sized Eigen object (Eigen would call malloc directly): only
// fixed-size blocks and Maps over preallocated buffers. (Over-aligned new is not replaced: nothing here uses it.)
namespace {
std::atomic<long> allocations{0};

void* counted_allocation(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) { return counted_allocation(size); }
void* operator new[](std::size_t size) { return counted_allocation(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace manyworlds {
namespace {

PolicySection test_policy() {
  PolicySection policy;
  policy.hidden = {32, 32};
  policy.value_hidden = {32, 30};  // a width that needs padding
  policy.max_abs_log_multiplier = 3.0;
  return policy;
}

// Initial parameters plus noise, so that heads and log_std are not at their tame starting values.
Eigen::VectorXd lively_parameters(const PolicyModel& model, std::uint64_t seed) {
  Stream stream(seed, Purpose::training, 0);
  Eigen::VectorXd params = model.initial_parameters(stream);
  for (Eigen::Index i = 0; i < params.size(); ++i) params[i] += stream.uniform(-0.3, 0.3);
  return params;
}

std::vector<double> as_vector(const Eigen::VectorXd& v) { return {v.data(), v.data() + v.size()}; }

Observation random_observation(Stream& stream) {
  Observation obs;
  for (float& x : obs) x = static_cast<float>(stream.uniform(-2.0, 2.0));
  return obs;
}

TEST(InferencePolicy, SampledActionsMatchTheDoubleModel) {
  const PolicyModel model(test_policy(), 4);
  const Eigen::VectorXd params = lively_parameters(model, 1);
  InferencePolicy policy(model, as_vector(params));
  Stream stream(1, Purpose::training, 9);
  for (int trial = 0; trial < 50; ++trial) {
    const Observation obs = random_observation(stream);
    const PolicyDistribution d = model.distribution(params, obs);
    const int creatives = trial % 2 == 0 ? 4 : 3;
    const Eigen::VectorXd logits = d.logits.head(creatives);
    const Eigen::ArrayXd p =
        (logits.array() - logits.maxCoeff()).exp() / (logits.array() - logits.maxCoeff()).exp().sum();
    double below = 0.0;
    for (int c = 0; c < creatives; ++c) {
      // A uniform in the middle of creative c's CDF interval, and a normal well inside the bounds.
      const DecisionNoise noise{0.3 * stream.uniform(-1.0, 1.0), below + 0.5 * p[c]};
      below += p[c];
      const Action a = policy.act(obs, creatives, noise);
      const double expected = d.mean + std::exp(d.log_std) * noise.normal;
      ASSERT_LT(std::abs(expected), 2.9);
      EXPECT_EQ(a.creative, c);
      EXPECT_NEAR(a.log_bid_multiplier, expected, 1e-5 * (1.0 + std::abs(expected)));
      const double log_prob = model.log_prob(params, obs, a.log_bid_multiplier, c, creatives);
      EXPECT_NEAR(a.log_prob, log_prob, 1e-5 * (1.0 + std::abs(log_prob)));
    }
  }
}

TEST(InferencePolicy, GreedyModeTakesTheMeanBidAndTheSampledCreative) {
  const PolicyModel model(test_policy(), 4);
  const Eigen::VectorXd params = lively_parameters(model, 2);
  InferencePolicy greedy(model, as_vector(params), InferencePolicy::Mode::greedy);
  InferencePolicy sampler(model, as_vector(params), InferencePolicy::Mode::sample);
  EXPECT_EQ(greedy.mode(), InferencePolicy::Mode::greedy);
  Stream stream(2, Purpose::training, 9);
  int differing_creatives = 0;
  for (int trial = 0; trial < 50; ++trial) {
    const Observation obs = random_observation(stream);
    const PolicyDistribution d = model.distribution(params, obs);
    const DecisionNoise noise{1.5, stream.uniform()};
    const Action a = greedy.act(obs, 4, noise);
    EXPECT_NEAR(a.log_bid_multiplier, std::clamp(d.mean, -3.0, 3.0), 1e-5 * (1.0 + std::abs(d.mean)));
    EXPECT_EQ(a.creative, sampler.act(obs, 4, noise).creative) << "the same creative draw as sample mode";
    EXPECT_EQ(a.log_prob, 0.0f);
    Eigen::Index best = 0;
    d.logits.head(4).maxCoeff(&best);
    differing_creatives += a.creative != best ? 1 : 0;
  }
  EXPECT_GT(differing_creatives, 0) << "the creative is drawn, not the most likely one";
}

TEST(InferencePolicy, ClampsAtTheBoundsWithTheTailProbability) {
  const PolicyModel model(test_policy(), 2);
  Eigen::VectorXd params = lively_parameters(model, 3);
  const Eigen::Index mean_bias = model.policy_net().bias_offset(model.policy_net().layers() - 1);
  const Observation obs{};
  // Unclamped mean far above the bound: every sample and the greedy action sit at +bound.
  params[mean_bias] = 10.0;
  InferencePolicy high(model, as_vector(params));
  InferencePolicy high_greedy(model, as_vector(params), InferencePolicy::Mode::greedy);
  const Action up = high.act(obs, 2, DecisionNoise{0.0, 0.5});
  EXPECT_EQ(up.log_bid_multiplier, 3.0f);
  EXPECT_EQ(high_greedy.act(obs, 2, DecisionNoise{}).log_bid_multiplier, 3.0f);
  EXPECT_NEAR(up.log_prob, model.log_prob(params, obs, 3.0f, up.creative), 1e-5);
  // Mean near 0 and a huge negative normal: -bound, with log P(x <= -3) as the bid's log-probability.
  params[mean_bias] = 0.0;
  InferencePolicy low(model, as_vector(params));
  const Action down = low.act(obs, 2, DecisionNoise{-100.0, 0.5});
  EXPECT_EQ(down.log_bid_multiplier, -3.0f);
  const PolicyDistribution d = model.distribution(params, obs);
  const double tail = std::log(0.5 * std::erfc((3.0 + d.mean) / std::exp(d.log_std) / std::sqrt(2.0)));
  const Eigen::VectorXd l = d.logits;
  const double log_softmax = l[down.creative] - std::log(l.array().exp().sum());
  EXPECT_NEAR(down.log_prob, tail + log_softmax, 1e-4 * std::abs(tail + log_softmax));
  EXPECT_LT(down.log_prob, -5.0f);  // a rare action, not the density at the bound
}

TEST(InferencePolicy, CreativesBeyondTheWorldsCountAreNeverChosen) {
  const PolicyModel model(test_policy(), 4);
  InferencePolicy policy(model, as_vector(lively_parameters(model, 4)));
  Stream stream(4, Purpose::training, 9);
  for (int trial = 0; trial < 200; ++trial) {
    const Observation obs = random_observation(stream);
    EXPECT_LT(policy.act(obs, 2, DecisionNoise{0.0, stream.uniform()}).creative, 2);
    EXPECT_EQ(policy.act(obs, 1, DecisionNoise{0.0, stream.uniform()}).creative, 0);
  }
}

TEST(InferencePolicy, ValuesAreBitwiseIndependentOfTheBatchSizeAndMatchTheDoubleModel) {
  const PolicyModel model(test_policy(), 4);
  const Eigen::VectorXd params = lively_parameters(model, 5);
  InferencePolicy policy(model, as_vector(params));
  Stream stream(5, Purpose::training, 9);
  std::vector<Experience> experiences(64);
  for (Experience& e : experiences) e.obs = random_observation(stream);
  std::vector<float> whole(64);
  std::vector<float> sevens(64);
  std::vector<float> ones(64);
  policy.values(experiences.data(), 64, whole.data());
  for (std::size_t begin = 0; begin < 64; begin += 7) {
    policy.values(experiences.data() + begin, std::min<std::size_t>(7, 64 - begin), sevens.data() + begin);
  }
  for (std::size_t i = 64; i-- > 0;) policy.values(&experiences[i], 1, &ones[i]);  // backwards, too
  EXPECT_EQ(std::memcmp(whole.data(), sevens.data(), 64 * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(whole.data(), ones.data(), 64 * sizeof(float)), 0);
  for (std::size_t i = 0; i < 64; ++i) {
    const double v = model.value(params, experiences[i].obs);
    EXPECT_NEAR(whole[i], v, 1e-5 * (1.0 + std::abs(v)));
  }
}

// Observations that reach every branch of the kernels: tanh's tiny-input pass-through, its
// clamps, exact zeros, negative zeros and ordinary values.
Observation testing_observation(Stream& stream, int kind) {
  Observation obs;
  for (float& x : obs) {
    switch (kind % 4) {
      case 0:
        x = static_cast<float>(stream.uniform(-2.0, 2.0));
        break;
      case 1:
        x = static_cast<float>(stream.uniform(-1e-4, 1e-4));
        break;
      case 2:
        x = static_cast<float>(stream.uniform(-40.0, 40.0));
        break;
      default:
        x = stream.uniform() < 0.5 ? 0.0f : (stream.uniform() < 0.5 ? -0.0f : static_cast<float>(stream.normal()));
    }
  }
  return obs;
}

bool same_bits(const Action& a, const Action& b) {
  return std::memcmp(&a.log_bid_multiplier, &b.log_bid_multiplier, sizeof(float)) == 0 && a.creative == b.creative &&
         std::memcmp(&a.log_prob, &b.log_prob, sizeof(float)) == 0 &&
         std::memcmp(&a.mean_log_bid_multiplier, &b.mean_log_bid_multiplier, sizeof(float)) == 0;
}

TEST(InferencePolicy, BatchedActionsAreBitwiseTheOneAtATimeActionsOnEveryInstructionSetAndBidPrior) {
  for (const std::vector<int>& hidden : {std::vector<int>{32, 32}, std::vector<int>{24, 40, 8}})
    for (const BidPrior prior : {BidPrior::none, BidPrior::value, BidPrior::adaptive_pacing}) {
      PolicySection section = test_policy();
      section.hidden = hidden;
      section.bid_prior = prior;
      const PolicyModel model(section, 5);
      const Eigen::VectorXd params = lively_parameters(model, 11);
      for (const InferencePolicy::Mode mode : {InferencePolicy::Mode::sample, InferencePolicy::Mode::greedy}) {
        InferencePolicy one(model, as_vector(params), mode, VectorIsa::sse2);
        Stream stream(11, Purpose::training, 9);
        std::vector<Observation> observations(203);
        std::vector<Decision> decisions;
        for (std::size_t i = 0; i < observations.size(); ++i) {
          observations[i] = testing_observation(stream, static_cast<int>(i));
          const int creatives = 1 + static_cast<int>(i % 6);  // also more than the model's 5
          decisions.push_back({&observations[i], DecisionNoise{2.0 * stream.normal(), stream.uniform()}, creatives,
                               static_cast<std::uint32_t>(i)});
        }
        std::vector<Action> expected;
        for (const Decision& d : decisions) expected.push_back(one.act(*d.observation, d.creatives, d.noise));
        for (VectorIsa isa : all_vector_isas) {
          if (!supported(isa)) continue;
          InferencePolicy batched(model, as_vector(params), mode, isa);
          for (std::size_t size : {std::size_t{1}, std::size_t{7}, std::size_t{16}, std::size_t{203}}) {
            std::vector<Action> actions(decisions.size());
            for (std::size_t first = 0; first < decisions.size(); first += size) {
              const std::size_t count = std::min(size, decisions.size() - first);
              batched.act(std::span<const Decision>(decisions.data() + first, count),
                          std::span<Action>(actions.data() + first, count));
            }
            for (std::size_t i = 0; i < decisions.size(); ++i) {
              ASSERT_TRUE(same_bits(actions[i], expected[i]))
                  << to_string(isa) << " batch " << size << " row " << i << ": " << actions[i].log_bid_multiplier << " "
                  << actions[i].creative << " " << actions[i].log_prob << " vs " << expected[i].log_bid_multiplier
                  << " " << expected[i].creative << " " << expected[i].log_prob;
            }
          }
        }
      }
    }
}

TEST(InferencePolicy, ValuesAreBitwiseTheSameOnEveryInstructionSet) {
  const PolicyModel model(test_policy(), 4);
  const Eigen::VectorXd params = lively_parameters(model, 12);
  Stream stream(12, Purpose::training, 9);
  std::vector<Experience> experiences(101);
  for (std::size_t i = 0; i < experiences.size(); ++i)
    experiences[i].obs = testing_observation(stream, static_cast<int>(i));
  std::vector<float> reference(experiences.size());
  InferencePolicy(model, as_vector(params), InferencePolicy::Mode::sample, VectorIsa::sse2)
      .values(experiences.data(), experiences.size(), reference.data());
  for (VectorIsa isa : all_vector_isas) {
    if (!supported(isa)) continue;
    std::vector<float> values(experiences.size());
    InferencePolicy(model, as_vector(params), InferencePolicy::Mode::sample, isa)
        .values(experiences.data(), experiences.size(), values.data());
    EXPECT_EQ(std::memcmp(values.data(), reference.data(), values.size() * sizeof(float)), 0) << to_string(isa);
  }
}

TEST(InferencePolicy, ActAndValuesAllocateNothing) {
  const PolicyModel model(test_policy(), 4);
  InferencePolicy policy(model, as_vector(lively_parameters(model, 6)));
  InferencePolicy greedy(model, as_vector(lively_parameters(model, 6)), InferencePolicy::Mode::greedy);
  std::vector<Experience> experiences(256);
  std::vector<float> values(256);
  Stream stream(6, Purpose::training, 9);
  for (Experience& e : experiences) e.obs = random_observation(stream);
  double checksum = 0.0;
  const long before = allocations.load();
  for (int i = 0; i < 1000; ++i) {
    const Experience& e = experiences[static_cast<std::size_t>(i) % experiences.size()];
    checksum += policy.act(e.obs, 4, DecisionNoise{stream.normal(), stream.uniform()}).log_prob;
    checksum += greedy.act(e.obs, 3, DecisionNoise{}).log_bid_multiplier;
  }
  policy.values(experiences.data(), experiences.size(), values.data());
  const long after = allocations.load();
  EXPECT_EQ(after - before, 0);
  EXPECT_TRUE(std::isfinite(checksum));
  // The counter works: constructing a policy does allocate.
  const InferencePolicy copy = policy;
  EXPECT_GT(allocations.load(), after);
  EXPECT_EQ(copy.creatives(), 4);
}

TEST(InferencePolicy, RejectsParametersOfAnotherShape) {
  const PolicyModel model(test_policy(), 4);
  EXPECT_THROW(InferencePolicy(model, std::vector<double>(10)), std::invalid_argument);
}

}  // namespace
}  // namespace manyworlds
