// Agreement on failure across ranks: if any rank failed, every rank throws with the same exit code.
#pragma once

#include <boost/mpi/communicator.hpp>
#include <exception>

namespace manyworlds {

// Collective. Returns normally on every rank when no rank passes an error. Otherwise every rank
// throws: a rank that passed an error rethrows its own; the others throw a manyworlds::Error
// carrying the exit code and the message (what()) of the lowest failing rank's error. An error
// that is not a manyworlds::Error counts as ExitCode::runtime_error. RuntimeFailure on an MPI error.
//
// Typical use: rank 0 validates input, catches into a std::exception_ptr, and everyone calls
// agree_or_throw so all ranks stop cleanly with the same exit code (no rank left in a collective).
void agree_or_throw(const boost::mpi::communicator& communicator, std::exception_ptr local_error);

}  // namespace manyworlds
