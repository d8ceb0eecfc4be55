// Facts about the node a rank runs on, found with MPI.
#pragma once

#include <boost/mpi/communicator.hpp>

namespace manyworlds {

// Collective: how many ranks of `communicator` share this rank's node (MPI_COMM_TYPE_SHARED).
// RuntimeFailure on an MPI error.
int ranks_on_this_node(const boost::mpi::communicator& communicator);

}  // namespace manyworlds
