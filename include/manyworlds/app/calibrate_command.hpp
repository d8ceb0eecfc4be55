// The `calibrate` and `events` subcommands: fit priors from an event log, and simulate such a log.
#pragma once

#include <cstdint>
#include <string>

namespace manyworlds {

// Fits the priors to the CSV event log `events_csv` (format: docs/calibration.md), starting from the priors file
// `base_priors`, and writes the complete calibrated priors file `output_toml` (atomically: a temporary file that
// is renamed). Prints the fitted values to stdout and returns 0. Throws Error subclasses (InputError for bad input,
// OutputExistsError when `output_toml` exists and not `force`) that run_cli maps to exit codes.
int calibrate_command(const std::string& events_csv, const std::string& output_toml, const std::string& base_priors,
                      bool force);

// Simulates an event log from the job's priors: worlds 0 .. worlds-1 (worlds <= 0: the job's run.worlds), each for
// `episodes` campaigns of world.horizon_days, with a constant bid at the market's reference price (creative 0) as the
// advertiser, seeded by run.seed. Writes the CSV atomically to `output_csv`; errors as for calibrate_command.
int events_command(const std::string& job_toml, const std::string& output_csv, std::int64_t worlds, int episodes,
                   bool force);

}  // namespace manyworlds
