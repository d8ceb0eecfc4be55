// What every MPI subcommand shares: MPI set-up with agreed error handling, and output-path checks.
#pragma once

#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <exception>
#include <iostream>
#include <string>

#include "manyworlds/app/agreement.hpp"
#include "manyworlds/core/errors.hpp"

namespace manyworlds {

// Initialises MPI (one rank without mpirun works too) and runs `body(world)`, which returns the
// exit code. An AgreedFailure ends every rank with its exit code (rank 0 prints the one line); a
// failure on one rank alone aborts the job, since the others may wait in a collective forever.
template <class Body>
int mpi_command(Body&& body) {
  const boost::mpi::environment environment;
  const boost::mpi::communicator world;
  try {
    return body(world);
  } catch (const AgreedFailure& error) {
    if (world.rank() == 0) std::cerr << "error: " << error.what() << std::endl;
    return static_cast<int>(error.code());
  } catch (const std::exception& error) {
    const auto* known = dynamic_cast<const Error*>(&error);
    const ExitCode code = known != nullptr ? known->code() : ExitCode::runtime_error;
    std::cerr << "error (rank " << world.rank() << "): " << error.what() << std::endl;
    boost::mpi::environment::abort(static_cast<int>(code));
    return static_cast<int>(code);
  }
}

// Refuses an output whose folder is missing (InputError), or that exists without `force`
// (OutputExistsError). With `checkpoint_guard`, also refuses to start anew over OUTPUT.checkpoint
// of an unfinished run (unless `force`).
void check_output_path(const std::string& output, bool force, bool checkpoint_guard = false);

}  // namespace manyworlds
