// Counter-based random streams (Random123 Philox4x32-10) addressed by
// (seed, purpose, world, episode, step, draw); never by rank, no std:: distributions.
#pragma once

#include <Random123/philox.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>

#include "manyworlds/core/philox_blocks.hpp"
#include "manyworlds/core/ziggurat.hpp"

namespace manyworlds {

// What a stream is used for; part of its key, so different purposes never share numbers.
enum class Purpose : std::uint32_t {
  world_params = 1,      // a world's parameters drawn from the priors
  population = 2,        // a world's users (per episode)
  schedule = 3,          // sessions and queries of one user in one episode
  auction = 4,           // competitor noise, clicks, conversions of one auction
  action = 5,            // the agent's exploration noise of one decision
  event_type = 6,        // metadata tags of experiences
  sampler = 7,           // rank 0's batch draws
  priority_keys = 8,     // per-experience keys of priority sampling
  training = 9,          // minibatch shuffles and parameter initialisation
  calibration = 10,      // calibrate's Monte Carlo expectations over the base priors
  auctiongym = 11,       // the AuctionGym-compatible scenario: its catalogue and its auctions
  bootstrap = 12,        // resampling of worlds for the evaluation's confidence intervals
  minibatch_order = 13,  // the keyed permutation that orders a batch's rows into minibatches
};

// Largest seed accepted: 48 bits (the other 16 bits of the key hold the purpose).
inline constexpr std::uint64_t max_seed = (std::uint64_t{1} << 48) - 1;
// World ids: training worlds below validation_world_base, then validation worlds, then test worlds
// (drawn with evaluation.test_seed); each evaluation set holds at most max_evaluation_worlds.
inline constexpr std::uint32_t validation_world_base = 0x80000000u;
inline constexpr std::uint32_t test_world_base = 0xC0000000u;
inline constexpr std::int64_t max_evaluation_worlds = test_world_base - validation_world_base;

// The Philox key of a stream: the seed's 48 bits and the purpose.
inline PhiloxKey stream_key(std::uint64_t seed, Purpose purpose) {
  return {static_cast<std::uint32_t>(seed & 0xffffffffu),
          static_cast<std::uint32_t>((seed >> 32) & 0xffffu) | (static_cast<std::uint32_t>(purpose) << 16)};
}

// The words of stream (seed, purpose, world, episode, step) are the Philox4x32-10 blocks of the
// counters (world, episode, step, 0), (.., 1), ... keyed by (seed, purpose), four words a block.
// A refill computes `refill_blocks` blocks at once (at most `Blocks`; philox_blocks' SIMD code
// when more than 1): the words, and so every draw, are the same for any number of blocks per
// refill; a stream that draws many words is faster with more, one that draws few wastes the
// extra blocks.
template <int Blocks>
class BasicStream {
 public:
  using Philox = r123::Philox4x32;
  static_assert(Blocks >= 1 && Blocks <= max_philox_blocks);

  // `refill_blocks` is clamped to 1 .. Blocks.
  BasicStream(std::uint64_t seed, Purpose purpose, std::uint32_t world, std::uint32_t episode = 0,
              std::uint32_t step = 0, int refill_blocks = Blocks)
      : key_(stream_key(seed, purpose)),
        counter_{world, episode, step, 0},
        refill_blocks_(std::clamp(refill_blocks, 1, Blocks)),
        words_(4 * refill_blocks_),
        used_(words_) {}

  // Moves the stream to another step of the same (purpose, world, episode); draw restarts at 0.
  void seek_step(std::uint32_t step) {
    counter_[2] = step;
    counter_[3] = 0;
    used_ = words_;
  }

  // Moves the stream to block `block` (word 4 x block) of its current step.
  void seek_block(std::uint32_t block) {
    counter_[3] = block;
    used_ = words_;
  }

  std::uint32_t next_u32() {
    if (used_ == words_) refill();
    return block_[used_++];
  }

  // Uniform on the open interval (0, 1): 52 random bits, centred in their cell, so the largest
  // value is 1 - 2^-53 (with 53 bits, (2^53 - 0.5) * 2^-53 would round up to exactly 1).
  double uniform() {
    const std::uint32_t hi = next_u32();
    return uniform_from(hi, next_u32());
  }
  // The uniform of the two words `hi` and `lo` (taken in this order).
  static double uniform_from(std::uint64_t hi, std::uint64_t lo) {
    const std::uint64_t bits = (hi << 20) ^ (lo >> 12);
    return (static_cast<double>(bits) + 0.5) * 0x1.0p-52;
  }

  double uniform(double low, double high) { return low + (high - low) * uniform(); }

  // Integer uniform on [0, n) by rejection (exact, no modulo bias).
  std::uint32_t below(std::uint32_t n) {
    const std::uint32_t limit = static_cast<std::uint32_t>(0x100000000ull - (0x100000000ull % n));
    for (;;) {
      const std::uint32_t x = next_u32();
      if (limit == 0 || x < limit) return x % n;
    }
  }

  bool bernoulli(double p) { return uniform() < p; }

  // Standard normal by the ziggurat method (Marsaglia and Tsang; layout of Doornik's ZIGNOR,
  // 128 layers). One 64-bit draw in the common case: 52 bits for the abscissa, 7 for the layer.
  double normal() {
    const ZigguratTables& zig = ziggurat_tables();
    for (;;) {
      const std::uint64_t hi = next_u32();
      const std::uint64_t bits = (hi << 32) | next_u32();
      const double u = 2.0 * ((static_cast<double>(bits >> 12) + 0.5) * 0x1.0p-52) - 1.0;
      const unsigned layer = static_cast<unsigned>(bits & 0x7f);
      if (std::fabs(u) < zig.ratio[layer]) return u * zig.x[layer];
      if (layer == 0) return normal_tail(u < 0);
      const double x = u * zig.x[layer];
      const double f0 = std::exp(-0.5 * (zig.x[layer] * zig.x[layer] - x * x));
      const double f1 = std::exp(-0.5 * (zig.x[layer + 1] * zig.x[layer + 1] - x * x));
      if (f1 + uniform() * (f0 - f1) < 1.0) return x;
    }
  }
  // normal()'s result when its first two words `hi`, `lo` fall in the ziggurat's rectangles (about
  // 98.8% of draws); nothing when normal() would need more words.
  static std::optional<double> normal_from(std::uint64_t hi, std::uint64_t lo) {
    const ZigguratTables& zig = ziggurat_tables();
    const std::uint64_t bits = (hi << 32) | lo;
    const double u = 2.0 * ((static_cast<double>(bits >> 12) + 0.5) * 0x1.0p-52) - 1.0;
    const unsigned layer = static_cast<unsigned>(bits & 0x7f);
    if (std::fabs(u) < zig.ratio[layer]) return u * zig.x[layer];
    return std::nullopt;
  }

  double normal(double mean, double sd) { return mean + sd * normal(); }
  double lognormal(double mu, double sigma) { return std::exp(mu + sigma * normal()); }
  double exponential(double rate) { return -std::log(uniform()) / rate; }

  // Gamma(shape, 1) by Marsaglia and Tsang; shape < 1 by the boost u^(1/shape).
  double gamma(double shape) {
    if (shape < 1.0) {
      const double boost = std::pow(uniform(), 1.0 / shape);
      return gamma(shape + 1.0) * boost;
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x = 0.0;
      double v = 0.0;
      do {
        x = normal();
        v = 1.0 + c * x;
      } while (v <= 0.0);
      v = v * v * v;
      const double u = uniform();
      if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
      if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
    }
  }

  double beta(double a, double b) {
    const double x = gamma(a);
    const double y = gamma(b);
    return x / (x + y);
  }

  // Poisson by inversion for small means, PTRS (Hoermann 1993) for large ones.
  std::int64_t poisson(double mean) {
    if (mean <= 0.0) return 0;
    if (mean < 10.0) {
      const double limit = std::exp(-mean);
      double product = uniform();
      std::int64_t count = 0;
      while (product > limit) {
        product *= uniform();
        ++count;
      }
      return count;
    }
    const double slam = std::sqrt(mean);
    const double loglam = std::log(mean);
    const double b = 0.931 + 2.53 * slam;
    const double a = -0.059 + 0.02483 * b;
    const double invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const double vr = 0.9277 - 3.6224 / (b - 2.0);
    for (;;) {
      const double u = uniform() - 0.5;
      const double v = uniform();
      const double us = 0.5 - std::fabs(u);
      const double k = std::floor((2.0 * a / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr) return static_cast<std::int64_t>(k);
      if (k < 0.0 || (us < 0.013 && v > us)) continue;
      if (std::log(v) + std::log(invalpha) - std::log(a / (us * us) + b) <= -mean + k * loglam - std::lgamma(k + 1.0))
        return static_cast<std::int64_t>(k);
    }
  }

  // Index drawn from cumulative weights (last entry is the total).
  std::size_t categorical_cdf(std::span<const double> cumulative) {
    const double target = uniform() * cumulative.back();
    std::size_t index = 0;
    while (index + 1 < cumulative.size() && cumulative[index] <= target) ++index;
    return index;
  }

  // Dirichlet with concentration vector `alpha`, written into `out`.
  void dirichlet(std::span<const double> alpha, std::span<double> out) {
    double total = 0.0;
    for (std::size_t i = 0; i < alpha.size(); ++i) {
      out[i] = gamma(alpha[i]);
      total += out[i];
    }
    for (double& x : out) x /= total;
  }

 private:
  // Layer edges x[0..128] (ziggurat_edges) and ratios x[i+1]/x[i]; built once on first use, never changed.
  struct ZigguratTables {
    ZigguratEdges x = ziggurat_edges();
    double ratio[ziggurat_layers];
    ZigguratTables() {
      for (int i = 0; i < ziggurat_layers; ++i) ratio[i] = x[i + 1] / x[i];
    }
  };
  static const ZigguratTables& ziggurat_tables() {
    static const ZigguratTables tables;
    return tables;
  }

  // The normal tail beyond the ziggurat's edge (Marsaglia 1964).
  double normal_tail(bool negative) {
    double x = 0;
    double y = 0;
    do {
      x = std::log(uniform()) / ziggurat_edge;
      y = std::log(uniform());
    } while (-2.0 * y < x * x);
    return negative ? x - ziggurat_edge : ziggurat_edge - x;
  }

  void refill() {
    if constexpr (Blocks == 1) {
      const Philox::ctr_type block = Philox()(Philox::ctr_type{{counter_[0], counter_[1], counter_[2], counter_[3]}},
                                              Philox::key_type{{key_[0], key_[1]}});
      for (int i = 0; i < 4; ++i) block_[i] = block.v[i];
    } else {
      philox_blocks(key_, counter_, 3, refill_blocks_, block_.data());
    }
    counter_[3] += static_cast<std::uint32_t>(refill_blocks_);
    used_ = 0;
  }

  PhiloxKey key_;
  PhiloxCounter counter_;
  int refill_blocks_;
  int words_;  // 4 x refill_blocks_
  int used_;
  std::array<std::uint32_t, std::size_t{4} * Blocks> block_{};
};

// The stream for draws of a few words at a time: one block per refill.
using Stream = BasicStream<1>;

}  // namespace manyworlds
