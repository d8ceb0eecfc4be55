// The auctiongym command: rank 0 parses, all ranks simulate rank-independent blocks, rank 0 sums them, HDF5 output.
#include "manyworlds/app/auctiongym_command.hpp"

#include <algorithm>
#include <boost/mpi/communicator.hpp>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "manyworlds/app/command_support.hpp"
#include "manyworlds/app/progress.hpp"
#include "manyworlds/app/serialization.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/io/auctiongym_file.hpp"
#include "manyworlds/parallel/broadcast_object.hpp"
#include "manyworlds/parallel/mpi_collectives.hpp"
#include "manyworlds/scenarios/auctiongym/round.hpp"

namespace manyworlds {

using auctiongym::BidderTotals;
using auctiongym::Catalogue;
using auctiongym::RoundStats;
using auctiongym::Scenario;
using auctiongym::Simulator;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// ---- the run --------------------------------------------------------------------------------

std::string round_line(int round, int rounds, const RoundStats& stats, double seconds, int ranks, double eta) {
  const RoundTotals totals = totals_of(stats);
  std::int64_t clicks = 0;
  for (const BidderTotals& bidder : stats.bidders) clicks += bidder.clicks;
  const double auctions = static_cast<double>(stats.auctions);
  const double rate = auctions / std::max(seconds, 1e-9);
  std::ostringstream line;
  line << "round " << round + 1 << "/" << rounds << "  " << human_count(rate) << " auctions/s ("
       << human_count(rate / ranks) << "/s per rank)  per auction: revenue " << std::setprecision(4)
       << totals.revenue / auctions << " welfare " << totals.welfare / auctions << " surplus "
       << totals.surplus / auctions << "  CTR " << static_cast<double>(clicks) / auctions << "  ETA "
       << human_duration(eta);
  return line.str();
}

void run(const Scenario& scenario, const std::string& output, const boost::mpi::communicator& world,
         std::ostream& log) {
  const Clock::time_point start = Clock::now();
  MpiCollectives collectives(world);
  const bool root = collectives.is_root();
  const int ranks = collectives.size();
  const Catalogue catalogue = auctiongym::make_catalogue(scenario);
  const Simulator simulator(scenario, catalogue);
  ProgressLog progress(log, root, 0, scenario.rounds);
  progress.info("manyworlds " MANYWORLDS_VERSION " auctiongym: job '" + scenario.name + "' (" + scenario.file + "), " +
                std::to_string(scenario.rounds) + " rounds of " + std::to_string(scenario.auctions_per_round) +
                " auctions on " + std::to_string(ranks) + " ranks, seed " + std::to_string(scenario.seed) +
                ", vector code " + to_string(simulator.isa()));
  if (ranks > scenario.blocks_per_round)
    progress.info("warning: " + std::to_string(ranks - scenario.blocks_per_round) +
                  " ranks have no work: raise run.blocks_per_round to at least the number of ranks");
  const std::string partial = output + ".partial";
  AuctionGymFile file(partial, collectives.raw_comm(), root, scenario, catalogue, ranks, simulator.isa());
  progress.info("writing " + partial + " (renamed to " + output + " when complete)");

  RoundStats all_rounds(scenario.bidders);
  for (int round = 0; round < scenario.rounds; ++round) {
    Clock::time_point phase = Clock::now();
    const RoundStats stats = simulate_round(scenario, simulator, static_cast<std::uint32_t>(round), collectives);
    const double round_seconds = seconds_since(phase);
    phase = Clock::now();
    file.write_round(round, stats);
    const double write_seconds = seconds_since(phase);
    const double rate = static_cast<double>(scenario.auctions_per_round) / std::max(round_seconds, 1e-9);
    file.write_runtime(round, round_seconds, write_seconds, rate);
    if (root) {
      all_rounds += stats;
      const double elapsed = seconds_since(start);
      progress.info(round_line(round, scenario.rounds, stats, round_seconds, ranks,
                               elapsed / (round + 1) * (scenario.rounds - round - 1)));
    }
  }
  double total_seconds = seconds_since(start);
  collectives.broadcast(total_seconds);
  file.close(total_seconds);
  collectives.barrier();
  if (root) std::filesystem::rename(partial, output);
  collectives.barrier();

  if (root) {
    const RoundTotals totals = totals_of(all_rounds);
    std::int64_t clicks = 0;
    for (const BidderTotals& bidder : all_rounds.bidders) clicks += bidder.clicks;
    const double auctions = static_cast<double>(all_rounds.auctions);
    std::cout << "output: " << std::filesystem::absolute(output).string() << "\n"
              << "rounds: " << scenario.rounds << ", auctions: " << all_rounds.auctions
              << ", wall time: " << total_seconds << " s on " << ranks << " ranks (vector code "
              << to_string(simulator.isa()) << ")\n"
              << "per auction: revenue " << totals.revenue / auctions << ", welfare " << totals.welfare / auctions
              << ", surplus " << totals.surplus / auctions << ", clicks " << static_cast<double>(clicks) / auctions
              << std::endl;
  }
}

}  // namespace

Scenario with_overrides(Scenario scenario, const ScenarioOverrides& overrides) {
  if (overrides.seed) {
    if (*overrides.seed > max_seed)
      throw InputError("command line: --seed " + std::to_string(*overrides.seed) + " is above the largest seed " +
                       std::to_string(max_seed) + " (2^48 - 1); use a smaller seed");
    scenario.seed = *overrides.seed;
  }
  if (overrides.rounds) {
    if (*overrides.rounds < 1 || *overrides.rounds > auctiongym::max_rounds)
      throw InputError("command line: --rounds " + std::to_string(*overrides.rounds) + " is outside 1 .. " +
                       std::to_string(auctiongym::max_rounds));
    scenario.rounds = static_cast<int>(*overrides.rounds);
  }
  return scenario;
}

int auctiongym_command(const std::string& job, const std::string& output, bool force,
                       const ScenarioOverrides& overrides, std::ostream& log) {
  return mpi_command([&](const boost::mpi::communicator& world) {
    Scenario scenario;
    std::string path;
    agreed(world, [&] {
      if (world.rank() != 0) return;
      scenario = with_overrides(auctiongym::load_scenario(job), overrides);
      path = output.empty() ? auctiongym::default_output_path(scenario) : output;
      check_output_path(path, force);
    });
    agreed(world, [&] {
      broadcast_object(world, scenario);
      broadcast_object(world, path);
    });
    run(scenario, path, world, log);
    return static_cast<int>(ExitCode::ok);
  });
}

}  // namespace manyworlds
