// agree_or_throw: finds the lowest failing rank and spreads its exit code and message to all ranks.
#include "manyworlds/parallel/error_agreement.hpp"

#include <boost/mpi/collectives/all_reduce.hpp>
#include <boost/mpi/collectives/broadcast.hpp>
#include <boost/mpi/operations.hpp>
#include <boost/mpi/packed_iarchive.hpp>
#include <boost/mpi/packed_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <string>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/parallel/mpi_error.hpp"

namespace manyworlds {

namespace {

struct FailureSummary {
  int exit_code = static_cast<int>(ExitCode::runtime_error);
  std::string message;
};

FailureSummary summarize(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& failure) {
    return {static_cast<int>(failure.code()), failure.what()};
  } catch (const std::exception& failure) {
    return {static_cast<int>(ExitCode::runtime_error), failure.what()};
  } catch (...) {
    return {static_cast<int>(ExitCode::runtime_error), "an unknown error (not a std::exception)"};
  }
}

}  // namespace

void agree_or_throw(const boost::mpi::communicator& communicator, std::exception_ptr local_error) {
  int rank = 0;
  int no_failure = 0;  // the communicator's size: above every rank
  translate_mpi_errors("agree_or_throw (rank and size)", [&] {
    rank = communicator.rank();
    no_failure = communicator.size();
  });
  const int first_failing_rank = translate_mpi_errors("agree_or_throw (finding the failing rank)", [&] {
    return boost::mpi::all_reduce(communicator, local_error ? rank : no_failure, boost::mpi::minimum<int>());
  });
  if (first_failing_rank == no_failure) return;

  FailureSummary summary;
  if (rank == first_failing_rank) summary = summarize(local_error);
  translate_mpi_errors("agree_or_throw (sharing the failure)", [&] {
    boost::mpi::broadcast(communicator, summary.exit_code, first_failing_rank);
    boost::mpi::broadcast(communicator, summary.message, first_failing_rank);
  });

  if (local_error) std::rethrow_exception(local_error);
  throw Error(static_cast<ExitCode>(summary.exit_code), summary.message);
}

}  // namespace manyworlds
