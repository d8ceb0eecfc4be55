// The AuctionGym-compatible scenario (amzn/auction-gym, second-price oracle): job file, catalogue, auction simulator.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "manyworlds/core/partition.hpp"
#include "manyworlds/core/random.hpp"
#include "manyworlds/core/vector_isa.hpp"
#include "manyworlds/core/ziggurat.hpp"

namespace manyworlds::auctiongym {

// Largest sizes the simulator handles (its per-auction buffers have fixed size).
inline constexpr int max_bidders = 64;
inline constexpr int max_items = 256;
inline constexpr int max_dimensions = 32;
inline constexpr int max_participants = 16;
inline constexpr int max_rounds = 1000000;
inline constexpr std::int64_t max_auctions_per_round = 1000000000000;  // 10^12

// The scenario as read from a job file such as jobs/auctiongym-sp-oracle.toml (docs/auctiongym.md).
// Mechanism, fixed as in AuctionGym's SP configuration: one slot, second price, pay per impression;
// every bidder is a truthful oracle (it sees the true context and bids value x true CTR).
struct Scenario {
  std::string file;  // path of the job file
  std::string text;  // its full text
  // [run]
  std::string name = "auctiongym";
  std::uint64_t seed = 0;
  int rounds = 20;                          // AuctionGym num_iter
  std::int64_t auctions_per_round = 10000;  // AuctionGym rounds_per_iter
  int blocks_per_round = 256;               // summation blocks (fixes the floating-point order)
  std::string output;                       // default: "<name>.h5"
  // [market]
  int bidders = 6;              // AuctionGym num_copies of the agent
  int items_per_bidder = 12;    // num_items
  int dimensions = 5;           // embedding_size
  int observed_dimensions = 4;  // obs_embedding_size (no effect on oracle bidders)
  int participants = 2;         // num_participants_per_round
  double embedding_sd = 1.0;    // embedding_var (numpy's scale: a standard deviation)
  double intercept_min = -4.0;
  double intercept_max = -3.0;
  double value_log_mean = 0.1;  // item values ~ log-normal(value_log_mean, value_log_sd)
  double value_log_sd = 0.2;
  // [catalogue] (optional): the items given explicitly instead of drawn from the seed
  std::vector<double> embeddings;  // [bidder][item][dimension]
  std::vector<double> intercepts;  // [bidder][item]
  std::vector<double> values;      // [bidder][item]
};

// Parses and checks a job file's text; InputError naming the file, line, key and fix. Unknown
// keys and tables are rejected.
Scenario parse_scenario(const std::string& text, const std::string& file);
Scenario load_scenario(const std::string& path);

// "<name>.h5" unless [run].output is set.
std::string default_output_path(const Scenario& scenario);

// The auctions of one summation block of a round: block_of(auctions_per_round, blocks_per_round, block).
IdRange auction_block(const Scenario& scenario, int block);

// Every bidder's items. Drawn (when the job gives no [catalogue]) as in AuctionGym: embeddings
// N(0, embedding_sd^2) per dimension, intercept uniform in [intercept_min, intercept_max), value
// log-normal; bidder b's numbers come from Stream(seed, Purpose::auctiongym, catalogue_stream, b).
struct Catalogue {
  int bidders = 0;
  int items = 0;
  int dimensions = 0;
  std::vector<double> embeddings;  // [bidder][item][dimension]
  std::vector<double> intercepts;  // [bidder][item]
  std::vector<double> values;      // [bidder][item]
};
// The first counter word of the catalogue's streams (rounds use 0 .. max_rounds - 1).
inline constexpr std::uint32_t catalogue_stream = 0xffffffffu;
Catalogue make_catalogue(const Scenario& scenario);

// Standard normals by the ziggurat method (Marsaglia & Tsang 2000, 128 layers) from 32-bit words
// of a Stream: 7 bits pick the layer, 1 bit the sign, 24 bits the position in the layer (so values
// lie on a grid of step <= 2.2e-7). About 98.8% of draws use exactly one word; the others take
// a few more words from the same stream. Deterministic; no std:: distribution. It exists beside
// Stream::normal for the auctions' hot loop: one word a normal keeps an auction's draws within
// two Philox blocks.
class ZigguratNormal {
 public:
  ZigguratNormal();
  double operator()(Stream& stream) const { return (*this)(stream.next_u32(), stream); }
  // The normal for `word`, a word already taken from `stream`; the slow path takes more from it.
  double operator()(std::uint32_t word, Stream& stream) const {
    const std::uint32_t layer = word & (layers - 1);
    const std::uint32_t position = word >> 8;
    if (position < inner_[layer]) {
      // Bit 7 of the word becomes the sign bit (no branch: it is a coin flip).
      const double x = static_cast<double>(position) * width_[layer];
      return std::bit_cast<double>(std::bit_cast<std::uint64_t>(x) ^ (std::uint64_t{word & 0x80u} << 56));
    }
    return slow(stream, word);
  }

 private:
  static constexpr std::uint32_t layers = ziggurat_layers;
  double slow(Stream& stream, std::uint32_t word) const;

  std::array<std::uint32_t, layers> inner_{};  // positions below this are inside the curve
  std::array<double, layers> width_{};         // layer width / 2^24
  ZigguratEdges x_{};                          // layer edges (ziggurat_edges)
  std::array<double, layers + 1> f_{};         // exp(-x^2 / 2) at the edges
};

// One participant's bid: the oracle's best item, its true CTR and the bid value x CTR.
struct Bid {
  int bidder = 0;
  int item = 0;
  double ctr = 0;
  double bid = 0;
};

// Everything that happened in one auction.
struct AuctionOutcome {
  std::array<double, max_dimensions> context{};  // the first `dimensions` entries; the constant 1 is implicit
  int participants = 0;
  std::array<Bid, max_participants> bids{};  // in the order the participants were drawn
  int winner = 0;                            // index into bids: highest bid, first drawn on ties
  double price = 0;                          // second-highest bid, paid per impression
  bool click = false;
};

// Per-bidder sums over a set of auctions (AuctionGym's per-agent figures are these sums or ratios
// of them; see docs/auctiongym.md). Trivially copyable, so blocks of them can be gathered.
struct BidderTotals {
  std::int64_t participations = 0;    // auctions entered
  std::int64_t wins = 0;              // impressions won
  std::int64_t clicks = 0;            // clicks on won impressions
  double spend = 0;                   // sum of prices paid (per impression)
  double gross_utility = 0;           // sum of value x click over wins
  double expected_gross_utility = 0;  // sum of value x true CTR over wins
  double bid_sum = 0;                 // sum of bids = sum of max_i value_i x CTR_i over participations
  double ctr_sum = 0;                 // sum of the true CTR of won impressions
  double underbid_regret = 0;         // AuctionGym's sum of (price - bid) over lost auctions with price < value x CTR

  BidderTotals& operator+=(const BidderTotals& other);
};

// The sums of one round (or of one block of it): one BidderTotals per bidder.
struct RoundStats {
  std::int64_t auctions = 0;
  std::vector<BidderTotals> bidders;

  explicit RoundStats(int bidder_count = 0) : bidders(static_cast<std::size_t>(bidder_count)) {}
  RoundStats& operator+=(const RoundStats& other);
};

// The simulator's vector code is compiled for SSE2, AVX2 and AVX-512 (2, 4 and 8 doubles per
// register; VectorIsa). Every path gives bit-identical results (each lane is rounded like the scalar
// operation; no FMA contraction, no reassociation); the wider ones are only faster. The build stays
// portable: a path runs only where the CPU has its instruction set.

// The scenario's auctions. Auction `index` of round `round` draws everything it needs from
// Stream(seed, Purpose::auctiongym, round, index & 0xffffffff, index >> 32), so outcomes do not
// depend on how auctions are split into blocks or ranks. It takes dimensions + participants + 1
// words up front (two Philox blocks in the SP-oracle setup; simulate() computes those blocks for
// several auctions at once): one per context entry (a
// ZigguratNormal x embedding_sd), one per participant (drawn uniformly without replacement by a
// bounded draw) and one for the click (click iff word < CTR x 2^32). The rare extra words of a
// ziggurat slow path or a bounded-draw rejection come from the same stream after those.
class Simulator {
 public:
  // RuntimeFailure if `isa` is not supported by this CPU or the catalogue does not fit the scenario.
  Simulator(const Scenario& scenario, const Catalogue& catalogue, VectorIsa isa = best_vector_isa());

  VectorIsa isa() const { return isa_; }
  // The oracle's choice for `context` (dimensions entries): the item maximising value x
  // sigmoid(context . embedding + intercept), first on ties, and its bid (value x that CTR).
  Bid oracle(int bidder, std::span<const double> context) const;
  AuctionOutcome auction(std::uint32_t round, std::int64_t index) const;
  // Simulates auctions [auctions.begin, auctions.end) of `round` in index order and adds them to `stats`.
  void simulate(std::uint32_t round, IdRange auctions, RoundStats& stats) const;

 private:
  struct Kernels;  // the vectorised code, once per VectorIsa (src/scenarios/auctiongym/scenario.cpp)

  std::uint64_t seed_;
  int bidders_;
  int items_;
  int padded_items_;  // items rounded up to a multiple of the vector width (padding items are never chosen)
  int dimensions_;
  int participants_;
  double embedding_sd_;
  VectorIsa isa_;
  // Per bidder, padded: embeddings transposed to [dimension][item], then intercepts, then values.
  std::vector<double> weights_;
  std::vector<double> intercepts_;
  std::vector<double> values_;
  ZigguratNormal normal_;
};

}  // namespace manyworlds::auctiongym
