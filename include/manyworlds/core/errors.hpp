// Error types shared by all layers, each mapped to a documented process exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace manyworlds {

// Process exit codes (documented in README.md, "Exit codes").
enum class ExitCode : int {
  ok = 0,
  runtime_error = 1,  // an unexpected failure while running (I/O, MPI, ...)
  usage_error = 2,    // bad command line
  invalid_input = 3,  // a job, priors, CSV, checkpoint or HDF5 input file is invalid
  output_exists = 4,  // the output exists and --force was not given
  bad_resources = 5,  // impossible resources (e.g. more ranks than worlds)
  interrupted = 6,    // stopped by a signal after writing a checkpoint
};

// Base of every error manyworlds reports itself; the message is one line.
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// An input file is malformed: the message names the file, the key and the fix.
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(ExitCode::invalid_input, message) {}
};

// The requested resources cannot work (e.g. more ranks than worlds).
class ResourceError : public Error {
 public:
  explicit ResourceError(const std::string& message) : Error(ExitCode::bad_resources, message) {}
};

// The output file exists and the user did not ask to overwrite it.
class OutputExistsError : public Error {
 public:
  explicit OutputExistsError(const std::string& message) : Error(ExitCode::output_exists, message) {}
};

// A failure of the run itself (I/O, MPI, exhausted buffers).
class RuntimeFailure : public Error {
 public:
  explicit RuntimeFailure(const std::string& message) : Error(ExitCode::runtime_error, message) {}
};

}  // namespace manyworlds
