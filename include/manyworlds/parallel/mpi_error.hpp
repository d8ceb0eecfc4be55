// Turns MPI failures (raw return codes and Boost.MPI exceptions) into manyworlds::RuntimeFailure.
#pragma once

#include <mpi.h>

#include <boost/mpi/exception.hpp>
#include <utility>

#include "manyworlds/core/errors.hpp"

namespace manyworlds {

// Throws RuntimeFailure("MPI failure in <operation>: <MPI's error text>") unless result is MPI_SUCCESS.
// Return codes reach the caller because boost::mpi::environment sets MPI_ERRORS_RETURN on
// MPI_COMM_WORLD (communicators split or duplicated from it inherit that handler).
void check_mpi(int result, const char* operation);

// The RuntimeFailure for a Boost.MPI exception raised while doing `operation`.
RuntimeFailure mpi_failure(const char* operation, const boost::mpi::exception& error);

// Runs `boost_mpi_calls` and rethrows a boost::mpi::exception as a RuntimeFailure naming `operation`.
template <class Calls>
decltype(auto) translate_mpi_errors(const char* operation, Calls&& boost_mpi_calls) {
  try {
    return std::forward<Calls>(boost_mpi_calls)();
  } catch (const boost::mpi::exception& error) {
    throw mpi_failure(operation, error);
  }
}

}  // namespace manyworlds
