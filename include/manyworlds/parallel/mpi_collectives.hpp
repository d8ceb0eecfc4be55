// The one MPI implementation of the Collectives interface, over a Boost.MPI communicator.
#pragma once

#include <mpi.h>

#include <boost/mpi/communicator.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "manyworlds/core/collectives.hpp"

namespace manyworlds {

// Collectives over the ranks of one communicator; rank 0 of that communicator is the root.
//
// Failures: every MPI return code is checked; a failure throws RuntimeFailure naming the
// operation. A collective that fails on one rank leaves the others inside it, so a
// RuntimeFailure from here is not recoverable: the application must abort the job.
// Limits: MPI counts are `int`, so one rank's block, a broadcast and a gathered or all-gathered
// total must each stay below 2^31 bytes (else RuntimeFailure on the rank that sees it).
// sum_int64 is exact unless the true sum overflows int64 (the caller keeps values in range).
// max_double follows IEEE max except that a NaN's effect is left to MPI.
//
// Byte-counting rule of bytes_moved(), per rank. Every number is the payload of a flat,
// root-centred exchange (what crosses between ranks logically), not what MPI's internal
// tree or ring algorithms put on the wire. Bytes a rank keeps for itself never count, so with
// one rank every operation counts 0. A size word is one int64 (8 bytes). With P ranks, rank r,
// and n_r the byte length of rank r's block:
//   gather_bytes:    rank r != 0 sends 8 + n_r;  root receives sum over r != 0 of (8 + n_r).
//   allgather_bytes: rank r sends 8 + n_r to each other rank and receives 8 + n_q from each rank q != r.
//   broadcast_bytes: rank r != 0 receives 8 + n;  root sends (P - 1) * (8 + n).
//   sum_int64, max_double over k values (P > 1): every rank sends 8k and receives 8k (16k).
//   max_uint8 over k values (P > 1): every rank sends k and receives k (2k).
//   exclusive_scan_int64 (P > 1): 8 sent unless r == P - 1, plus 8 received unless r == 0.
//   barrier: 0.
// Every transfer is counted once at its sender and once at its receiver, so the sum of
// bytes_moved() over ranks is twice the volume that crossed: halve it before reporting totals.
class MpiCollectives final : public Collectives {
 public:
  // Throws RuntimeFailure if `communicator` is null or MPI cannot tell its rank and size.
  explicit MpiCollectives(boost::mpi::communicator communicator);

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  std::vector<std::byte> gather_bytes(std::span<const std::byte> local) override;
  std::vector<std::byte> allgather_bytes(std::span<const std::byte> local) override;
  void broadcast_bytes(std::vector<std::byte>& bytes) override;
  void sum_int64(std::span<std::int64_t> values) override;
  void max_double(std::span<double> values) override;
  void max_uint8(std::span<std::uint8_t> values) override;
  std::int64_t exclusive_scan_int64(std::int64_t value) override;
  void barrier() override;

  std::int64_t bytes_moved() const override { return bytes_moved_; }

  // The underlying communicator, for the HDF5 layer's H5Pset_fapl_mpio.
  MPI_Comm raw_comm() const { return communicator_; }

 private:
  static constexpr int root_rank = 0;

  boost::mpi::communicator communicator_;
  int rank_ = 0;
  int size_ = 1;
  std::int64_t bytes_moved_ = 0;
};

}  // namespace manyworlds
