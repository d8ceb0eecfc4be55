// MpiCollectives: the Collectives interface over raw, checked MPI calls on a Boost.MPI communicator.
#include "manyworlds/parallel/mpi_collectives.hpp"

#include <climits>
#include <numeric>
#include <string>
#include <utility>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/parallel/mpi_error.hpp"

namespace manyworlds {

namespace {

constexpr std::int64_t int64_bytes = sizeof(std::int64_t);
constexpr std::int64_t double_bytes = sizeof(double);
constexpr std::int64_t size_word_bytes = int64_bytes;  // block sizes travel as int64

// An MPI element count for `bytes`; RuntimeFailure naming `operation` if it exceeds int.
int mpi_count(std::int64_t bytes, const char* operation) {
  if (bytes < 0 || bytes > INT_MAX)
    throw RuntimeFailure(std::string(operation) + ": " + std::to_string(bytes) +
                         " bytes exceed MPI's int count limit of " + std::to_string(INT_MAX));
  return static_cast<int>(bytes);
}

// Per-rank counts and the displacements of each rank's block in the concatenation.
struct BlockLayout {
  std::vector<int> counts;
  std::vector<int> displacements;
  int total = 0;
};

BlockLayout layout_of(const std::vector<std::int64_t>& sizes, const char* operation) {
  BlockLayout layout;
  std::int64_t total = 0;
  for (std::int64_t block_size : sizes) {
    layout.counts.push_back(mpi_count(block_size, operation));
    layout.displacements.push_back(mpi_count(total, operation));
    total += block_size;
  }
  layout.total = mpi_count(total, operation);
  return layout;
}

// Bytes the root exchanges with the other ranks for per-rank blocks of `sizes` (one size word each).
std::int64_t root_exchange_bytes(const std::vector<std::int64_t>& sizes) {
  std::int64_t bytes = 0;
  for (std::size_t rank = 1; rank < sizes.size(); ++rank) bytes += size_word_bytes + sizes[rank];
  return bytes;
}

}  // namespace

MpiCollectives::MpiCollectives(boost::mpi::communicator communicator) : communicator_(std::move(communicator)) {
  if (!communicator_) throw RuntimeFailure("MpiCollectives: the communicator is MPI_COMM_NULL");
  check_mpi(MPI_Comm_rank(communicator_, &rank_), "MPI_Comm_rank (MpiCollectives)");
  check_mpi(MPI_Comm_size(communicator_, &size_), "MPI_Comm_size (MpiCollectives)");
}

std::vector<std::byte> MpiCollectives::gather_bytes(std::span<const std::byte> local) {
  const auto local_size = static_cast<std::int64_t>(local.size());
  const int local_count = mpi_count(local_size, "gather_bytes (this rank's block)");

  std::vector<std::int64_t> sizes(is_root() ? static_cast<std::size_t>(size_) : 0);
  check_mpi(MPI_Gather(&local_size, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, root_rank, communicator_),
            "MPI_Gather (gather_bytes: block sizes)");

  BlockLayout layout;
  if (is_root()) layout = layout_of(sizes, "gather_bytes (gathered total)");
  std::vector<std::byte> gathered(static_cast<std::size_t>(layout.total));
  check_mpi(MPI_Gatherv(local.data(), local_count, MPI_BYTE, gathered.data(), layout.counts.data(),
                        layout.displacements.data(), MPI_BYTE, root_rank, communicator_),
            "MPI_Gatherv (gather_bytes: blocks)");

  if (is_root())
    bytes_moved_ += root_exchange_bytes(sizes);
  else
    bytes_moved_ += size_word_bytes + local_size;
  return gathered;
}

std::vector<std::byte> MpiCollectives::allgather_bytes(std::span<const std::byte> local) {
  const auto local_size = static_cast<std::int64_t>(local.size());
  const int local_count = mpi_count(local_size, "allgather_bytes (this rank's block)");
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(size_));
  check_mpi(MPI_Allgather(&local_size, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, communicator_),
            "MPI_Allgather (allgather_bytes: block sizes)");
  const BlockLayout layout = layout_of(sizes, "allgather_bytes (gathered total)");
  std::vector<std::byte> gathered(static_cast<std::size_t>(layout.total));
  check_mpi(MPI_Allgatherv(local.data(), local_count, MPI_BYTE, gathered.data(), layout.counts.data(),
                           layout.displacements.data(), MPI_BYTE, communicator_),
            "MPI_Allgatherv (allgather_bytes: blocks)");
  const std::int64_t others = size_ - 1;
  const std::int64_t received = layout.total - local_size + others * size_word_bytes;
  bytes_moved_ += others * (size_word_bytes + local_size) + received;
  return gathered;
}

void MpiCollectives::broadcast_bytes(std::vector<std::byte>& bytes) {
  auto byte_count = static_cast<std::int64_t>(bytes.size());
  check_mpi(MPI_Bcast(&byte_count, 1, MPI_INT64_T, root_rank, communicator_), "MPI_Bcast (broadcast_bytes: size)");
  // Every rank knows byte_count now, so every rank agrees on this limit check.
  const int count = mpi_count(byte_count, "broadcast_bytes");
  if (!is_root()) bytes.resize(static_cast<std::size_t>(byte_count));
  check_mpi(MPI_Bcast(bytes.data(), count, MPI_BYTE, root_rank, communicator_), "MPI_Bcast (broadcast_bytes: data)");

  const std::int64_t per_receiver = size_word_bytes + byte_count;
  bytes_moved_ += is_root() ? (size_ - 1) * per_receiver : per_receiver;
}

void MpiCollectives::sum_int64(std::span<std::int64_t> values) {
  const auto value_count = static_cast<std::int64_t>(values.size());
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data(), mpi_count(value_count, "sum_int64"), MPI_INT64_T, MPI_SUM,
                          communicator_),
            "MPI_Allreduce (sum_int64)");
  if (size_ > 1) bytes_moved_ += 2 * value_count * int64_bytes;
}

void MpiCollectives::max_double(std::span<double> values) {
  const auto value_count = static_cast<std::int64_t>(values.size());
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data(), mpi_count(value_count, "max_double"), MPI_DOUBLE, MPI_MAX,
                          communicator_),
            "MPI_Allreduce (max_double)");
  if (size_ > 1) bytes_moved_ += 2 * value_count * double_bytes;
}

void MpiCollectives::max_uint8(std::span<std::uint8_t> values) {
  const auto value_count = static_cast<std::int64_t>(values.size());
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data(), mpi_count(value_count, "max_uint8"), MPI_UINT8_T, MPI_MAX,
                          communicator_),
            "MPI_Allreduce (max_uint8)");
  if (size_ > 1) bytes_moved_ += 2 * value_count;
}

std::int64_t MpiCollectives::exclusive_scan_int64(std::int64_t value) {
  std::int64_t below = 0;
  check_mpi(MPI_Exscan(&value, &below, 1, MPI_INT64_T, MPI_SUM, communicator_), "MPI_Exscan (exclusive_scan_int64)");
  if (rank_ < size_ - 1) bytes_moved_ += int64_bytes;
  if (rank_ > 0) bytes_moved_ += int64_bytes;
  return is_root() ? 0 : below;  // MPI leaves rank 0's result undefined
}

void MpiCollectives::barrier() { check_mpi(MPI_Barrier(communicator_), "MPI_Barrier (barrier)"); }

}  // namespace manyworlds
