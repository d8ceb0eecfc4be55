// One AuctionGym round: every rank simulates its summation blocks, rank 0 adds the gathered block sums in block order.
#include "manyworlds/scenarios/auctiongym/round.hpp"

#include <string>
#include <vector>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/partition.hpp"

namespace manyworlds {

using auctiongym::BidderTotals;
using auctiongym::RoundStats;
using auctiongym::Scenario;
using auctiongym::Simulator;

RoundStats simulate_round(const Scenario& scenario, const Simulator& simulator, std::uint32_t round,
                          Collectives& collectives) {
  const auto bidders = static_cast<std::size_t>(scenario.bidders);
  const IdRange blocks = block_of(scenario.blocks_per_round, collectives.size(), collectives.rank());
  std::vector<BidderTotals> local;
  local.reserve(static_cast<std::size_t>(blocks.size()) * bidders);
  for (std::int64_t block = blocks.begin; block < blocks.end; ++block) {
    RoundStats stats(scenario.bidders);
    simulator.simulate(round, auctiongym::auction_block(scenario, static_cast<int>(block)), stats);
    local.insert(local.end(), stats.bidders.begin(), stats.bidders.end());
  }
  const std::vector<BidderTotals> gathered = collectives.gather(local);
  RoundStats total(scenario.bidders);
  if (!collectives.is_root()) return total;
  if (gathered.size() != static_cast<std::size_t>(scenario.blocks_per_round) * bidders)
    throw RuntimeFailure("auctiongym: rank 0 gathered " + std::to_string(gathered.size()) + " block sums, expected " +
                         std::to_string(static_cast<std::size_t>(scenario.blocks_per_round) * bidders));
  for (int block = 0; block < scenario.blocks_per_round; ++block) {
    for (std::size_t b = 0; b < bidders; ++b)
      total.bidders[b] += gathered[static_cast<std::size_t>(block) * bidders + b];
    total.auctions += auctiongym::auction_block(scenario, block).size();
  }
  return total;
}

RoundTotals totals_of(const RoundStats& stats) {
  RoundTotals totals;
  for (const BidderTotals& bidder : stats.bidders) {
    totals.revenue += bidder.spend;
    totals.welfare += bidder.gross_utility;
    totals.surplus += bidder.gross_utility - bidder.spend;
    totals.expected_welfare += bidder.expected_gross_utility;
  }
  return totals;
}

}  // namespace manyworlds
