// Running a step on every rank so that a failure anywhere becomes the same error everywhere.
#pragma once

#include <exception>

#include <boost/mpi/communicator.hpp>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/parallel/error_agreement.hpp"

namespace manyworlds {

// An error every rank of the run has agreed on, so every rank can exit with it normally
// (an error that is not agreed leaves other ranks waiting in a collective: the job must abort).
class AgreedFailure : public Error {
 public:
  using Error::Error;
};

// Runs `body` on every rank (collective); if it throws on any rank, every rank throws the same
// AgreedFailure, carrying the exit code and message of the lowest failing rank.
template <class Body>
void agreed(const boost::mpi::communicator& communicator, Body&& body) {
  std::exception_ptr error;
  try {
    body();
  } catch (...) {
    error = std::current_exception();
  }
  try {
    agree_or_throw(communicator, error);
  } catch (const Error& failure) {
    throw AgreedFailure(failure.code(), failure.what());
  } catch (const std::exception& failure) {
    throw AgreedFailure(ExitCode::runtime_error, failure.what());
  }
}

}  // namespace manyworlds
