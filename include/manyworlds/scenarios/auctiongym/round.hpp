// One AuctionGym round over the ranks: rank-independent summation blocks, summed on rank 0 in block order.
#pragma once

#include <cstdint>

#include "manyworlds/core/collectives.hpp"
#include "manyworlds/scenarios/auctiongym/scenario.hpp"

namespace manyworlds {

// Collective: simulates round `round` on the ranks of `collectives`. Rank r simulates the
// summation blocks block_of(blocks_per_round, ranks, r), each summed in auction order; rank 0
// gathers the blocks' sums and adds them in block order. So rank 0's result is identical, bit for
// bit, for any number of ranks; the other ranks return empty statistics. Bytes moved per round:
// O(blocks_per_round x bidders), independent of the number of auctions.
auctiongym::RoundStats simulate_round(const auctiongym::Scenario& scenario, const auctiongym::Simulator& simulator,
                                      std::uint32_t round, Collectives& collectives);

// The market-wide per-round sums (AuctionGym's main.py: Auction Revenue, Social Welfare, Social Surplus).
struct RoundTotals {
  double revenue = 0;
  double welfare = 0;
  double surplus = 0;
  double expected_welfare = 0;
};

RoundTotals totals_of(const auctiongym::RoundStats& stats);

}  // namespace manyworlds
