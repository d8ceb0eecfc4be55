// Writing worlds' parameters into a group of a parallel HDF5 file (shared by run and evaluation outputs).
#include "manyworlds/io/world_parameters.hpp"

#include <functional>

#include "manyworlds/parallel/mpi_error.hpp"

namespace manyworlds {

namespace {

using h5::Dims;

// A per-world parameter column and how to read it from WorldParams.
struct WorldColumn {
  const char* name;
  const char* unit;
  const char* description;
  std::function<double(const WorldParams&)> value;
};

std::vector<WorldColumn> world_columns(const Priors& priors) {
  const int crisis = priors.crisis_segment();
  const int ios = priors.ios_device;
  return {
      {"users", "1", "users in the population", [](const WorldParams& w) { return w.users; }},
      {"competitor_count", "1", "competitors bidding",
       [](const WorldParams& w) { return static_cast<double>(w.competitors.size()); }},
      {"crisis_share", "1", "share of crisis-segment users (drawn)",
       [crisis](const WorldParams& w) { return w.segment_share[crisis]; }},
      {"ios_share", "1", "share of iOS users (drawn)", [ios](const WorldParams& w) { return w.device_share[ios]; }},
      {"traffic", "1", "session-rate multiplier", [](const WorldParams& w) { return w.traffic; }},
      {"bid_level", "1", "market price level", [](const WorldParams& w) { return w.bid_level; }},
      {"reserve_price", "currency", "reserve price per click", [](const WorldParams& w) { return w.reserve_price; }},
      {"agent_quality", "1", "agent's base quality score", [](const WorldParams& w) { return w.agent_quality; }},
      {"ctr_level", "1", "click-through multiplier", [](const WorldParams& w) { return w.ctr_level; }},
      {"cvr_level", "1", "conversion multiplier", [](const WorldParams& w) { return w.cvr_level; }},
      {"value_level", "1", "conversion value multiplier", [](const WorldParams& w) { return w.value_level; }},
      {"crisis_intent_boost", "1", "multiplier of crisis-intent queries",
       [](const WorldParams& w) { return w.crisis_intent_boost; }},
      {"start_day_of_year", "day", "first day of the campaign (0 = 1 January)",
       [](const WorldParams& w) { return w.start_day_of_year; }},
      {"start_day_of_week", "day", "weekday of the first day (0 = Monday)",
       [](const WorldParams& w) { return w.start_day_of_week; }},
      {"seasonal_amplitude", "1", "amplitude of the yearly traffic cycle",
       [](const WorldParams& w) { return w.seasonal_amplitude; }},
      {"delay_median_hours", "hours", "median conversion delay",
       [](const WorldParams& w) { return w.delay_median_hours; }},
      {"delay_sigma", "1", "log-normal sigma of the conversion delay",
       [](const WorldParams& w) { return w.delay_sigma; }},
      {"attribution_window_hours", "hours", "attribution window",
       [](const WorldParams& w) { return w.attribution_window_hours; }},
      {"agent_daily_budget", "currency", "agent budget per day",
       [](const WorldParams& w) { return w.agent_daily_budget; }},
      {"reference_bid", "currency", "reference bid (bid = reference * exp(action))",
       [](const WorldParams& w) { return w.reference_bid; }},
  };
}

std::int64_t sum_over_ranks(MPI_Comm comm, std::int64_t value) {
  std::int64_t total = 0;
  check_mpi(MPI_Allreduce(&value, &total, 1, MPI_INT64_T, MPI_SUM, comm), "MPI_Allreduce (output sizes)");
  return total;
}

std::int64_t exclusive_scan(MPI_Comm comm, std::int64_t value) {
  std::int64_t before = 0;
  check_mpi(MPI_Exscan(&value, &before, 1, MPI_INT64_T, MPI_SUM, comm), "MPI_Exscan (output offsets)");
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  return rank == 0 ? 0 : before;
}

// Where this rank's worlds go: the group, the worlds in all and this rank's first world and count.
struct WorldRows {
  const h5::Group& group;
  std::uint64_t total;
  std::uint64_t start;
  std::uint64_t n;
};

// Ids, types and the scalar parameters of each world: one dataset per column.
void write_world_scalars(const WorldRows& at, const Priors& priors, std::span<const WorldParams> local) {
  const h5::Group& group = at.group;
  const std::uint64_t total = at.total;
  const std::uint64_t start = at.start;
  const std::uint64_t n = at.n;
  std::vector<std::int64_t> ids;
  std::vector<std::int32_t> types;
  for (const WorldParams& w : local) {
    ids.push_back(w.world_id);
    types.push_back(w.world_type);
  }
  const h5::Dataset id_dataset = group.create_dataset<std::int64_t>("id", {total});
  id_dataset.write_rows<std::int64_t>(start, n, std::span<const std::int64_t>(ids));
  id_dataset.set_units("1");
  id_dataset.write_attribute("description", "world id (held-out worlds: 2^31 + index); addresses its random streams");
  const h5::Dataset type_dataset = group.create_dataset<std::int32_t>("world_type", {total});
  type_dataset.write_rows<std::int32_t>(start, n, std::span<const std::int32_t>(types));
  type_dataset.set_units("1");
  type_dataset.write_attribute("description", "world type index (see /world_type_names)");

  for (const WorldColumn& column_spec : world_columns(priors)) {
    std::vector<double> values;
    for (const WorldParams& w : local) values.push_back(column_spec.value(w));
    const h5::Dataset dataset = group.create_dataset<double>(column_spec.name, {total});
    dataset.write_rows<double>(start, n, std::span<const double>(values));
    dataset.set_units(column_spec.unit);
    dataset.write_attribute("description", column_spec.description);
  }
}

// Per-world vectors: (world, k) matrices.
void write_world_matrices(const WorldRows& at, const Priors& priors, std::span<const WorldParams> local) {
  const h5::Group& group = at.group;
  const std::uint64_t total = at.total;
  const std::uint64_t start = at.start;
  const std::uint64_t n = at.n;
  const auto matrix = [&](const char* name, const char* unit, const char* description, std::size_t width,
                          const std::function<double(const WorldParams&, std::size_t)>& value) {
    std::vector<double> values;
    for (const WorldParams& w : local)
      for (std::size_t k = 0; k < width; ++k) values.push_back(value(w, k));
    const h5::Dataset dataset = group.create_dataset<double>(name, {total, width});
    dataset.write_rows<double>(start, n, std::span<const double>(values));
    dataset.set_units(unit);
    dataset.write_attribute("description", description);
  };
  matrix("segment_share", "1", "share of users per segment (see /segment_names)", priors.segments.size(),
         [](const WorldParams& w, std::size_t k) { return w.segment_share[k]; });
  matrix("device_share", "1", "share of users per device (see /device_names)", priors.devices.size(),
         [](const WorldParams& w, std::size_t k) { return w.device_share[k]; });
  matrix("hour_weight", "1", "share of sessions per hour of day", 24,
         [](const WorldParams& w, std::size_t k) { return w.hour_weight[k]; });
  matrix("day_weight", "1", "relative session rate per weekday (Monday first)", 7,
         [](const WorldParams& w, std::size_t k) { return w.day_weight[k]; });
  const auto creatives = static_cast<std::size_t>(priors.creatives);
  matrix("creative_effectiveness", "1", "click-through multiplier per creative", creatives,
         [](const WorldParams& w, std::size_t k) { return w.creatives[k].effectiveness; });
  matrix("creative_crisis_affinity", "1", "extra click-through on crisis users per creative", creatives,
         [](const WorldParams& w, std::size_t k) { return w.creatives[k].crisis_affinity; });
  matrix("creative_fatigue_rate", "1", "fatigue rate per creative", creatives,
         [](const WorldParams& w, std::size_t k) { return w.creatives[k].fatigue_rate; });
  const std::size_t devices = priors.devices.size();
  matrix("value_per_click_estimate", "currency",
         "advertiser's estimate of value per click, (world, device * 4 + query type)", devices * query_type_count,
         [](const WorldParams& w, std::size_t k) {
           return w.value_per_click_estimate[k / query_type_count][k % query_type_count];
         });
}

// Competitors: one flat table over all worlds, rows of a world contiguous, in world order.
void write_competitors(const h5::Group& group, MPI_Comm comm, std::span<const WorldParams> local) {
  std::int64_t local_competitors = 0;
  for (const WorldParams& w : local) local_competitors += static_cast<std::int64_t>(w.competitors.size());
  const auto competitor_total = static_cast<std::uint64_t>(sum_over_ranks(comm, local_competitors));
  const auto competitor_start = static_cast<std::uint64_t>(exclusive_scan(comm, local_competitors));
  const h5::Group competitors = group.create_group("competitors");
  competitors.write_attribute("description", "one row per competitor of every world, in world order");
  std::vector<std::int64_t> owner;
  std::vector<std::int32_t> strategy;
  for (const WorldParams& w : local)
    for (const CompetitorParams& c : w.competitors) {
      owner.push_back(w.world_id);
      strategy.push_back(c.strategy);
    }
  const auto rows = static_cast<std::uint64_t>(local_competitors);
  const h5::Dataset owner_dataset = competitors.create_dataset<std::int64_t>("world", {competitor_total});
  owner_dataset.write_rows<std::int64_t>(competitor_start, rows, std::span<const std::int64_t>(owner));
  owner_dataset.set_units("1");
  owner_dataset.write_attribute("description", "id of the competitor's world");
  const h5::Dataset strategy_dataset = competitors.create_dataset<std::int32_t>("strategy", {competitor_total});
  strategy_dataset.write_rows<std::int32_t>(competitor_start, rows, std::span<const std::int32_t>(strategy));
  strategy_dataset.set_units("1");
  strategy_dataset.write_attribute("description", "strategy index (see /strategy_names)");
  struct CompetitorColumn {
    const char* name;
    const char* unit;
    const char* description;
    double CompetitorParams::*member;
  };
  const std::vector<CompetitorColumn> competitor_columns{
      {"base_bid", "currency", "bid per click before market level and strategy multipliers",
       &CompetitorParams::base_bid},
      {"quality", "1", "quality score", &CompetitorParams::quality},
      {"bid_noise", "1", "log-normal sigma of per-auction bid noise", &CompetitorParams::bid_noise},
      {"daily_budget", "currency", "budget per day", &CompetitorParams::daily_budget},
      {"participation", "1", "chance to enter an auction", &CompetitorParams::participation}};
  for (const CompetitorColumn& spec : competitor_columns) {
    std::vector<double> values;
    for (const WorldParams& w : local)
      for (const CompetitorParams& c : w.competitors) values.push_back(c.*spec.member);
    const h5::Dataset dataset = competitors.create_dataset<double>(spec.name, {competitor_total});
    dataset.write_rows<double>(competitor_start, rows, std::span<const double>(values));
    dataset.set_units(spec.unit);
    dataset.write_attribute("description", spec.description);
  }
}

}  // namespace

void write_world_parameters(const h5::Group& root, MPI_Comm comm, const Priors& priors, const std::string& group_path,
                            std::int64_t count, std::int64_t first, std::span<const WorldParams> local) {
  const h5::Group group = root.create_group(group_path);
  group.write_attribute("description", "parameters of each world, drawn from the priors; axis 0 = world");
  const auto total = static_cast<std::uint64_t>(count);
  const auto start = static_cast<std::uint64_t>(first);
  const auto n = static_cast<std::uint64_t>(local.size());

  const WorldRows at{group, total, start, n};
  write_world_scalars(at, priors, local);
  write_world_matrices(at, priors, local);
  write_competitors(group, comm, local);
}

}  // namespace manyworlds
