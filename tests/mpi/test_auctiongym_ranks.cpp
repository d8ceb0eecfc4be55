// Under real mpirun: the AuctionGym scenario's per-round statistics and output file are identical for 1-4 ranks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/mpi/collectives/broadcast.hpp>
#include <boost/mpi/communicator.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "manyworlds/app/auctiongym_command.hpp"
#include "manyworlds/io/auctiongym_file.hpp"
#include "manyworlds/io/hdf5.hpp"
#include "manyworlds/parallel/mpi_collectives.hpp"
#include "manyworlds/scenarios/auctiongym/round.hpp"

namespace manyworlds::auctiongym {
namespace {

namespace fs = std::filesystem;

// 10007 auctions in 7 blocks: neither divides evenly over 2, 3 or 4 ranks.
const std::string job_text =
    "[run]\nname = \"ranks\"\nseed = 424242\nrounds = 3\nauctions_per_round = 10007\nblocks_per_round = 7\n"
    "[market]\nbidders = 6\nitems_per_bidder = 12\nembedding_dimensions = 5\nobserved_dimensions = 4\n"
    "participants_per_auction = 2\n";

bool same_bits(const RoundStats& a, const RoundStats& b) {
  return a.auctions == b.auctions && a.bidders.size() == b.bidders.size() &&
         std::memcmp(a.bidders.data(), b.bidders.data(), a.bidders.size() * sizeof(BidderTotals)) == 0;
}

// The rounds as one process computes them (SerialCollectives: all blocks on one rank).
std::vector<RoundStats> serial_rounds(const Scenario& scenario, const Simulator& simulator) {
  SerialCollectives serial;
  std::vector<RoundStats> rounds;
  for (int round = 0; round < scenario.rounds; ++round)
    rounds.push_back(simulate_round(scenario, simulator, static_cast<std::uint32_t>(round), serial));
  return rounds;
}

TEST(AuctionGymRanks, RoundStatisticsAreIdenticalForEveryRankCount) {
  const boost::mpi::communicator world;
  const Scenario scenario = parse_scenario(job_text, "ranks.toml");
  const Simulator simulator(scenario, make_catalogue(scenario));
  const std::vector<RoundStats> expected = serial_rounds(scenario, simulator);
  // Communicators of the first k ranks, k = 1 .. size: each computes every round through MPI.
  for (int ranks = 1; ranks <= world.size(); ++ranks) {
    const boost::mpi::communicator part = world.split(world.rank() < ranks ? 0 : 1);
    if (world.rank() >= ranks) continue;
    MpiCollectives collectives(part);
    for (int round = 0; round < scenario.rounds; ++round) {
      const RoundStats stats = simulate_round(scenario, simulator, static_cast<std::uint32_t>(round), collectives);
      if (collectives.is_root()) {
        EXPECT_TRUE(same_bits(stats, expected[static_cast<std::size_t>(round)]))
            << "round " << round << " differs on " << ranks << " ranks";
      } else {
        EXPECT_EQ(stats.auctions, 0);
      }
    }
  }
}

TEST(AuctionGymRanks, CommandWritesTheSameStatisticsForEveryRankCount) {
  const boost::mpi::communicator world;
  const char* configured = std::getenv("MANYWORLDS_TEST_TMP");
  const fs::path directory =
      configured != nullptr && *configured != '\0' ? fs::path(configured) : fs::temp_directory_path();
  long pid = static_cast<long>(::getpid());
  boost::mpi::broadcast(world, pid, 0);
  const fs::path job =
      directory / ("auctiongym_" + std::to_string(world.size()) + "ranks_" + std::to_string(pid) + ".toml");
  const fs::path output = fs::path(job).replace_extension(".h5");
  if (world.rank() == 0) {
    fs::create_directories(directory);
    std::ofstream(job) << job_text;
  }
  world.barrier();

  std::ostringstream log;
  ASSERT_EQ(auctiongym_command(job.string(), output.string(), false, {}, log), 0);
  // A second run without --force refuses to replace the file (exit code 4 on every rank).
  EXPECT_EQ(auctiongym_command(job.string(), output.string(), false, {}, log), 4);
  if (world.rank() == 0) {
    EXPECT_NE(log.str().find("round 3/3"), std::string::npos) << log.str();
    EXPECT_FALSE(fs::exists(output.string() + ".partial"));
    const Scenario scenario = parse_scenario(job_text, "ranks.toml");
    const std::vector<RoundStats> expected = serial_rounds(scenario, Simulator(scenario, make_catalogue(scenario)));
    const h5::File file = h5::File::open_read(output.string());
    const h5::Group root = file.root();
    EXPECT_EQ(root.read_attribute<std::string>("format"), auctiongym_format_name);
    EXPECT_EQ(root.read_attribute<std::int64_t>("format_version"), auctiongym_format_version);
    EXPECT_EQ(root.read_attribute<std::int64_t>("seed"), 424242);
    EXPECT_EQ(root.read_attribute<std::string>("job_text"), job_text);
    EXPECT_EQ(root.open_group("runtime").read_attribute<std::int64_t>("ranks"), world.size());
    EXPECT_EQ(root.open_dataset("rounds/spend").read_attribute<std::string>("units"), "currency");
    EXPECT_EQ(root.open_dataset("rounds/auctions").read_all<std::int64_t>(), (std::vector<std::int64_t>(3, 10007)));
    const std::vector<std::int64_t> wins = root.open_dataset("rounds/wins").read_all<std::int64_t>();
    const std::vector<double> spend = root.open_dataset("rounds/spend").read_all<double>();
    const std::vector<double> gross = root.open_dataset("rounds/gross_utility").read_all<double>();
    const std::vector<double> revenue = root.open_dataset("rounds/revenue").read_all<double>();
    ASSERT_EQ(wins.size(), 18u);
    for (std::size_t round = 0; round < 3; ++round) {
      double round_revenue = 0;
      for (std::size_t b = 0; b < 6; ++b) {
        const BidderTotals& t = expected[round].bidders[b];
        EXPECT_EQ(wins[round * 6 + b], t.wins);
        EXPECT_EQ(spend[round * 6 + b], t.spend);  // exact: same sums in the same order
        EXPECT_EQ(gross[round * 6 + b], t.gross_utility);
        round_revenue += t.spend;
      }
      EXPECT_EQ(revenue[round], round_revenue);
    }
    fs::remove(output);
    fs::remove(job);
  }
  world.barrier();
}

// `manyworlds auctiongym --seed S --rounds R`: the file records the overridden values and holds
// exactly the statistics of the scenario with them; out-of-range values are refused.
TEST(AuctionGymRanks, CommandOverridesTheSeedAndTheRounds) {
  const boost::mpi::communicator world;
  const char* configured = std::getenv("MANYWORLDS_TEST_TMP");
  const fs::path directory =
      configured != nullptr && *configured != '\0' ? fs::path(configured) : fs::temp_directory_path();
  long pid = static_cast<long>(::getpid());
  boost::mpi::broadcast(world, pid, 0);
  const fs::path job =
      directory / ("auctiongym_overrides_" + std::to_string(world.size()) + "_" + std::to_string(pid) + ".toml");
  const fs::path output = fs::path(job).replace_extension(".h5");
  if (world.rank() == 0) {
    fs::create_directories(directory);
    std::ofstream(job) << job_text;
  }
  world.barrier();

  ScenarioOverrides overrides;
  overrides.seed = 777;
  overrides.rounds = 2;
  std::ostringstream log;
  ASSERT_EQ(auctiongym_command(job.string(), output.string(), false, overrides, log), 0);
  if (world.rank() == 0) {
    Scenario scenario = parse_scenario(job_text, "overrides.toml");
    scenario.seed = 777;
    scenario.rounds = 2;
    const std::vector<RoundStats> expected = serial_rounds(scenario, Simulator(scenario, make_catalogue(scenario)));
    const h5::File file = h5::File::open_read(output.string());
    const h5::Group root = file.root();
    EXPECT_EQ(root.read_attribute<std::int64_t>("seed"), 777);
    EXPECT_EQ(root.read_attribute<std::int64_t>("rounds"), 2);
    const std::vector<std::int64_t> wins = root.open_dataset("rounds/wins").read_all<std::int64_t>();
    ASSERT_EQ(wins.size(), 12u);
    for (std::size_t round = 0; round < 2; ++round)
      for (std::size_t b = 0; b < 6; ++b) EXPECT_EQ(wins[round * 6 + b], expected[round].bidders[b].wins);
    fs::remove(output);
  }
  world.barrier();
  ScenarioOverrides bad;
  bad.seed = max_seed + 1;
  EXPECT_EQ(auctiongym_command(job.string(), output.string(), false, bad, log), 3);
  bad = {};
  bad.rounds = max_rounds + 1;
  EXPECT_EQ(auctiongym_command(job.string(), output.string(), false, bad, log), 3);
  if (world.rank() == 0) {
    EXPECT_FALSE(fs::exists(output));
    EXPECT_EQ(with_overrides(parse_scenario(job_text, "x.toml"), {}).seed, 424242u);
    fs::remove(job);
  }
  world.barrier();
}

}  // namespace
}  // namespace manyworlds::auctiongym
