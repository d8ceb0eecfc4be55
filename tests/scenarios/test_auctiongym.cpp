// Tests of the AuctionGym-compatible scenario: job file, catalogue, ziggurat normals, oracle bids, auctions,
// statistics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "manyworlds/core/collectives.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/scenarios/auctiongym/round.hpp"
#include "manyworlds/scenarios/auctiongym/scenario.hpp"

namespace manyworlds::auctiongym {
namespace {

const std::string job_path = std::string(MANYWORLDS_SOURCE_DIR) + "/jobs/auctiongym-sp-oracle.toml";

std::string job_text(const std::string& market_extra = "", const std::string& extra_tables = "") {
  return "[run]\nname = \"t\"\nseed = 11\nrounds = 2\nauctions_per_round = 1000\n[market]\n" + market_extra + "\n" +
         extra_tables;
}

// The InputError message of parsing `text`, or "" if it parses.
std::string parse_error(const std::string& text) {
  try {
    parse_scenario(text, "job.toml");
  } catch (const InputError& error) {
    return error.what();
  }
  return "";
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// The oracle's bid computed plainly (std::exp, scalar loop): max over items of value x sigmoid(x . w + c).
Bid reference_oracle(const Catalogue& catalogue, int bidder, const std::vector<double>& context) {
  Bid best{bidder, -1, 0.0, -1.0};
  for (int i = 0; i < catalogue.items; ++i) {
    const auto item = static_cast<std::size_t>(bidder * catalogue.items + i);
    double z = 0;
    for (int d = 0; d < catalogue.dimensions; ++d)
      z += context[static_cast<std::size_t>(d)] *
           catalogue.embeddings[item * static_cast<std::size_t>(catalogue.dimensions) + static_cast<std::size_t>(d)];
    z += catalogue.intercepts[item];
    const double ctr = sigmoid(z);
    const double bid = catalogue.values[item] * ctr;
    if (bid > best.bid) best = {bidder, i, ctr, bid};
  }
  return best;
}

bool same_bits(const RoundStats& a, const RoundStats& b) {
  return a.auctions == b.auctions && a.bidders.size() == b.bidders.size() &&
         std::memcmp(a.bidders.data(), b.bidders.data(), a.bidders.size() * sizeof(BidderTotals)) == 0;
}

// ---- job file -------------------------------------------------------------------------------

TEST(AuctionGymJob, ShippedJobMirrorsAuctionGymSpOracleConfig) {
  const Scenario s = load_scenario(job_path);
  EXPECT_EQ(s.seed, 0u);
  EXPECT_EQ(s.rounds, 20);                 // num_iter
  EXPECT_EQ(s.auctions_per_round, 10000);  // rounds_per_iter
  EXPECT_EQ(s.bidders, 6);                 // num_copies
  EXPECT_EQ(s.items_per_bidder, 12);       // num_items
  EXPECT_EQ(s.dimensions, 5);              // embedding_size
  EXPECT_EQ(s.observed_dimensions, 4);     // obs_embedding_size
  EXPECT_EQ(s.participants, 2);            // num_participants_per_round
  EXPECT_EQ(s.embedding_sd, 1.0);          // embedding_var
  EXPECT_EQ(s.intercept_min, -4.0);
  EXPECT_EQ(s.intercept_max, -3.0);
  EXPECT_EQ(s.value_log_mean, 0.1);
  EXPECT_EQ(s.value_log_sd, 0.2);
  EXPECT_TRUE(s.values.empty());
  EXPECT_EQ(default_output_path(s), "auctiongym-sp-oracle.h5");
}

TEST(AuctionGymJob, UnknownKeysAndTablesAreRejectedWithTheNearestKey) {
  const std::string key = parse_error(job_text("bidder = 6"));
  EXPECT_NE(key.find("job.toml:"), std::string::npos) << key;
  EXPECT_NE(key.find("'market.bidder' is not a valid key; did you mean 'market.bidders'?"), std::string::npos) << key;
  const std::string table = parse_error(job_text("", "[agents]\nname = \"x\"\n"));
  EXPECT_NE(table.find("'agents' is not a valid key"), std::string::npos) << table;
  EXPECT_NE(parse_error(job_text("") + "\n[run.extra]\n").find("'run.extra'"), std::string::npos);
}

TEST(AuctionGymJob, RangesAndCrossKeyRulesAreChecked) {
  EXPECT_NE(parse_error(job_text("intercept_min = -2.0\nintercept_max = -3.0")).find("'market.intercept_max' is below"),
            std::string::npos);
  EXPECT_NE(
      parse_error(job_text("bidders = 3\nparticipants_per_auction = 4")).find("'market.participants_per_auction'"),
      std::string::npos);
  EXPECT_NE(parse_error(job_text("participants_per_auction = 1")).find("out of range"), std::string::npos);
  EXPECT_NE(parse_error(job_text("observed_dimensions = 6")).find("'market.observed_dimensions'"), std::string::npos);
  EXPECT_NE(parse_error(job_text("embedding_sd = 0")).find("'market.embedding_sd'"), std::string::npos);
  EXPECT_NE(parse_error("[market]\n").find("'run' is missing"), std::string::npos);
  EXPECT_EQ(parse_error(job_text("")), "");
}

TEST(AuctionGymJob, ExplicitCatalogueIsCheckedAndUsedVerbatim) {
  const std::string market = "bidders = 2\nitems_per_bidder = 2\nembedding_dimensions = 1\nobserved_dimensions = 1";
  const std::string good =
      "[catalogue]\nembeddings = [0.5, -1, 2, 0]\nintercepts = [-3, -3.5, -4, -3.25]\nvalues = [1, 2, 0.5, 1.5]\n";
  const Scenario s = parse_scenario(job_text(market, good), "job.toml");
  const Catalogue c = make_catalogue(s);
  EXPECT_EQ(c.embeddings, (std::vector<double>{0.5, -1, 2, 0}));
  EXPECT_EQ(c.intercepts, (std::vector<double>{-3, -3.5, -4, -3.25}));
  EXPECT_EQ(c.values, (std::vector<double>{1, 2, 0.5, 1.5}));
  const std::string short_values =
      "[catalogue]\nembeddings = [0.5, -1, 2, 0]\nintercepts = [-3, -3.5, -4, -3.25]\nvalues = [1, 2]\n";
  EXPECT_NE(parse_error(job_text(market, short_values)).find("'catalogue.values' has 2 numbers but needs 4"),
            std::string::npos);
  const std::string zero_value =
      "[catalogue]\nembeddings = [0.5, -1, 2, 0]\nintercepts = [-3, -3.5, -4, -3.25]\nvalues = [1, 0, 1, 1]\n";
  EXPECT_NE(parse_error(job_text(market, zero_value)).find("'catalogue.values'"), std::string::npos);
}

// ---- catalogue ------------------------------------------------------------------------------

TEST(AuctionGymCatalogue, DrawnItemsFollowTheConfiguredDistributions) {
  // 64 bidders x 256 items = 16384 items, 32 dimensions: 524288 embedding entries.
  Scenario s = parse_scenario(job_text("bidders = 64\nitems_per_bidder = 256\nembedding_dimensions = 32"), "job.toml");
  const Catalogue c = make_catalogue(s);
  const auto n = static_cast<double>(c.values.size());
  EXPECT_EQ(c.values.size(), 16384u);
  EXPECT_EQ(c.embeddings.size(), 16384u * 32u);
  // Intercepts: uniform in [-4, -3]: all inside, mean -3.5 +- 5 SE (SE = (1/sqrt(12)) / sqrt(n) = 0.0023).
  double intercept_sum = 0;
  for (double c0 : c.intercepts) {
    EXPECT_GE(c0, -4.0);
    EXPECT_LE(c0, -3.0);
    intercept_sum += c0;
  }
  EXPECT_NEAR(intercept_sum / n, -3.5, 5 * 0.2887 / std::sqrt(n));
  // Values: log-normal(0.1, 0.2): log mean 0.1 +- 5 SE (0.2 / 128), log sd 0.2 +- 5 SE (0.2 / sqrt(2n)).
  double log_sum = 0;
  double log_squares = 0;
  for (double v : c.values) {
    ASSERT_GT(v, 0.0);
    log_sum += std::log(v);
    log_squares += std::log(v) * std::log(v);
  }
  const double log_mean = log_sum / n;
  EXPECT_NEAR(log_mean, 0.1, 5 * 0.2 / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(log_squares / n - log_mean * log_mean), 0.2, 5 * 0.2 / std::sqrt(2 * n));
  // Embeddings: N(0, 1): mean 0 +- 5 / sqrt(m), variance 1 +- 5 sqrt(2 / m).
  const auto m = static_cast<double>(c.embeddings.size());
  double sum = 0;
  double squares = 0;
  for (double e : c.embeddings) {
    sum += e;
    squares += e * e;
  }
  EXPECT_NEAR(sum / m, 0.0, 5 / std::sqrt(m));
  EXPECT_NEAR(squares / m, 1.0, 5 * std::sqrt(2 / m));
}

TEST(AuctionGymCatalogue, DependsOnTheSeedOnly) {
  Scenario a = load_scenario(job_path);
  Scenario b = a;
  b.rounds = 99;
  b.auctions_per_round = 7;
  EXPECT_EQ(make_catalogue(a).embeddings, make_catalogue(b).embeddings);
  b.seed = 1;
  EXPECT_NE(make_catalogue(a).embeddings, make_catalogue(b).embeddings);
  EXPECT_NE(make_catalogue(a).values, make_catalogue(b).values);
}

// ---- ziggurat -------------------------------------------------------------------------------

TEST(AuctionGymZiggurat, NormalsHaveTheMomentsTailsAndCdfOfNZeroOne) {
  const ZigguratNormal normal;
  Stream stream(5, Purpose::auctiongym, 0, 0, 0);
  constexpr int n = 2000000;
  std::vector<double> x(n);
  for (double& value : x) value = normal(stream);
  double sum = 0;
  double squares = 0;
  double fourth = 0;
  int beyond_196 = 0;
  int beyond_r = 0;  // beyond the base strip r = 3.4426 (the tail algorithm)
  for (double value : x) {
    sum += value;
    squares += value * value;
    fourth += value * value * value * value;
    beyond_196 += std::fabs(value) > 1.959963984540054 ? 1 : 0;
    beyond_r += std::fabs(value) > 3.442619855899 ? 1 : 0;
  }
  // Thresholds: 5 standard errors of each estimate under N(0, 1).
  EXPECT_NEAR(sum / n, 0.0, 5 / std::sqrt(double{n}));
  EXPECT_NEAR(squares / n, 1.0, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(fourth / n, 3.0, 5 * std::sqrt(96.0 / n));
  EXPECT_NEAR(beyond_196 / double{n}, 0.05, 5 * std::sqrt(0.05 * 0.95 / n));
  const double tail = std::erfc(3.442619855899 / std::sqrt(2.0));  // P(|x| > r) = 5.76e-4
  EXPECT_NEAR(beyond_r, tail * n, 5 * std::sqrt(tail * n));
  // Kolmogorov-Smirnov distance to Phi below the 1% critical value 1.628 / sqrt(n).
  std::sort(x.begin(), x.end());
  double distance = 0;
  for (int i = 0; i < n; ++i) {
    const double cdf = 0.5 * std::erfc(-x[static_cast<std::size_t>(i)] / std::sqrt(2.0));
    distance = std::max({distance, std::fabs(cdf - double(i) / n), std::fabs(cdf - double(i + 1) / n)});
  }
  EXPECT_LT(distance, 1.628 / std::sqrt(double{n}));
}

// ---- oracle bids ----------------------------------------------------------------------------

// Two bidders, three items each, two dimensions, given explicitly.
Scenario hand_made() {
  const std::string market = "bidders = 2\nitems_per_bidder = 3\nembedding_dimensions = 2\nobserved_dimensions = 2";
  const std::string catalogue =
      "[catalogue]\n"
      "embeddings = [1.0, 0.0,  0.0, 1.0,  1.0, 1.0,    2.0, 0.0,  2.0, 0.0,  -1.0, 0.5]\n"
      "intercepts = [-3.0, -3.0, -4.0,   -1.0, -1.0, -3.5]\n"
      "values     = [1.0, 1.0, 1.2,   1.0, 1.0, 4.0]\n";
  return parse_scenario(job_text(market, catalogue), "hand.toml");
}

TEST(AuctionGymOracle, BidIsTheMaximumOfValueTimesSigmoidForHandMadeCases) {
  const Scenario s = hand_made();
  for (VectorIsa isa : all_vector_isas) {
    if (!supported(isa)) continue;
    const Simulator simulator(s, make_catalogue(s), isa);
    // Context (1, 0): bidder 0's z = (-2, -3, -3): item 0 wins with 1 x sigmoid(-2).
    Bid bid = simulator.oracle(0, std::vector<double>{1.0, 0.0});
    EXPECT_EQ(bid.item, 0);
    EXPECT_NEAR(bid.ctr, sigmoid(-2.0), 1e-16);
    EXPECT_NEAR(bid.bid, sigmoid(-2.0), 1e-16);
    // Context (0, 2): z = (-3, -1, -2): item 1 (CTR 0.269) beats item 2 (1.2 x 0.119).
    bid = simulator.oracle(0, std::vector<double>{0.0, 2.0});
    EXPECT_EQ(bid.item, 1);
    EXPECT_NEAR(bid.bid, sigmoid(-1.0), 1e-16);
    // Context (2, 2): z = (-1, -1, 0): item 2, value 1.2 x 0.5.
    bid = simulator.oracle(0, std::vector<double>{2.0, 2.0});
    EXPECT_EQ(bid.item, 2);
    EXPECT_NEAR(bid.ctr, 0.5, 1e-16);
    EXPECT_NEAR(bid.bid, 0.6, 1e-15);
    // Value beats CTR: bidder 1 at (-0.5, 1): z = (-2, -2, -2.5); item 2 has the lower CTR (0.076 < 0.119)
    // but the higher value x CTR (4 x 0.076 = 0.304).
    bid = simulator.oracle(1, std::vector<double>{-0.5, 1.0});
    EXPECT_EQ(bid.item, 2);
    EXPECT_NEAR(bid.ctr, sigmoid(-2.5), 1e-16);
    EXPECT_NEAR(bid.bid, 4.0 * sigmoid(-2.5), 1e-15);
    // Ties: bidder 1's items 0 and 1 are identical: the first one is chosen.
    bid = simulator.oracle(1, std::vector<double>{0.0, 0.0});
    EXPECT_EQ(bid.item, 0);
    EXPECT_NEAR(bid.bid, sigmoid(-1.0), 1e-16);
    // Saturation: huge |z| gives CTR 1 or about 0, never NaN.
    bid = simulator.oracle(1, std::vector<double>{1000.0, 0.0});
    EXPECT_EQ(bid.ctr, 1.0);
    EXPECT_EQ(bid.bid, 1.0);
    bid = simulator.oracle(0, std::vector<double>{-1000.0, -1000.0});
    EXPECT_GE(bid.bid, 0.0);
    EXPECT_LT(bid.bid, 1e-300);
  }
}

TEST(AuctionGymOracle, BidMatchesAPlainComputationForManyContexts) {
  const Scenario s = load_scenario(job_path);
  const Catalogue catalogue = make_catalogue(s);
  const Simulator simulator(s, catalogue);
  Stream stream(3, Purpose::auctiongym, 0, 0, 0);
  int same_item = 0;
  constexpr int contexts = 20000;
  for (int k = 0; k < contexts; ++k) {
    std::vector<double> context(5);
    for (double& x : context) x = 2.0 * stream.normal();  // wider than N(0, 1): more extreme z
    const int bidder = k % 6;
    const Bid fast = simulator.oracle(bidder, context);
    const Bid plain = reference_oracle(catalogue, bidder, context);
    // Within 1e-14 relative (the fast exp is accurate to a few ulp); the same item unless two items tie that closely.
    EXPECT_NEAR(fast.bid, plain.bid, 1e-14 * plain.bid);
    EXPECT_NEAR(fast.ctr, plain.ctr, 1e-14 * plain.ctr);
    same_item += fast.item == plain.item ? 1 : 0;
  }
  EXPECT_EQ(same_item, contexts);
}

TEST(AuctionGymOracle, EveryInstructionSetGivesIdenticalBits) {
  const Scenario s = load_scenario(job_path);
  const Catalogue catalogue = make_catalogue(s);
  const Simulator portable(s, catalogue, VectorIsa::sse2);
  RoundStats expected(s.bidders);
  portable.simulate(3, {0, 50000}, expected);
  int paths = 0;
  for (VectorIsa isa : all_vector_isas) {
    if (!supported(isa)) continue;
    ++paths;
    const Simulator simulator(s, catalogue, isa);
    RoundStats stats(s.bidders);
    simulator.simulate(3, {0, 50000}, stats);
    EXPECT_TRUE(same_bits(stats, expected)) << to_string(isa);
    const AuctionOutcome a = portable.auction(3, 4242);
    const AuctionOutcome b = simulator.auction(3, 4242);
    EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0) << to_string(isa);
  }
  EXPECT_GE(paths, 1);
}

// simulate() computes the first random blocks of several auctions together; its sums are those of
// the auctions one by one (auction()), also where a batch of indices crosses a multiple of 2^32 and
// with a market whose first words do not fill whole blocks (so the slow paths continue mid-block).
TEST(AuctionGymStatistics, BatchedAuctionsAreTheAuctionsOneByOne) {
  Scenario odd = load_scenario(job_path);
  odd.dimensions = 6;  // 6 + 2 + 1 = 9 words: two blocks and one word
  odd.observed_dimensions = 4;
  for (const Scenario& s : {load_scenario(job_path), odd}) {
    const Catalogue catalogue = make_catalogue(s);
    for (VectorIsa isa : all_vector_isas) {
      if (!supported(isa)) continue;
      const Simulator simulator(s, catalogue, isa);
      const std::int64_t wrap = std::int64_t{1} << 32;
      for (const IdRange range : {IdRange{0, 3001}, IdRange{wrap - 13, wrap + 20}}) {
        RoundStats batched(s.bidders);
        simulator.simulate(2, range, batched);
        RoundStats single(s.bidders);
        for (std::int64_t index = range.begin; index < range.end; ++index) {
          const AuctionOutcome outcome = simulator.auction(2, index);
          RoundStats one(s.bidders);
          one.auctions = 1;
          for (int j = 0; j < outcome.participants; ++j) {
            const Bid& bid = outcome.bids[static_cast<std::size_t>(j)];
            BidderTotals& t = one.bidders[static_cast<std::size_t>(bid.bidder)];
            ++t.participations;
            t.bid_sum += bid.bid;
          }
          const Bid& won = outcome.bids[static_cast<std::size_t>(outcome.winner)];
          BidderTotals& t = one.bidders[static_cast<std::size_t>(won.bidder)];
          ++t.wins;
          t.clicks += outcome.click ? 1 : 0;
          t.spend += outcome.price;
          single += one;
        }
        EXPECT_EQ(batched.auctions, single.auctions);
        for (std::size_t b = 0; b < batched.bidders.size(); ++b) {
          EXPECT_EQ(batched.bidders[b].participations, single.bidders[b].participations) << to_string(isa);
          EXPECT_EQ(batched.bidders[b].wins, single.bidders[b].wins) << to_string(isa);
          EXPECT_EQ(batched.bidders[b].clicks, single.bidders[b].clicks) << to_string(isa);
          EXPECT_EQ(batched.bidders[b].spend, single.bidders[b].spend) << to_string(isa);  // same sums, same order
        }
      }
    }
  }
}

// ---- auctions -------------------------------------------------------------------------------

TEST(AuctionGymAuction, TwoDistinctOracleParticipantsSecondPriceAndClicksAtTheTrueCtr) {
  const Scenario s = load_scenario(job_path);
  const Simulator simulator(s, make_catalogue(s));
  constexpr int auctions = 60000;
  std::vector<int> pair_counts(36, 0);
  double ctr_sum = 0;
  double ctr_variance = 0;
  int clicks = 0;
  int unclicked_paid = 0;
  for (int a = 0; a < auctions; ++a) {
    const AuctionOutcome o = simulator.auction(1, a);
    ASSERT_EQ(o.participants, 2);
    const Bid& first = o.bids[0];
    const Bid& second = o.bids[1];
    ASSERT_NE(first.bidder, second.bidder);
    ASSERT_GE(first.bidder, 0);
    ASSERT_LT(second.bidder, 6);
    ++pair_counts[static_cast<std::size_t>(first.bidder * 6 + second.bidder)];
    // Each bid is exactly the oracle's bid for this auction's context.
    const std::span<const double> context(o.context.data(), 5);
    for (const Bid& bid : {first, second}) {
      const Bid oracle = simulator.oracle(bid.bidder, context);
      ASSERT_EQ(bid.item, oracle.item);
      ASSERT_EQ(bid.bid, oracle.bid);
    }
    // Second price: the winner has the higher bid (the first drawn on ties) and pays the other's bid.
    const Bid& won = o.bids[static_cast<std::size_t>(o.winner)];
    const Bid& lost = o.bids[static_cast<std::size_t>(1 - o.winner)];
    ASSERT_GE(won.bid, lost.bid);
    if (won.bid == lost.bid) {
      ASSERT_EQ(o.winner, 0);
    }
    ASSERT_EQ(o.price, lost.bid);
    ctr_sum += won.ctr;
    ctr_variance += won.ctr * (1 - won.ctr);
    clicks += o.click ? 1 : 0;
    unclicked_paid += !o.click && o.price > 0 ? 1 : 0;
  }
  // Participants uniformly without replacement: the 30 ordered pairs equally often (chi-square,
  // 29 degrees of freedom, below the 0.1% critical value 58.3), never a bidder against itself.
  double chi_square = 0;
  const double expected = auctions / 30.0;
  for (int a = 0; a < 6; ++a) {
    for (int b = 0; b < 6; ++b) {
      const int count = pair_counts[static_cast<std::size_t>(a * 6 + b)];
      if (a == b) {
        EXPECT_EQ(count, 0);
      } else {
        chi_square += (count - expected) * (count - expected) / expected;
      }
    }
  }
  EXPECT_LT(chi_square, 58.3);
  // Clicks are Bernoulli(true CTR of the shown item): total within 5 standard deviations.
  EXPECT_NEAR(clicks, ctr_sum, 5 * std::sqrt(ctr_variance));
  // Pay per impression: most won impressions are paid for without a click.
  EXPECT_GT(unclicked_paid, auctions / 3);
}

TEST(AuctionGymAuction, OutcomesDependOnlyOnSeedRoundAndIndex) {
  const Scenario s = load_scenario(job_path);
  const Simulator simulator(s, make_catalogue(s));
  const AuctionOutcome a = simulator.auction(4, 123456789012);
  const AuctionOutcome b = simulator.auction(4, 123456789012);
  EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0);
  EXPECT_NE(simulator.auction(5, 123456789012).context[0], a.context[0]);
  EXPECT_NE(simulator.auction(4, 123456789012 + (std::int64_t{1} << 32)).context[0], a.context[0]);
}

// ---- statistics -----------------------------------------------------------------------------

TEST(AuctionGymStatistics, SumsAreTheAuctionsOutcomesPaidPerImpression) {
  const Scenario s = load_scenario(job_path);
  const Catalogue catalogue = make_catalogue(s);
  const Simulator simulator(s, catalogue);
  constexpr std::int64_t auctions = 20000;
  RoundStats stats(s.bidders);
  simulator.simulate(2, {0, auctions}, stats);
  RoundStats expected(s.bidders);
  for (std::int64_t a = 0; a < auctions; ++a) {
    const AuctionOutcome o = simulator.auction(2, a);
    for (int j = 0; j < o.participants; ++j) {
      BidderTotals& t = expected.bidders[static_cast<std::size_t>(o.bids[static_cast<std::size_t>(j)].bidder)];
      ++t.participations;
      t.bid_sum += o.bids[static_cast<std::size_t>(j)].bid;
    }
    const Bid& won = o.bids[static_cast<std::size_t>(o.winner)];
    BidderTotals& t = expected.bidders[static_cast<std::size_t>(won.bidder)];
    ++t.wins;
    t.spend += o.price;  // whether clicked or not
    t.expected_gross_utility += won.bid;
    t.ctr_sum += won.ctr;
    t.clicks += o.click ? 1 : 0;
    t.gross_utility +=
        o.click ? catalogue.values[static_cast<std::size_t>(won.bidder * s.items_per_bidder + won.item)] : 0.0;
  }
  expected.auctions = auctions;
  EXPECT_TRUE(same_bits(stats, expected));
  std::int64_t participations = 0;
  std::int64_t wins = 0;
  for (const BidderTotals& t : stats.bidders) {
    participations += t.participations;
    wins += t.wins;
    EXPECT_EQ(t.underbid_regret, 0.0);             // truthful bidders in a second-price auction never regret
    EXPECT_LE(t.spend, t.expected_gross_utility);  // price <= own bid = value x CTR on every win
    // Every bidder takes part in 1/3 of the auctions (2 of 6): within 5 binomial SE.
    EXPECT_NEAR(static_cast<double>(t.participations), auctions / 3.0, 5 * std::sqrt(auctions * (1.0 / 3) * (2.0 / 3)));
  }
  EXPECT_EQ(participations, 2 * auctions);
  EXPECT_EQ(wins, auctions);
}

TEST(AuctionGymStatistics, ClickThroughRatesAreSmallAsTheInterceptsImply) {
  // A random (context, item) pair: z = x . w + c with x, w ~ N(0, I_5), c ~ U[-4, -3], so
  // z | x ~ N(c, |x|^2), |x|^2 ~ chi2(5). Quadrature of E[sigmoid(z)] gives 0.1056. Over 64 x 256
  // catalogue items and 2000 auction contexts the estimate's SD is about 0.0012: band +- 0.006.
  Scenario s = parse_scenario(job_text("bidders = 64\nitems_per_bidder = 256"), "job.toml");
  const Catalogue catalogue = make_catalogue(s);
  const Simulator simulator(s, catalogue);
  double sum = 0;
  std::int64_t pairs = 0;
  for (int a = 0; a < 2000; ++a) {
    const AuctionOutcome o = simulator.auction(0, a);
    for (std::size_t item = 0; item < catalogue.values.size(); ++item) {
      double z = catalogue.intercepts[item];
      for (std::size_t d = 0; d < 5; ++d) z += o.context[d] * catalogue.embeddings[item * 5 + d];
      sum += sigmoid(z);
      ++pairs;
    }
  }
  EXPECT_NEAR(sum / static_cast<double>(pairs), 0.1056, 0.006);
}

// The same auction model written plainly (Stream::normal, std::exp, Stream::below), on other
// random numbers: the simulator's per-auction means must agree within 5 combined standard errors.
struct ReferenceMeans {
  double revenue = 0, revenue_sq = 0, ctr = 0, ctr_sq = 0, clicks = 0;
  std::vector<double> wins;
};

ReferenceMeans reference_run(const Scenario& s, const Catalogue& catalogue, int auctions) {
  ReferenceMeans m;
  m.wins.assign(static_cast<std::size_t>(s.bidders), 0.0);
  for (int a = 0; a < auctions; ++a) {
    Stream stream(s.seed + 1, Purpose::auctiongym, 77, static_cast<std::uint32_t>(a), 0);
    std::vector<double> context(static_cast<std::size_t>(s.dimensions));
    for (double& x : context) x = s.embedding_sd * stream.normal();
    const auto first = static_cast<int>(stream.below(6));
    auto second = static_cast<int>(stream.below(5));
    second += second >= first ? 1 : 0;
    const Bid b0 = reference_oracle(catalogue, first, context);
    const Bid b1 = reference_oracle(catalogue, second, context);
    const Bid& won = b0.bid >= b1.bid ? b0 : b1;
    const double price = std::min(b0.bid, b1.bid);
    m.revenue += price;
    m.revenue_sq += price * price;
    m.ctr += won.ctr;
    m.ctr_sq += won.ctr * won.ctr;
    m.clicks += stream.bernoulli(won.ctr) ? 1 : 0;
    m.wins[static_cast<std::size_t>(won.bidder)] += 1;
  }
  return m;
}

TEST(AuctionGymStatistics, MatchAPlainReferenceImplementation) {
  const Scenario s = load_scenario(job_path);
  const Catalogue catalogue = make_catalogue(s);
  const Simulator simulator(s, catalogue);
  constexpr int auctions = 200000;
  const ReferenceMeans ref = reference_run(s, catalogue, auctions);
  RoundStats stats(s.bidders);
  simulator.simulate(0, {0, auctions}, stats);
  double revenue = 0, ctr = 0, clicks = 0;
  for (const BidderTotals& t : stats.bidders) {
    revenue += t.spend;
    ctr += t.ctr_sum;
    clicks += static_cast<double>(t.clicks);
  }
  const double n = auctions;
  const auto se = [n](double sum, double squares) { return std::sqrt((squares / n - (sum / n) * (sum / n)) / n); };
  const double revenue_se = se(ref.revenue, ref.revenue_sq);
  const double ctr_se = se(ref.ctr, ref.ctr_sq);
  // Two independent samples of equal size: the difference's SE is sqrt(2) x one SE.
  EXPECT_NEAR(revenue / n, ref.revenue / n, 5 * std::sqrt(2.0) * revenue_se);
  EXPECT_NEAR(ctr / n, ref.ctr / n, 5 * std::sqrt(2.0) * ctr_se);
  EXPECT_NEAR(clicks / n, ref.clicks / n, 5 * std::sqrt(2.0 * 0.25 / n));
  for (int b = 0; b < s.bidders; ++b) {
    const double p = ref.wins[static_cast<std::size_t>(b)] / n;
    EXPECT_NEAR(static_cast<double>(stats.bidders[static_cast<std::size_t>(b)].wins) / n, p,
                5 * std::sqrt(2.0 * p * (1 - p) / n));
  }
  // The oracle picks high-CTR items: the shown ad's mean CTR is far above a random item's 0.106.
  EXPECT_GT(ctr / n, 0.2);
}

TEST(AuctionGymStatistics, AuctionsAreIndependentOfHowTheyAreSplit) {
  const Scenario s = load_scenario(job_path);
  const Simulator simulator(s, make_catalogue(s));
  RoundStats whole(s.bidders);
  simulator.simulate(7, {0, 30000}, whole);
  for (std::int64_t cut : {1, 9999, 17123}) {
    RoundStats split(s.bidders);
    simulator.simulate(7, {0, cut}, split);
    simulator.simulate(7, {cut, 30000}, split);
    EXPECT_EQ(split.auctions, whole.auctions);
    for (std::size_t b = 0; b < whole.bidders.size(); ++b) {
      const BidderTotals& x = whole.bidders[b];
      const BidderTotals& y = split.bidders[b];
      // Counts exactly; sums up to the rounding of one extra addition.
      EXPECT_EQ(x.participations, y.participations);
      EXPECT_EQ(x.wins, y.wins);
      EXPECT_EQ(x.clicks, y.clicks);
      EXPECT_NEAR(x.spend, y.spend, 1e-12 * x.spend);
      EXPECT_NEAR(x.gross_utility, y.gross_utility, 1e-12 * x.gross_utility);
      EXPECT_NEAR(x.bid_sum, y.bid_sum, 1e-12 * x.bid_sum);
    }
  }
}

TEST(AuctionGymStatistics, RoundSumsAreTheBlockSumsInBlockOrder) {
  Scenario s = load_scenario(job_path);
  s.auctions_per_round = 5000;
  s.blocks_per_round = 7;
  const Simulator simulator(s, make_catalogue(s));
  SerialCollectives serial;
  const RoundStats round = simulate_round(s, simulator, 3, serial);
  RoundStats expected(s.bidders);
  for (int block = 0; block < s.blocks_per_round; ++block) {
    RoundStats part(s.bidders);
    simulator.simulate(3, auction_block(s, block), part);
    expected += part;
  }
  EXPECT_EQ(round.auctions, 5000);
  EXPECT_TRUE(same_bits(round, expected));
}

}  // namespace
}  // namespace manyworlds::auctiongym
