// The `calibrate` and `events` subcommands: an event log in, calibrated priors out; simulated event logs.
#include "manyworlds/app/calibrate_command.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

#include "manyworlds/app/job.hpp"
#include "manyworlds/calibrate/calibration.hpp"
#include "manyworlds/calibrate/event_log.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/learn/baselines.hpp"

namespace manyworlds {

namespace {

void check_output(const std::string& output, bool force) {
  const std::filesystem::path path(output);
  const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(folder))
    throw InputError("output " + output + ": the folder " + folder.string() +
                     " does not exist; create it or pass another -o");
  if (std::filesystem::exists(path) && !force)
    throw OutputExistsError("output " + output + " exists; pass --force to replace it or choose another -o");
}

// Writes OUTPUT.partial through `write`, then renames it to OUTPUT; on any failure the partial file is removed.
template <class Write>
void write_atomically(const std::string& output, Write&& write) {
  const std::string partial = output + ".partial";
  try {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) throw RuntimeFailure("cannot create " + partial + "; is its folder writable?");
    write(out);
    out.close();
    if (!out) throw RuntimeFailure("cannot write " + partial + "; is the disk full?");
    std::error_code error;
    std::filesystem::rename(partial, output, error);
    if (error) throw RuntimeFailure("cannot rename " + partial + " to " + output + ": " + error.message());
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(partial, ignored);
    throw;
  }
}

}  // namespace

int calibrate_command(const std::string& events_csv, const std::string& output_toml, const std::string& base_priors,
                      bool force) {
  if (base_priors.empty())
    throw Error(ExitCode::usage_error,
                "calibrate needs the priors to start from: pass --base PRIORS.toml (e.g. jobs/priors/default.toml)");
  check_output(output_toml, force);
  const Priors base = load_priors(base_priors);
  EventStatistics statistics(base, events_csv);
  read_event_log_file(events_csv, base,
                      [&statistics](const EventRow& row, std::int64_t line) { statistics.add(row, line); });
  statistics.finish();
  ConstantBid reference_bidder;
  const CalibrationResult result = calibrate(statistics, CalibrationOptions{}, reference_bidder);
  write_atomically(output_toml, [&result](std::ostream& out) { out << result.priors_text; });
  for (const std::string& line : result.summary) std::cout << line << "\n";
  std::cout << "calibrated priors written to " << output_toml << std::endl;
  return 0;
}

int events_command(const std::string& job_toml, const std::string& output_csv, std::int64_t worlds, int episodes,
                   bool force) {
  if (episodes < 1)
    throw Error(ExitCode::usage_error, "--episodes must be at least 1, got " + std::to_string(episodes));
  JobOverrides overrides;
  if (worlds > 0) overrides.worlds = worlds;
  const Job job = load_job_with_priors(job_toml, overrides);
  check_output(output_csv, force);
  EventSimulation simulation;
  simulation.seed = job.config.run.seed;
  simulation.worlds = job.config.run.worlds;
  simulation.episodes = episodes;
  simulation.horizon_days = job.config.world.horizon_days;
  ConstantBid bidder;
  std::int64_t rows = 0;
  write_atomically(output_csv, [&](std::ostream& out) {
    EventCsvWriter writer(out, job.priors);
    simulate_events(job.priors, simulation, bidder, [&](const EventRow& row) {
      writer.write(row);
      ++rows;
    });
  });
  std::cout << "wrote " << rows << " auctions (" << simulation.worlds << " worlds x " << episodes << " episodes of "
            << simulation.horizon_days << " days, seed " << simulation.seed
            << ", constant bid at the reference price) to " << output_csv << "\n"
            << "fit priors to it with: manyworlds calibrate " << output_csv << " -o priors.toml --base "
            << job.config.world.priors_path << std::endl;
  return 0;
}

}  // namespace manyworlds
