// any_rank: a logical-OR agreement over the ranks of a communicator.
#include "manyworlds/parallel/broadcast_object.hpp"

#include <mpi.h>

namespace manyworlds {

bool any_rank(const boost::mpi::communicator& communicator, bool flag) {
  int any = flag ? 1 : 0;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_LOR, communicator), "MPI_Allreduce (any_rank)");
  return any != 0;
}

}  // namespace manyworlds
