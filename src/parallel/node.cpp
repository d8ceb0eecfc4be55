// Counting the ranks that share a node with MPI_Comm_split_type.
#include "manyworlds/parallel/node.hpp"

#include <mpi.h>

#include "manyworlds/parallel/mpi_error.hpp"

namespace manyworlds {

int ranks_on_this_node(const boost::mpi::communicator& communicator) {
  MPI_Comm node = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split_type(communicator, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  int size = 0;
  const int result = MPI_Comm_size(node, &size);
  MPI_Comm_free(&node);
  check_mpi(result, "MPI_Comm_size");
  return size;
}

}  // namespace manyworlds
