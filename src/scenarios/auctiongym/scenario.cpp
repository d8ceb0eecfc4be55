// The AuctionGym-compatible scenario: job file parsing, the catalogue, the ziggurat normals and the auctions.
#include "manyworlds/scenarios/auctiongym/scenario.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/toml_reader.hpp"

// The vector helpers below are inlined into the per-instruction-set entry points (always_inline or
// gnu::flatten), so no vector crosses a call: -Wpsabi's note on the AVX calling convention does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace manyworlds::auctiongym {

namespace {

// ---- job file -------------------------------------------------------------------------------

void parse_run(const TomlTable& table, Scenario& s) {
  s.name = table.string("name", s.name);
  s.seed = static_cast<std::uint64_t>(table.integer("seed", 0, 0, static_cast<std::int64_t>(max_seed)));
  s.rounds = static_cast<int>(table.integer("rounds", s.rounds, 1, max_rounds));
  s.auctions_per_round = table.integer("auctions_per_round", s.auctions_per_round, 1, max_auctions_per_round);
  s.blocks_per_round = static_cast<int>(table.integer("blocks_per_round", s.blocks_per_round, 1, 1 << 20));
  s.output = table.string("output", s.output);
  table.finish();
}

void parse_market(const TomlTable& table, Scenario& s) {
  s.bidders = static_cast<int>(table.integer("bidders", s.bidders, 2, max_bidders));
  s.items_per_bidder = static_cast<int>(table.integer("items_per_bidder", s.items_per_bidder, 1, max_items));
  s.dimensions = static_cast<int>(table.integer("embedding_dimensions", s.dimensions, 1, max_dimensions));
  s.observed_dimensions =
      static_cast<int>(table.integer("observed_dimensions", s.observed_dimensions, 0, s.dimensions));
  s.participants = static_cast<int>(
      table.integer("participants_per_auction", s.participants, 2, std::min(s.bidders, max_participants)));
  s.embedding_sd = table.number("embedding_sd", s.embedding_sd, {0.0, 100.0, true});
  s.intercept_min = table.number("intercept_min", s.intercept_min, {-100.0, 100.0});
  s.intercept_max = table.number("intercept_max", s.intercept_max, {-100.0, 100.0});
  if (s.intercept_max < s.intercept_min)
    table.fail("intercept_max", "is below 'intercept_min'; make intercept_min <= intercept_max");
  s.value_log_mean = table.number("value_log_mean", s.value_log_mean, {-50.0, 50.0});
  s.value_log_sd = table.number("value_log_sd", s.value_log_sd, {0.0, 10.0});
  table.finish();
}

std::vector<double> sized_numbers(const TomlTable& table, const std::string& key, std::size_t size,
                                  const std::string& shape, Bounds bounds) {
  std::vector<double> numbers = table.numbers(key, bounds);
  if (numbers.size() != size)
    table.fail(key, "has " + std::to_string(numbers.size()) + " numbers but needs " + std::to_string(size) + " (" +
                        shape + ", row-major); fix its length or remove the [catalogue] table");
  return numbers;
}

void parse_catalogue(const TomlTable& table, Scenario& s) {
  const auto items = static_cast<std::size_t>(s.bidders) * static_cast<std::size_t>(s.items_per_bidder);
  s.embeddings = sized_numbers(table, "embeddings", items * static_cast<std::size_t>(s.dimensions),
                               "bidders x items_per_bidder x embedding_dimensions", {-1e6, 1e6});
  s.intercepts = sized_numbers(table, "intercepts", items, "bidders x items_per_bidder", {-1e6, 1e6});
  s.values = sized_numbers(table, "values", items, "bidders x items_per_bidder", {0.0, 1e12, true});
  table.finish();
}

// ---- arithmetic of the hot loop -------------------------------------------------------------

// W doubles (or 64-bit integers) as one value: one SSE2, AVX2 or AVX-512 register for W = 2, 4, 8.
// GCC's vector extensions apply each operation lane by lane with IEEE rounding.
template <int W>
struct Simd;
template <>
struct Simd<2> {
  using Real = double __attribute__((vector_size(16)));
  using Int = std::int64_t __attribute__((vector_size(16)));
};
template <>
struct Simd<4> {
  using Real = double __attribute__((vector_size(32)));
  using Int = std::int64_t __attribute__((vector_size(32)));
};
template <>
struct Simd<8> {
  using Real = double __attribute__((vector_size(64)));
  using Int = std::int64_t __attribute__((vector_size(64)));
};

int lanes_of(VectorIsa isa) {
  switch (isa) {
    case VectorIsa::avx512:
      return 8;
    case VectorIsa::avx2:
      return 4;
    case VectorIsa::sse2:
      break;
  }
  return 2;
}

// Auctions whose first random words are computed together (philox_blocks).
constexpr int auction_batch = 8;

// The helpers are always inlined, so they are compiled for the instruction set of the kernel
// that uses them; they take vectors by reference (a 32-byte vector passed by value would have a
// different calling convention with and without AVX).
template <class Real>
[[gnu::always_inline]] inline void load(Real& lanes, const double* p) {
  std::memcpy(&lanes, p, sizeof lanes);
}

// Lane-wise comparisons and selects: `a > b` and `m ? x : y` of GCC's vector extensions for 2 and
// 4 lanes; AVX-512 mask registers for 8 (GCC 12 turns 8-lane vector-extension comparisons into
// scalar code). Same results: ordered comparisons, false for NaN. The 8-lane ones carry their
// instruction set and are inlined into the AVX-512 entry points by gnu::flatten.
template <class V>
[[gnu::always_inline]] inline auto greater(const V& a, const V& b) {
  return a > b;
}
template <class V>
[[gnu::always_inline]] inline auto less(const V& a, const V& b) {
  return a < b;
}
template <class V>
[[gnu::always_inline]] inline auto equal(const V& a, const V& b) {
  return a == b;
}
template <class M, class V>
[[gnu::always_inline]] inline V select(const M& m, const V& x, const V& y) {
  return m ? x : y;
}
using Real8 = Simd<8>::Real;
using Int8 = Simd<8>::Int;
[[gnu::target("avx512f")]] inline __mmask8 greater(const Real8& a, const Real8& b) {
  return _mm512_cmp_pd_mask(reinterpret_cast<__m512d>(a), reinterpret_cast<__m512d>(b), _CMP_GT_OQ);
}
[[gnu::target("avx512f")]] inline __mmask8 less(const Real8& a, const Real8& b) {
  return _mm512_cmp_pd_mask(reinterpret_cast<__m512d>(a), reinterpret_cast<__m512d>(b), _CMP_LT_OQ);
}
[[gnu::target("avx512f")]] inline __mmask8 equal(const Real8& a, const Real8& b) {
  return _mm512_cmp_pd_mask(reinterpret_cast<__m512d>(a), reinterpret_cast<__m512d>(b), _CMP_EQ_OQ);
}
[[gnu::target("avx512f")]] inline __mmask8 less(const Int8& a, const Int8& b) {
  return _mm512_cmplt_epi64_mask(reinterpret_cast<__m512i>(a), reinterpret_cast<__m512i>(b));
}
[[gnu::target("avx512f")]] inline Real8 select(__mmask8 m, const Real8& x, const Real8& y) {
  return reinterpret_cast<Real8>(_mm512_mask_blend_pd(m, reinterpret_cast<__m512d>(y), reinterpret_cast<__m512d>(x)));
}
[[gnu::target("avx512f")]] inline Int8 select(__mmask8 m, const Int8& x, const Int8& y) {
  return reinterpret_cast<Int8>(_mm512_mask_blend_epi64(m, reinterpret_cast<__m512i>(y), reinterpret_cast<__m512i>(x)));
}

// t = exp(t) per lane, t clamped to [-708, 708]: Cody-Waite reduction t = n ln2 + r with
// |r| <= ln2/2, a degree-12 Taylor polynomial for e^r (truncation below 2e-16 relative) and n
// added to the exponent bits.
template <class Real, class Int, int N>
[[gnu::always_inline]] inline void exp_in_place(Real (&ts)[N]) {
  const double log2e = 1.4426950408889634074;
  const double ln2_hi = 6.93147180369123816490e-01;  // 21 trailing zero bits: n * ln2_hi is exact
  const double ln2_lo = 1.90821492927058770002e-10;
  const Real shifter = Real{} + 0x1.8p52;  // adding it rounds to an integer held in the low mantissa bits
  const Real low = Real{} - 708.0;
  const Real high = Real{} + 708.0;
  // Each step for all N arguments before the next: N independent chains of dependent arithmetic.
  Real shifted[N];
  Real r[N];
  Real p[N];
  for (int i = 0; i < N; ++i) {
    Real& t = ts[i];
    t = select(less(t, low), low, t);
    t = select(greater(t, high), high, t);
    shifted[i] = t * log2e + shifter;
    const Real n = shifted[i] - shifter;
    r[i] = (t - n * ln2_hi) - n * ln2_lo;
    p[i] = Real{} + 1.0 / 479001600.0;
  }
  constexpr double coefficients[] = {
      1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0,
      1.0 / 120.0,      1.0 / 24.0,      1.0 / 6.0,      0.5,           1.0,          1.0};
  for (const double c : coefficients)
    for (int i = 0; i < N; ++i) p[i] = p[i] * r[i] + c;
  // The low bits of `shifted` hold n (two's complement); shifted left by 52 they add n to the exponent.
  for (int i = 0; i < N; ++i) {
    Int scale;
    Int bits;
    std::memcpy(&scale, &shifted[i], sizeof scale);
    std::memcpy(&bits, &p[i], sizeof bits);
    bits += scale << 52;
    std::memcpy(&ts[i], &bits, sizeof ts[i]);
  }
}

// Uniform integer in [0, n) from `word`, exactly (Lemire's multiply-and-reject: with probability
// below n / 2^32 the word is rejected and more words come from `stream`).
inline std::uint32_t bounded(std::uint32_t word, std::uint32_t n, Stream& stream) {
  std::uint64_t product = std::uint64_t{word} * n;
  auto low = static_cast<std::uint32_t>(product);
  if (low < n) {
    const std::uint32_t threshold = (0u - n) % n;  // 2^32 mod n
    while (low < threshold) {
      product = std::uint64_t{stream.next_u32()} * n;
      low = static_cast<std::uint32_t>(product);
    }
  }
  return static_cast<std::uint32_t>(product >> 32);
}

constexpr double two_to_32 = 4294967296.0;

// Uniform on (0, 1) from one 32-bit word (for the ziggurat's rare slow path).
inline double unit_open(std::uint32_t word) { return (static_cast<double>(word) + 0.5) / two_to_32; }

}  // namespace

// ---- job file -------------------------------------------------------------------------------

Scenario parse_scenario(const std::string& text, const std::string& file) {
  const toml::value document = parse_toml_text(text, file);
  const TomlTable root(document, file, "");
  Scenario scenario;
  scenario.file = file;
  scenario.text = text;
  parse_run(root.table("run"), scenario);
  parse_market(root.table("market"), scenario);
  if (const auto table = root.optional_table("catalogue")) parse_catalogue(*table, scenario);
  root.finish();
  return scenario;
}

Scenario load_scenario(const std::string& path) { return parse_scenario(read_text_file(path), path); }

std::string default_output_path(const Scenario& scenario) {
  return scenario.output.empty() ? scenario.name + ".h5" : scenario.output;
}

IdRange auction_block(const Scenario& scenario, int block) {
  return block_of(scenario.auctions_per_round, scenario.blocks_per_round, block);
}

Catalogue make_catalogue(const Scenario& scenario) {
  Catalogue catalogue;
  catalogue.bidders = scenario.bidders;
  catalogue.items = scenario.items_per_bidder;
  catalogue.dimensions = scenario.dimensions;
  if (!scenario.values.empty()) {
    catalogue.embeddings = scenario.embeddings;
    catalogue.intercepts = scenario.intercepts;
    catalogue.values = scenario.values;
    return catalogue;
  }
  for (int b = 0; b < scenario.bidders; ++b) {
    Stream stream(scenario.seed, Purpose::auctiongym, catalogue_stream, static_cast<std::uint32_t>(b), 0);
    for (int i = 0; i < scenario.items_per_bidder * scenario.dimensions; ++i)
      catalogue.embeddings.push_back(scenario.embedding_sd * stream.normal());
    for (int i = 0; i < scenario.items_per_bidder; ++i)
      catalogue.intercepts.push_back(stream.uniform(scenario.intercept_min, scenario.intercept_max));
    for (int i = 0; i < scenario.items_per_bidder; ++i)
      catalogue.values.push_back(stream.lognormal(scenario.value_log_mean, scenario.value_log_sd));
  }
  return catalogue;
}

// ---- ziggurat -------------------------------------------------------------------------------

ZigguratNormal::ZigguratNormal() {
  const auto f = [](double x) { return std::exp(-0.5 * x * x); };
  x_ = ziggurat_edges();
  for (std::uint32_t i = 0; i <= layers; ++i) f_[i] = f(x_[i]);
  for (std::uint32_t i = 0; i < layers; ++i) {
    inner_[i] = static_cast<std::uint32_t>(std::floor(x_[i + 1] / x_[i] * 16777216.0));
    width_[i] = x_[i] / 16777216.0;
  }
}

double ZigguratNormal::slow(Stream& stream, std::uint32_t word) const {
  for (;;) {
    const std::uint32_t layer = word & (layers - 1);
    const bool negative = (word & 0x80u) != 0;
    const double x = static_cast<double>(word >> 8) * width_[layer];
    if (x < x_[layer + 1]) return negative ? -x : x;
    if (layer == 0) {
      // The tail beyond r (Marsaglia 1964): r + a, with a accepted when 2b > a^2.
      const double r = x_[1];
      double a = 0;
      double b = 0;
      do {
        a = -std::log(unit_open(stream.next_u32())) / r;
        b = -std::log(unit_open(stream.next_u32()));
      } while (b + b < a * a);
      return negative ? -(r + a) : r + a;
    }
    const double y = f_[layer] + unit_open(stream.next_u32()) * (f_[layer + 1] - f_[layer]);
    if (y < std::exp(-0.5 * x * x)) return negative ? -x : x;
    word = stream.next_u32();
  }
}

// ---- statistics -----------------------------------------------------------------------------

BidderTotals& BidderTotals::operator+=(const BidderTotals& other) {
  participations += other.participations;
  wins += other.wins;
  clicks += other.clicks;
  spend += other.spend;
  gross_utility += other.gross_utility;
  expected_gross_utility += other.expected_gross_utility;
  bid_sum += other.bid_sum;
  ctr_sum += other.ctr_sum;
  underbid_regret += other.underbid_regret;
  return *this;
}

RoundStats& RoundStats::operator+=(const RoundStats& other) {
  if (other.bidders.size() != bidders.size())
    throw RuntimeFailure("auctiongym: adding statistics of " + std::to_string(other.bidders.size()) + " bidders to " +
                         std::to_string(bidders.size()));
  auctions += other.auctions;
  for (std::size_t b = 0; b < bidders.size(); ++b) bidders[b] += other.bidders[b];
  return *this;
}

// ---- simulator ------------------------------------------------------------------------------

// The hot code, written once for W lanes and compiled once per instruction set (the entry points
// at the end). Nothing here throws; the public members check their arguments first.
struct Simulator::Kernels {
  // The oracle's bid: z = context . embedding + 1 x intercept (summed in that order, as AuctionGym's
  // [context, 1] . [embedding, intercept]), CTR = 1 / (1 + e^-z), bid = value x CTR, arg-max
  // over the items (the first on ties; padding items bid -CTR < 0 and are never chosen).
  template <int W>
  [[gnu::always_inline]] static Bid choose(const Simulator& s, int bidder, const double* context) {
    Bid bid;
    Bid* const destination[1] = {&bid};
    choose_many<W, 1>(s, &bidder, &context, destination);
    return bid;
  }

  // Per bidder n: its items' rows in the simulator's padded arrays, and its context.
  template <int N>
  struct Bidders {
    const double* weights[N];
    const double* intercepts[N];
    const double* values[N];
    const double* const* contexts;
  };

  // CTRs and bids of items first .. first + W - 1 of N bidders (N independent chains of arithmetic).
  template <int W, int N>
  [[gnu::always_inline]] static void item_bids(const Simulator& s, const Bidders<N>& b, std::size_t first,
                                               typename Simd<W>::Real (&ctr)[N], typename Simd<W>::Real (&bid)[N]) {
    using Real = typename Simd<W>::Real;
    using Int = typename Simd<W>::Int;
    const auto padded = static_cast<std::size_t>(s.padded_items_);
    const auto dimensions = static_cast<std::size_t>(s.dimensions_);
    Real e[N];
    for (int n = 0; n < N; ++n) {
      const double* context = b.contexts[n];
      Real z;
      Real row;
      load(z, b.weights[n] + first);
      z *= context[0];
      for (std::size_t d = 1; d < dimensions; ++d) {
        load(row, b.weights[n] + d * padded + first);
        z += row * context[d];
      }
      load(row, b.intercepts[n] + first);
      z += row;
      e[n] = -z;
    }
    exp_in_place<Real, Int, N>(e);
    for (int n = 0; n < N; ++n) {
      ctr[n] = 1.0 / (1.0 + e[n]);
      Real row;
      load(row, b.values[n] + first);
      bid[n] = row * ctr[n];
    }
  }

  // The oracle bids of N bidders for their contexts into *out[n], their item vectors interleaved;
  // each lane does exactly choose's operations.
  template <int W, int N>
  [[gnu::always_inline]] static void choose_many(const Simulator& s, const int* bidders, const double* const* contexts,
                                                 Bid* const* out) {
    using Real = typename Simd<W>::Real;
    using Int = typename Simd<W>::Int;
    const auto padded = static_cast<std::size_t>(s.padded_items_);
    const auto dimensions = static_cast<std::size_t>(s.dimensions_);
    Bidders<N> b;
    b.contexts = contexts;
    for (int n = 0; n < N; ++n) {
      const auto bidder = static_cast<std::size_t>(bidders[n]);
      b.weights[n] = s.weights_.data() + bidder * dimensions * padded;
      b.intercepts[n] = s.intercepts_.data() + bidder * padded;
      b.values[n] = s.values_.data() + bidder * padded;
    }
    // Per lane: the best bid among items lane, lane + W, ... (the first on ties), its item and CTR;
    // first those of the first W items (not zeros selected away: at N = 16 zeroing them took two
    // rep stos of 512 bytes).
    Real best_bid[N];
    Real best_ctr[N];
    Int best_item[N];
    Int item = Int{};
    for (int lane = 0; lane < W; ++lane) item[lane] = lane;
    item_bids<W, N>(s, b, 0, best_ctr, best_bid);
    for (int n = 0; n < N; ++n) best_item[n] = item;
    for (std::size_t first = W; first < padded; first += W) {
      item += W;
      Real ctr[N];
      Real bid[N];
      item_bids<W, N>(s, b, first, ctr, bid);
      for (int n = 0; n < N; ++n) {
        const auto better = greater(bid[n], best_bid[n]);
        best_bid[n] = select(better, bid[n], best_bid[n]);
        best_ctr[n] = select(better, ctr[n], best_ctr[n]);
        best_item[n] = select(better, item, best_item[n]);
      }
    }
    // Across lanes by a butterfly of vector selects (branches would be coin flips): after the
    // steps with partner lane ^ W/2, ..., lane ^ 1, every lane holds the overall choice.
    for (int distance = W / 2; distance >= 1; distance /= 2) {
      Int partner;
      for (int lane = 0; lane < W; ++lane) partner[lane] = lane ^ distance;
      for (int n = 0; n < N; ++n) {
        const Real other_bid = __builtin_shuffle(best_bid[n], partner);
        const Real other_ctr = __builtin_shuffle(best_ctr[n], partner);
        const Int other_item = __builtin_shuffle(best_item[n], partner);
        const auto ahead = greater(other_bid, best_bid[n]);
        const auto better =
            static_cast<decltype(ahead)>(ahead | (equal(other_bid, best_bid[n]) & less(other_item, best_item[n])));
        best_bid[n] = select(better, other_bid, best_bid[n]);
        best_ctr[n] = select(better, other_ctr, best_ctr[n]);
        best_item[n] = select(better, other_item, best_item[n]);
      }
    }
    for (int n = 0; n < N; ++n)
      *out[n] = {bidders[n], static_cast<int>(best_item[n][0]), best_ctr[n][0], best_bid[n][0]};
  }

  // The auction whose first dimensions + participants + 1 words are `word`; `stream` continues
  // after them (the rare extra words of a ziggurat slow path or a bounded-draw rejection).
  template <int W>
  [[gnu::always_inline]] static void auction_from(const Simulator& s, const std::uint32_t* word, Stream& stream,
                                                  AuctionOutcome& out) {
    draw(s, word, stream, out);
    bid<W>(s, out);
    settle(s, word[s.dimensions_ + s.participants_], out);
  }

  // The context and the participants (uniformly without replacement: a partial Fisher-Yates
  // shuffle, in draw order); the participants' bidder numbers go to out.bids[j].bidder.
  [[gnu::always_inline]] static void draw(const Simulator& s, const std::uint32_t* word, Stream& stream,
                                          AuctionOutcome& out) {
    for (int d = 0; d < s.dimensions_; ++d)
      out.context[static_cast<std::size_t>(d)] = s.embedding_sd_ * s.normal_(*word++, stream);
    std::array<int, max_bidders> order;
    for (int b = 0; b < s.bidders_; ++b) order[static_cast<std::size_t>(b)] = b;
    out.participants = s.participants_;
    for (int j = 0; j < s.participants_; ++j) {
      const auto pick =
          static_cast<std::size_t>(j) + bounded(*word++, static_cast<std::uint32_t>(s.bidders_ - j), stream);
      std::swap(order[static_cast<std::size_t>(j)], order[pick]);
      out.bids[static_cast<std::size_t>(j)].bidder = order[static_cast<std::size_t>(j)];
    }
  }

  // Every participant's oracle bid, two at a time.
  template <int W>
  [[gnu::always_inline]] static void bid(const Simulator& s, AuctionOutcome& out) {
    const double* context = out.context.data();
    const double* const pair_contexts[2] = {context, context};
    int j = 0;
    for (; j + 2 <= out.participants; j += 2) {
      const int pair[2] = {out.bids[static_cast<std::size_t>(j)].bidder,
                           out.bids[static_cast<std::size_t>(j) + 1].bidder};
      Bid* const destinations[2] = {&out.bids[static_cast<std::size_t>(j)], &out.bids[static_cast<std::size_t>(j) + 1]};
      choose_many<W, 2>(s, pair, pair_contexts, destinations);
    }
    if (j < out.participants) {
      Bid& last = out.bids[static_cast<std::size_t>(j)];
      last = choose<W>(s, last.bidder, context);
    }
  }

  // The oracle bids of A auctions with two participants each, all interleaved.
  template <int W, int A>
  [[gnu::always_inline]] static void bid_pairs(const Simulator& s, AuctionOutcome* out) {
    int bidders[2 * A];
    const double* contexts[2 * A];
    Bid* destinations[2 * A];
    for (int a = 0; a < A; ++a)
      for (int j = 0; j < 2; ++j) {
        bidders[2 * a + j] = out[a].bids[static_cast<std::size_t>(j)].bidder;
        contexts[2 * a + j] = out[a].context.data();
        destinations[2 * a + j] = &out[a].bids[static_cast<std::size_t>(j)];
      }
    choose_many<W, 2 * A>(s, bidders, contexts, destinations);
  }

  // One slot, second price: the highest bid wins (the first drawn on ties) and pays the
  // second-highest; the click from `click_word`. Selects instead of branches: who wins is a coin
  // flip for the branch predictor.
  [[gnu::always_inline]] static void settle(const Simulator& s, std::uint32_t click_word, AuctionOutcome& out) {
    int winner = 0;
    double highest = out.bids[0].bid;
    double second = 0.0;  // bids are >= 0
    for (int j = 1; j < s.participants_; ++j) {
      const double bid = out.bids[static_cast<std::size_t>(j)].bid;
      const bool better = bid > highest;
      second = better ? highest : std::max(second, bid);
      highest = better ? bid : highest;
      winner = better ? j : winner;
    }
    out.winner = winner;
    out.price = second;
    out.click = static_cast<double>(click_word) < out.bids[static_cast<std::size_t>(winner)].ctr * two_to_32;
  }

  template <int W>
  [[gnu::always_inline]] static void auction(const Simulator& s, std::uint32_t round, std::int64_t index,
                                             AuctionOutcome& out) {
    const auto position = static_cast<std::uint64_t>(index);
    Stream stream(s.seed_, Purpose::auctiongym, round, static_cast<std::uint32_t>(position & 0xffffffffu),
                  static_cast<std::uint32_t>(position >> 32));
    std::array<std::uint32_t, max_dimensions + max_participants + 1> words;
    const int word_count = s.dimensions_ + s.participants_ + 1;
    for (int w = 0; w < word_count; ++w) words[static_cast<std::size_t>(w)] = stream.next_u32();
    auction_from<W>(s, words.data(), stream, out);
  }

  // Auctions first .. first + count - 1 (count <= auction_batch, all with the same high index
  // word): the blocks holding their first words computed together, one block number at a time
  // across the auctions (philox_blocks), then the auctions one after another.
  template <int W>
  [[gnu::always_inline]] static void auctions(const Simulator& s, std::uint32_t round, std::int64_t first, int count,
                                              AuctionOutcome* out) {
    constexpr int max_words = max_dimensions + max_participants + 1;
    constexpr int max_blocks = (max_words + 3) / 4;
    const int word_count = s.dimensions_ + s.participants_ + 1;
    const int blocks = (word_count + 3) / 4;
    const auto position = static_cast<std::uint64_t>(first);
    const auto low = static_cast<std::uint32_t>(position & 0xffffffffu);
    const auto high = static_cast<std::uint32_t>(position >> 32);
    const PhiloxKey key = stream_key(s.seed_, Purpose::auctiongym);
    std::array<std::uint32_t, 4 * auction_batch> block_words[max_blocks];
    for (int b = 0; b < blocks; ++b)
      philox_blocks(s.isa_, key, {round, low, high, static_cast<std::uint32_t>(b)}, 1, count, block_words[b].data());
    // In phases across the batch, so that the auctions' independent oracle bids (long chains of
    // dependent arithmetic each) follow one another closely and overlap in the processor.
    std::array<std::array<std::uint32_t, 4 * max_blocks>, auction_batch> words;
    for (int i = 0; i < count; ++i) {
      for (int b = 0; b < blocks; ++b)
        std::memcpy(&words[static_cast<std::size_t>(i)][4 * static_cast<std::size_t>(b)],
                    &block_words[b][4 * static_cast<std::size_t>(i)], 4 * sizeof(std::uint32_t));
      // The stream the auction's rare extra words come from, positioned after its first words.
      Stream stream(s.seed_, Purpose::auctiongym, round, low + static_cast<std::uint32_t>(i), high);
      stream.seek_block(static_cast<std::uint32_t>(word_count / 4));
      for (int skip = 0; skip < word_count % 4; ++skip) stream.next_u32();
      draw(s, words[static_cast<std::size_t>(i)].data(), stream, out[i]);
    }
    // A batch's pairs all at once: sixteen chains of exp's polynomial in flight. With two auctions
    // (four chains) at a time the processor waited on each step's latency: 10 % fewer auctions/s
    // (docs/performance.md). The last pairs of a range go two auctions at a time.
    int next = 0;
    if (s.participants_ == 2) {
      for (; next + auction_batch <= count; next += auction_batch) bid_pairs<W, auction_batch>(s, out + next);
      for (; next + 2 <= count; next += 2) bid_pairs<W, 2>(s, out + next);
    }
    for (; next < count; ++next) bid<W>(s, out[next]);
    for (int i = 0; i < count; ++i)
      settle(s, words[static_cast<std::size_t>(i)][static_cast<std::size_t>(word_count - 1)], out[i]);
  }

  template <int W>
  [[gnu::always_inline]] static void simulate(const Simulator& s, std::uint32_t round, IdRange auctions_range,
                                              RoundStats& stats) {
    std::array<AuctionOutcome, auction_batch> outcomes;
    for (std::int64_t first = auctions_range.begin; first < auctions_range.end; first += auction_batch) {
      const int count = static_cast<int>(std::min<std::int64_t>(auction_batch, auctions_range.end - first));
      const auto low = static_cast<std::uint64_t>(first) & 0xffffffffu;
      if (low + static_cast<std::uint64_t>(count) <= 0x100000000u) {
        auctions<W>(s, round, first, count, outcomes.data());
      } else {  // the batch crosses a change of the high index word
        for (int i = 0; i < count; ++i) auction<W>(s, round, first + i, outcomes[static_cast<std::size_t>(i)]);
      }
      for (int i = 0; i < count; ++i) add(s, outcomes[static_cast<std::size_t>(i)], stats);
    }
    stats.auctions += auctions_range.size();
  }

  // One auction's outcome into the per-bidder sums (auctions are added in index order).
  [[gnu::always_inline]] static void add(const Simulator& s, const AuctionOutcome& outcome, RoundStats& stats) {
    const auto padded = static_cast<std::size_t>(s.padded_items_);
    const double price = outcome.price;
    for (int j = 0; j < outcome.participants; ++j) {
      const Bid& bid = outcome.bids[static_cast<std::size_t>(j)];
      BidderTotals& totals = stats.bidders[static_cast<std::size_t>(bid.bidder)];
      ++totals.participations;
      totals.bid_sum += bid.bid;
      // AuctionGym's underbid regret: lost although the price was below the bidder's value x CTR.
      if ((j != outcome.winner) & (price < bid.bid)) totals.underbid_regret += price - bid.bid;
    }
    const Bid& won = outcome.bids[static_cast<std::size_t>(outcome.winner)];
    BidderTotals& totals = stats.bidders[static_cast<std::size_t>(won.bidder)];
    ++totals.wins;
    totals.spend += price;  // pay per impression: whether or not the ad is clicked
    totals.expected_gross_utility += won.bid;
    totals.ctr_sum += won.ctr;
    // Branch-free (a click is a coin flip): value x 1 = value and x + value x 0 = x exactly.
    const double value = s.values_[static_cast<std::size_t>(won.bidder) * padded + static_cast<std::size_t>(won.item)];
    totals.clicks += outcome.click ? 1 : 0;
    totals.gross_utility += value * (outcome.click ? 1.0 : 0.0);
  }

  // Entry points: one per instruction set.
  static Bid choose_sse2(const Simulator& s, int bidder, const double* context) {
    return choose<2>(s, bidder, context);
  }
  [[gnu::target("avx2")]] static Bid choose_avx2(const Simulator& s, int bidder, const double* context) {
    return choose<4>(s, bidder, context);
  }
  static void auction_sse2(const Simulator& s, std::uint32_t round, std::int64_t index, AuctionOutcome& out) {
    auction<2>(s, round, index, out);
  }
  [[gnu::target("avx2")]] static void auction_avx2(const Simulator& s, std::uint32_t round, std::int64_t index,
                                                   AuctionOutcome& out) {
    auction<4>(s, round, index, out);
  }
  [[gnu::target("avx512f"), gnu::flatten]] static Bid choose_avx512(const Simulator& s, int bidder,
                                                                    const double* context) {
    return choose<8>(s, bidder, context);
  }
  [[gnu::target("avx512f"), gnu::flatten]] static void auction_avx512(const Simulator& s, std::uint32_t round,
                                                                      std::int64_t index, AuctionOutcome& out) {
    auction<8>(s, round, index, out);
  }
  static void simulate_sse2(const Simulator& s, std::uint32_t round, IdRange range, RoundStats& stats) {
    simulate<2>(s, round, range, stats);
  }
  [[gnu::target("avx2")]] static void simulate_avx2(const Simulator& s, std::uint32_t round, IdRange range,
                                                    RoundStats& stats) {
    simulate<4>(s, round, range, stats);
  }
  [[gnu::target("avx512f"), gnu::flatten]] static void simulate_avx512(const Simulator& s, std::uint32_t round,
                                                                       IdRange range, RoundStats& stats) {
    simulate<8>(s, round, range, stats);
  }
};

Simulator::Simulator(const Scenario& scenario, const Catalogue& catalogue, VectorIsa isa)
    : seed_(scenario.seed),
      bidders_(catalogue.bidders),
      items_(catalogue.items),
      padded_items_((catalogue.items + lanes_of(isa) - 1) / lanes_of(isa) * lanes_of(isa)),
      dimensions_(catalogue.dimensions),
      participants_(scenario.participants),
      embedding_sd_(scenario.embedding_sd),
      isa_(isa) {
  if (!supported(isa))
    throw RuntimeFailure(std::string("auctiongym: ") + to_string(isa) +
                         " code requested but this CPU does not support it");
  const auto count = [](int n) { return static_cast<std::size_t>(n); };
  if (bidders_ != scenario.bidders || items_ != scenario.items_per_bidder || dimensions_ != scenario.dimensions ||
      catalogue.embeddings.size() != count(bidders_ * items_ * dimensions_) ||
      catalogue.intercepts.size() != count(bidders_ * items_) || catalogue.values.size() != count(bidders_ * items_))
    throw RuntimeFailure("auctiongym: the catalogue does not match the scenario's sizes");
  const std::size_t padded = count(padded_items_);
  weights_.assign(count(bidders_ * dimensions_) * padded, 0.0);
  intercepts_.assign(count(bidders_) * padded, 0.0);
  values_.assign(count(bidders_) * padded, -1.0);  // padding items bid -CTR < 0 <= every real bid
  for (int b = 0; b < bidders_; ++b) {
    for (int i = 0; i < items_; ++i) {
      const std::size_t item = count(b * items_ + i);
      const std::size_t slot = count(b) * padded + count(i);
      for (int d = 0; d < dimensions_; ++d)
        weights_[count(b * dimensions_ + d) * padded + count(i)] =
            catalogue.embeddings[item * count(dimensions_) + count(d)];
      intercepts_[slot] = catalogue.intercepts[item];
      values_[slot] = catalogue.values[item];
    }
  }
}

Bid Simulator::oracle(int bidder, std::span<const double> context) const {
  if (bidder < 0 || bidder >= bidders_ || context.size() != static_cast<std::size_t>(dimensions_))
    throw RuntimeFailure("auctiongym: oracle bid of bidder " + std::to_string(bidder) + " for a context of " +
                         std::to_string(context.size()) + " entries (" + std::to_string(bidders_) + " bidders, " +
                         std::to_string(dimensions_) + " dimensions)");
  switch (isa_) {
    case VectorIsa::avx512:
      return Kernels::choose_avx512(*this, bidder, context.data());
    case VectorIsa::avx2:
      return Kernels::choose_avx2(*this, bidder, context.data());
    case VectorIsa::sse2:
      break;
  }
  return Kernels::choose_sse2(*this, bidder, context.data());
}

AuctionOutcome Simulator::auction(std::uint32_t round, std::int64_t index) const {
  AuctionOutcome outcome;
  switch (isa_) {
    case VectorIsa::avx512:
      Kernels::auction_avx512(*this, round, index, outcome);
      break;
    case VectorIsa::avx2:
      Kernels::auction_avx2(*this, round, index, outcome);
      break;
    case VectorIsa::sse2:
      Kernels::auction_sse2(*this, round, index, outcome);
      break;
  }
  return outcome;
}

void Simulator::simulate(std::uint32_t round, IdRange auctions, RoundStats& stats) const {
  if (stats.bidders.size() != static_cast<std::size_t>(bidders_))
    throw RuntimeFailure("auctiongym: statistics for " + std::to_string(stats.bidders.size()) +
                         " bidders passed to a simulator of " + std::to_string(bidders_));
  switch (isa_) {
    case VectorIsa::avx512:
      Kernels::simulate_avx512(*this, round, auctions, stats);
      break;
    case VectorIsa::avx2:
      Kernels::simulate_avx2(*this, round, auctions, stats);
      break;
    case VectorIsa::sse2:
      Kernels::simulate_sse2(*this, round, auctions, stats);
      break;
  }
}

}  // namespace manyworlds::auctiongym
