// Running a step on every rank so that a failure anywhere becomes the same error everywhere.
#pragma once

#include <boost/mpi/communicator.hpp>
#include <exception>
#include <new>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/parallel/error_agreement.hpp"

namespace manyworlds {

// An error every rank of the run has agreed on, so every rank can exit with it normally
// (an error that is not agreed leaves other ranks waiting in a collective: the job must abort).
class AgreedFailure : public Error {
 public:
  using Error::Error;
};

// What an allocation failure (std::bad_alloc) becomes: exit code 5 and this message.
inline constexpr const char* out_of_memory_message =
    "out of memory (std::bad_alloc): the job needs more memory than this process may use; run on more ranks or "
    "nodes, lower run.worlds, world.horizon_days or run.max_experiences_per_rank, or raise the limit (ulimit -v, "
    "sbatch --mem); 'manyworlds validate --ranks N' estimates the memory per rank";

// Runs `body` on every rank (collective); if it throws on any rank, every rank throws the same
// AgreedFailure, carrying the exit code and message of the lowest failing rank (std::bad_alloc:
// exit code 5 and out_of_memory_message).
template <class Body>
void agreed(const boost::mpi::communicator& communicator, Body&& body) {
  std::exception_ptr error;
  try {
    body();
  } catch (const std::bad_alloc&) {
    error = std::make_exception_ptr(ResourceError(out_of_memory_message));
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
