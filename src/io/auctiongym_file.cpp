// The AuctionGym scenario's HDF5 file: attributes, the catalogue, one row per round, wall-clock figures apart.
#include "manyworlds/io/auctiongym_file.hpp"

#include <span>
#include <string>
#include <utility>

namespace manyworlds {

using auctiongym::BidderTotals;
using auctiongym::Catalogue;
using auctiongym::RoundStats;
using auctiongym::Scenario;

namespace {

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
      {"participations", "auctions the bidder took part in (AuctionGym: len(agent.logs))",
       &BidderTotals::participations},
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

}  // namespace

AuctionGymFile::AuctionGymFile(const std::string& path, MPI_Comm comm, bool root, const Scenario& scenario,
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
  root_group.write_attribute(
      "mechanism", "one slot, second price, pay per impression; truthful oracle bidders (bid = value x true CTR)");
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
  add(runtime, "auctions_per_second", h5::ElementType::float64, {rounds}, "1/s",
      "auctions / round_seconds (all ranks)");
}

void AuctionGymFile::write_round(int round, const RoundStats& stats) {
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

void AuctionGymFile::write_runtime(int round, double round_seconds, double write_seconds, double auctions_per_second) {
  write_scalar("runtime/round_seconds", round, round_seconds);
  write_scalar("runtime/write_seconds", round, write_seconds);
  write_scalar("runtime/auctions_per_second", round, auctions_per_second);
}

void AuctionGymFile::close(double total_seconds) {
  file_.root().open_group("runtime").write_attribute("total_seconds", total_seconds);
  datasets_.clear();
  file_.close();
}

void AuctionGymFile::write_whole(const h5::Group& group, const std::string& name, const h5::Dims& dims,
                                 const std::vector<double>& values, const std::string& unit,
                                 const std::string& description) const {
  const h5::Dataset dataset = group.create_dataset<double>(name, dims);
  dataset.set_units(unit);
  dataset.write_attribute("description", description);
  h5::Dims count = dims;
  if (!root_) count[0] = 0;
  dataset.write_rows_at<double>(h5::Dims(dims.size(), 0), count,
                                root_ ? std::span<const double>(values) : std::span<const double>());
}

void AuctionGymFile::add(const h5::Group& group, const std::string& name, h5::ElementType type, const h5::Dims& dims,
                         const std::string& unit, const std::string& description) {
  h5::Dataset dataset = type == h5::ElementType::int64 ? group.create_dataset<std::int64_t>(name, dims)
                                                       : group.create_dataset<double>(name, dims);
  dataset.set_units(unit);
  dataset.write_attribute("description", description);
  datasets_.emplace(group.path() == "/" ? name : group.path().substr(1) + "/" + name, std::move(dataset));
}

template <class T>
void AuctionGymFile::write_row(const std::string& name, int round, const std::vector<T>& row) const {
  const auto width = static_cast<std::uint64_t>(bidders_);
  datasets_.at(name).write_rows_at<T>({static_cast<std::uint64_t>(round), 0}, {root_ ? 1u : 0u, width},
                                      root_ ? std::span<const T>(row) : std::span<const T>());
}

template <class T>
void AuctionGymFile::write_scalar(const std::string& name, int round, T value) const {
  datasets_.at(name).write_rows_at<T>({static_cast<std::uint64_t>(round)}, {root_ ? 1u : 0u},
                                      root_ ? std::span<const T>(&value, 1) : std::span<const T>());
}

}  // namespace manyworlds
