// Rank 0's serialisable objects (such as the JobConfig) reaching every rank, and agreeing on flags.
#pragma once

#include <boost/mpi/collectives/broadcast.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/packed_iarchive.hpp>
#include <boost/mpi/packed_oarchive.hpp>
#include <boost/serialization/serialization.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "manyworlds/parallel/mpi_error.hpp"

namespace manyworlds {

// Replaces `object` on every rank by rank 0's, through its Boost.Serialization serialize()
// (std::string, std::vector and enum members included). Collective; RuntimeFailure on an MPI error.
template <class T>
void broadcast_object(const boost::mpi::communicator& communicator, T& object) {
  translate_mpi_errors("broadcast_object", [&] { boost::mpi::broadcast(communicator, object, 0); });
}

// True on every rank when `flag` is true on at least one rank (logical-OR allreduce). Collective.
bool any_rank(const boost::mpi::communicator& communicator, bool flag);

}  // namespace manyworlds
