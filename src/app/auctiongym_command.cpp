// The auctiongym command: rank 0 parses, all ranks simulate rank-independent blocks, rank 0 sums them, HDF5 output.
#include "manyworlds/app/auctiongym_command.hpp"

#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <vector>

#include <boost/mpi/communicator.hpp>

#include "manyworlds/app/command_support.hpp"
#include "manyworlds/app/progress.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/core/partition.hpp"
#include "manyworlds/io/hdf5.hpp"
#include "manyworlds/parallel/broadcast_object.hpp"
#include "manyworlds/parallel/mpi_collectives.hpp"

namespace manyworlds {

using auctiongym::BidderTotals;
using auctiongym::Catalogue;
using auctiongym::RoundStats;
using auctiongym::Scenario;
using auctiongym::Simulator;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// ---- the output file ------------------------------------------------------------------------

// A per-bidder count or sum of the /rounds group.
struct CountColumn {
  const char* name;
  const char* description;
  std::int64_t BidderTotals::*member;
};
struct SumColumn {
  const char* name;
  const char* description;
  double (*value)(const BidderTotals&);
};

const std::vector<CountColumn>& count_columns() {
  static const std::vector<CountColumn> columns{
      {"participations", "auctions the bidder took part in (AuctionGym: len(agent.logs))", &BidderTotals::participations},
      {"wins", "impressions won", &BidderTotals::wins},
      {"clicks", "clicks on won impressions", &BidderTotals::clicks},
  };
  return columns;
}

const std::vector<SumColumn>& sum_columns() {
  static const std::vector<SumColumn> columns{
      {"spend", "sum of prices paid (second price, per impression)", [](const BidderTotals& t) { return t.spend; }},
      {"gross_utility", "sum of value x click (AuctionGym: agent.gross_utility)",
       [](const BidderTotals& t) { return t.gross_utility; }},
      {"net_utility", "gross_utility - spend (AuctionGym: agent.net_utility)",
       [](const BidderTotals& t) { return t.gross_utility - t.spend; }},
      {"expected_gross_utility", "sum of value x true CTR over won impressions",
       [](const BidderTotals& t) { return t.expected_gross_utility; }},
      {"bid_sum", "sum of bids = sum of max over items of value x true CTR (AuctionGym: best_expected_value)",
       [](const BidderTotals& t) { return t.bid_sum; }},
      {"ctr_sum", "sum of the true CTR of won impressions", [](const BidderTotals& t) { return t.ctr_sum; }},
      {"underbid_regret", "AuctionGym's get_underbid_regret(): 0 for truthful bidders in a second-price auction",
       [](const BidderTotals& t) { return t.underbid_regret; }},
  };
  return columns;
}

// The market-wide per-round sums (AuctionGym's main.py: Auction Revenue, Social Welfare, Social Surplus).
struct RoundTotals {
  double revenue = 0;
  double welfare = 0;
  double surplus = 0;
  double expected_welfare = 0;
};

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

// The run's HDF5 file: attributes, the catalogue, one row per round, wall-clock figures apart.
// Every member is collective; rank 0's values are the ones written.
class AuctionGymFile {
 public:
  AuctionGymFile(const std::string& path, MPI_Comm comm, bool root, const Scenario& scenario,
                 const Catalogue& catalogue, int ranks, VectorIsa isa)
      : file_(h5::File::create_parallel(path, comm)), root_(root), bidders_(scenario.bidders) {
    const h5::Group root_group = file_.root();
    root_group.write_attribute("format", auctiongym_format_name);
    root_group.write_attribute("format_version", auctiongym_format_version);
    root_group.write_attribute("program_version", MANYWORLDS_VERSION);
    root_group.write_attribute("job_name", scenario.name);
    root_group.write_attribute("job_file", scenario.file);
    root_group.write_attribute("job_text", scenario.text);
    root_group.write_attribute("seed", static_cast<std::int64_t>(scenario.seed));
    root_group.write_attribute("rounds", scenario.rounds);
    root_group.write_attribute("auctions_per_round", scenario.auctions_per_round);
    root_group.write_attribute("blocks_per_round", scenario.blocks_per_round);
    root_group.write_attribute("bidders", scenario.bidders);
    root_group.write_attribute("items_per_bidder", scenario.items_per_bidder);
    root_group.write_attribute("embedding_dimensions", scenario.dimensions);
    root_group.write_attribute("observed_dimensions", scenario.observed_dimensions);
    root_group.write_attribute("participants_per_auction", scenario.participants);
    root_group.write_attribute("embedding_sd", scenario.embedding_sd);
    root_group.write_attribute("intercept_min", scenario.intercept_min);
    root_group.write_attribute("intercept_max", scenario.intercept_max);
    root_group.write_attribute("value_log_mean", scenario.value_log_mean);
    root_group.write_attribute("value_log_sd", scenario.value_log_sd);
    root_group.write_attribute("catalogue_source", scenario.values.empty() ? "drawn from the seed" : "the job file");
    root_group.write_attribute("mechanism",
                               "one slot, second price, pay per impression; truthful oracle bidders (bid = value x true CTR)");
    std::vector<std::string> names;
    for (int b = 0; b < scenario.bidders; ++b) names.push_back("Truthful Oracle " + std::to_string(b + 1));
    root_group.write_attribute("bidder_names", names);

    const auto bidders = static_cast<std::uint64_t>(scenario.bidders);
    const auto items = static_cast<std::uint64_t>(scenario.items_per_bidder);
    const h5::Group items_group = root_group.create_group("catalogue");
    items_group.write_attribute("description", "every bidder's items; axis 0 = bidder, axis 1 = item");
    write_whole(items_group, "embeddings", {bidders, items, static_cast<std::uint64_t>(scenario.dimensions)},
                catalogue.embeddings, "1", "item embeddings (the context's entry d multiplies entry d)");
    write_whole(items_group, "intercepts", {bidders, items}, catalogue.intercepts, "1",
                "item intercepts (they multiply the context's constant 1)");
    write_whole(items_group, "values", {bidders, items}, catalogue.values, "currency", "value of a click on the item");

    const auto rounds = static_cast<std::uint64_t>(scenario.rounds);
    const h5::Group rounds_group = root_group.create_group("rounds");
    rounds_group.write_attribute("description",
                                 "per-round sums identical for any rank count; axis 0 = round, axis 1 = bidder");
    add(rounds_group, "auctions", h5::ElementType::int64, {rounds}, "1", "auctions simulated in the round");
    for (const CountColumn& column : count_columns())
      add(rounds_group, column.name, h5::ElementType::int64, {rounds, bidders}, "1", column.description);
    for (const SumColumn& column : sum_columns())
      add(rounds_group, column.name, h5::ElementType::float64, {rounds, bidders},
          std::string(column.name) == "ctr_sum" ? "1" : "currency", column.description);
    add(rounds_group, "revenue", h5::ElementType::float64, {rounds}, "currency",
        "sum of spend over bidders (AuctionGym: Auction Revenue)");
    add(rounds_group, "welfare", h5::ElementType::float64, {rounds}, "currency",
        "sum of gross_utility over bidders (AuctionGym: Social Welfare)");
    add(rounds_group, "surplus", h5::ElementType::float64, {rounds}, "currency",
        "sum of net_utility over bidders (AuctionGym: Social Surplus)");
    add(rounds_group, "expected_welfare", h5::ElementType::float64, {rounds}, "currency",
        "sum of expected_gross_utility over bidders");

    const h5::Group runtime = root_group.create_group("runtime");
    runtime.write_attribute("description", "wall-clock figures of this launch: they depend on the machine and the ranks");
    runtime.write_attribute("ranks", ranks);
    runtime.write_attribute("vector_isa", to_string(isa));
    add(runtime, "round_seconds", h5::ElementType::float64, {rounds}, "seconds",
        "wall-clock time of the round's simulation and reduction (rank 0)");
    add(runtime, "write_seconds", h5::ElementType::float64, {rounds}, "seconds", "wall-clock time of writing the round");
    add(runtime, "auctions_per_second", h5::ElementType::float64, {rounds}, "1/s", "auctions / round_seconds (all ranks)");
  }

  void write_round(int round, const RoundStats& stats) {
    std::vector<std::int64_t> counts;
    std::vector<double> sums;
    write_scalar("rounds/auctions", round, stats.auctions);
    for (const CountColumn& column : count_columns()) {
      counts.clear();
      for (const BidderTotals& bidder : stats.bidders) counts.push_back(bidder.*column.member);
      write_row("rounds/" + std::string(column.name), round, counts);
    }
    for (const SumColumn& column : sum_columns()) {
      sums.clear();
      for (const BidderTotals& bidder : stats.bidders) sums.push_back(column.value(bidder));
      write_row("rounds/" + std::string(column.name), round, sums);
    }
    const RoundTotals totals = totals_of(stats);
    write_scalar("rounds/revenue", round, totals.revenue);
    write_scalar("rounds/welfare", round, totals.welfare);
    write_scalar("rounds/surplus", round, totals.surplus);
    write_scalar("rounds/expected_welfare", round, totals.expected_welfare);
  }

  void write_runtime(int round, double round_seconds, double write_seconds, double auctions_per_second) {
    write_scalar("runtime/round_seconds", round, round_seconds);
    write_scalar("runtime/write_seconds", round, write_seconds);
    write_scalar("runtime/auctions_per_second", round, auctions_per_second);
  }

  // `total_seconds` must be the same on every rank (attributes are collective metadata).
  void close(double total_seconds) {
    file_.root().open_group("runtime").write_attribute("total_seconds", total_seconds);
    datasets_.clear();
    file_.close();
  }

 private:
  void write_whole(const h5::Group& group, const std::string& name, const h5::Dims& dims,
                   const std::vector<double>& values, const std::string& unit, const std::string& description) const {
    const h5::Dataset dataset = group.create_dataset<double>(name, dims);
    dataset.set_units(unit);
    dataset.write_attribute("description", description);
    h5::Dims count = dims;
    if (!root_) count[0] = 0;
    dataset.write_rows_at<double>(h5::Dims(dims.size(), 0), count,
                                  root_ ? std::span<const double>(values) : std::span<const double>());
  }

  void add(const h5::Group& group, const std::string& name, h5::ElementType type, const h5::Dims& dims,
           const std::string& unit, const std::string& description) {
    h5::Dataset dataset = type == h5::ElementType::int64 ? group.create_dataset<std::int64_t>(name, dims)
                                                         : group.create_dataset<double>(name, dims);
    dataset.set_units(unit);
    dataset.write_attribute("description", description);
    datasets_.emplace(group.path() == "/" ? name : group.path().substr(1) + "/" + name, std::move(dataset));
  }

  template <class T>
  void write_row(const std::string& name, int round, const std::vector<T>& row) const {
    const auto width = static_cast<std::uint64_t>(bidders_);
    datasets_.at(name).write_rows_at<T>({static_cast<std::uint64_t>(round), 0}, {root_ ? 1u : 0u, width},
                                        root_ ? std::span<const T>(row) : std::span<const T>());
  }

  template <class T>
  void write_scalar(const std::string& name, int round, T value) const {
    datasets_.at(name).write_rows_at<T>({static_cast<std::uint64_t>(round)}, {root_ ? 1u : 0u},
                                        root_ ? std::span<const T>(&value, 1) : std::span<const T>());
  }

  h5::File file_;
  bool root_;
  int bidders_;
  std::map<std::string, h5::Dataset> datasets_;  // "rounds/wins", "runtime/round_seconds", ...
};

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

void run(const Scenario& scenario, const std::string& output, const boost::mpi::communicator& world, std::ostream& log) {
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
              << "rounds: " << scenario.rounds << ", auctions: " << all_rounds.auctions << ", wall time: " << total_seconds
              << " s on " << ranks << " ranks (vector code " << to_string(simulator.isa()) << ")\n"
              << "per auction: revenue " << totals.revenue / auctions << ", welfare " << totals.welfare / auctions
              << ", surplus " << totals.surplus / auctions << ", clicks " << static_cast<double>(clicks) / auctions
              << std::endl;
  }
}

}  // namespace

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
    for (std::size_t b = 0; b < bidders; ++b) total.bidders[b] += gathered[static_cast<std::size_t>(block) * bidders + b];
    total.auctions += auctiongym::auction_block(scenario, block).size();
  }
  return total;
}

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
