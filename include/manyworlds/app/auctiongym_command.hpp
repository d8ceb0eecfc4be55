// The `auctiongym` command: the AuctionGym-compatible scenario on every rank, per-round statistics in one HDF5 file.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "manyworlds/scenarios/auctiongym/scenario.hpp"

namespace manyworlds {

// Command-line values that replace the scenario file's [run] settings (as `run --seed` does).
struct ScenarioOverrides {
  std::optional<std::uint64_t> seed;   // [run] seed, 0 .. 2^48 - 1
  std::optional<std::int64_t> rounds;  // [run] rounds, 1 .. auctiongym::max_rounds
};

// The scenario with the overrides applied; InputError ("command line: ...") for a value out of range.
auctiongym::Scenario with_overrides(auctiongym::Scenario scenario, const ScenarioOverrides& overrides);

// Runs the scenario in `job` (with `overrides`) on every rank of MPI_COMM_WORLD (initialising MPI
// if nobody has) and writes OUTPUT.partial, renamed to `output` when complete; an empty `output` means
// [run].output, else "<name>.h5". An existing output is replaced only with `force`. Rank 0
// writes a progress line per round to `log` and a summary to std::cout. Returns the process
// exit code (ExitCode); on a failure that not every rank saw, it aborts the MPI job.
int auctiongym_command(const std::string& job, const std::string& output, bool force,
                       const ScenarioOverrides& overrides, std::ostream& log);

}  // namespace manyworlds
