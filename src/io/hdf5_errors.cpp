// The HDF5 wrapper's errors: checked calls, one-line messages from HDF5's error stack, agreement of the ranks on a
// failure.
#include <string>
#include <utility>

#include "hdf5_internal.hpp"
#include "manyworlds/core/errors.hpp"
#include "manyworlds/parallel/mpi_error.hpp"

namespace manyworlds::h5 {

namespace {

// Newlines, tabs and runs of blanks (HDF5 messages have them) become single spaces.
std::string one_line(const std::string& text) {
  std::string line;
  line.reserve(text.size());
  for (const char c : text) {
    const bool blank = c == ' ' || c == '\n' || c == '\r' || c == '\t';
    if (!blank)
      line += c;
    else if (!line.empty() && line.back() != ' ')
      line += ' ';
  }
  if (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

}  // namespace

namespace detail {

// The most specific message on HDF5's default error stack (where the error was detected).
std::string innermost_hdf5_message() {
  struct Innermost {
    bool seen = false;
    std::string desc;
    hid_t minor = H5I_INVALID_HID;
  } innermost;
  const auto visit = [](unsigned, const H5E_error2_t* error, void* data) -> herr_t {
    auto* out = static_cast<Innermost*>(data);
    if (!out->seen) {
      out->seen = true;
      if (error->desc != nullptr) out->desc = error->desc;
      out->minor = error->min_num;
    }
    return 0;
  };
  if (H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, visit, &innermost) < 0 || !innermost.seen) {
    return "no HDF5 error details";
  }
  if (innermost.desc.empty() && innermost.minor >= 0) {  // H5Eget_msg clears the stack: call it after the walk
    std::array<char, 256> text{};
    if (H5Eget_msg(innermost.minor, nullptr, text.data(), text.size()) > 0) innermost.desc = text.data();
  }
  return innermost.desc.empty() ? std::string("no HDF5 error details") : one_line(innermost.desc);
}

[[noreturn]] void fail(Blame blame, std::string_view operation, const Where& where, const std::string& detail) {
  const std::string message = "HDF5 " + std::string(operation) + " failed: file '" + where.file + "', object '" +
                              where.object + "': " + one_line(detail);
  if (blame == Blame::input) throw InputError(message);
  throw RuntimeFailure(message);
}

void silence_automatic_error_printing() {
  // Idempotent, and HDF5's state rather than ours: every entry point may call it.
  if (H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) < 0) {
    throw RuntimeFailure("HDF5 switching off automatic error printing failed: " + innermost_hdf5_message());
  }
}

// In a parallel file, every rank learns whether any rank found a problem with its arguments, so
// that all of them throw (instead of the good ones waiting forever inside H5Dwrite).
void agree_or_throw(const FileState& file, const std::string& problem, std::string_view operation, const Where& where) {
  int bad = problem.empty() ? 0 : 1;
  if (file.parallel()) check_mpi(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, file.comm), "MPI_Allreduce");
  if (!problem.empty()) fail(Blame::runtime, operation, where, problem);
  if (bad != 0)
    fail(Blame::runtime, operation, where, "another rank passed invalid arguments to this collective write");
}

// After a collective HDF5 call that may fail on some ranks only: every rank throws the message of
// the lowest failing rank (serial files: just this one's).
void agree_after(const FileState& file, const std::string& failure, std::string_view operation, const Where& where) {
  if (!file.parallel()) {
    if (!failure.empty()) fail(Blame::runtime, operation, where, failure);
    return;
  }
  int rank = 0;
  int size = 0;
  check_mpi(MPI_Comm_rank(file.comm, &rank), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(file.comm, &size), "MPI_Comm_size");
  int first = failure.empty() ? size : rank;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, file.comm), "MPI_Allreduce");
  if (first == size) return;
  std::string message = failure;
  int length = static_cast<int>(message.size());
  check_mpi(MPI_Bcast(&length, 1, MPI_INT, first, file.comm), "MPI_Bcast");
  message.resize(static_cast<std::size_t>(length));
  check_mpi(MPI_Bcast(message.data(), length, MPI_CHAR, first, file.comm), "MPI_Bcast");
  fail(Blame::runtime, operation, where,
       rank == first ? message : message + " (on rank " + std::to_string(first) + ")");
}

}  // namespace detail

std::string describe_no_collective_cause(std::uint32_t cause) {
  if (cause == H5D_MPIO_COLLECTIVE) return "collective";
  static constexpr std::array<std::pair<std::uint32_t, const char*>, 8> names{{
      {H5D_MPIO_SET_INDEPENDENT, "independent I/O requested"},
      {H5D_MPIO_DATATYPE_CONVERSION, "datatype conversion"},
      {H5D_MPIO_DATA_TRANSFORMS, "data transforms"},
      {H5D_MPIO_MPI_OPT_TYPES_ENV_VAR_DISABLED, "MPI derived types disabled by environment"},
      {H5D_MPIO_NOT_SIMPLE_OR_SCALAR_DATASPACES, "dataspace neither simple nor scalar"},
      {H5D_MPIO_NOT_CONTIGUOUS_OR_CHUNKED_DATASET, "dataset neither contiguous nor chunked"},
      {H5D_MPIO_PARALLEL_FILTERED_WRITES_DISABLED, "parallel filtered writes disabled"},
      {H5D_MPIO_ERROR_WHILE_CHECKING_COLLECTIVE_POSSIBLE, "error while checking whether collective I/O is possible"},
  }};
  std::string text;
  std::uint32_t rest = cause;
  for (const auto& [bit, name] : names) {
    if ((cause & bit) == 0) continue;
    if (!text.empty()) text += '|';
    text += name;
    rest &= ~bit;
  }
  if (rest != 0) {
    if (!text.empty()) text += '|';
    text += "unknown cause " + std::to_string(rest);
  }
  return text;
}

}  // namespace manyworlds::h5
