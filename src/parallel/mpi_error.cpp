// Translation of MPI failures into manyworlds::RuntimeFailure with a message naming the operation.
#include "manyworlds/parallel/mpi_error.hpp"

#include <string>

namespace manyworlds {

namespace {

std::string mpi_error_text(int result) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(result, text, &length) != MPI_SUCCESS) return "MPI error code " + std::to_string(result);
  return std::string(text, static_cast<std::size_t>(length));
}

}  // namespace

void check_mpi(int result, const char* operation) {
  if (result == MPI_SUCCESS) return;
  throw RuntimeFailure(std::string("MPI failure in ") + operation + ": " + mpi_error_text(result));
}

RuntimeFailure mpi_failure(const char* operation, const boost::mpi::exception& error) {
  return RuntimeFailure(std::string("MPI failure in ") + operation + ": " + error.routine() + ": " +
                        mpi_error_text(error.result_code()));
}

}  // namespace manyworlds
