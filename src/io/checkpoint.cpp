// Writing, checking and restoring checkpoints (serial HDF5 on rank 0, atomic rename).
#include "manyworlds/io/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/io/hdf5.hpp"

namespace manyworlds {

namespace {

constexpr const char* state_group = "checkpoint";

// Flushes a file (or folder) to disk; RuntimeFailure naming it if the system refuses.
void sync_to_disk(const std::string& path) {
  const int descriptor = ::open(path.c_str(), O_RDONLY);
  if (descriptor < 0) throw RuntimeFailure("cannot open " + path + " to flush it: " + std::strerror(errno));
  const int result = ::fsync(descriptor);
  const int saved = errno;
  ::close(descriptor);
  if (result != 0) throw RuntimeFailure("cannot flush " + path + " to disk: " + std::strerror(saved));
}

void copy_file(const std::string& from, const std::string& to) {
  std::error_code error;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, error);
  if (error) throw RuntimeFailure("cannot copy " + from + " to " + to + ": " + error.message());
}

std::string first_difference(const std::string& expected, const std::string& found) {
  std::istringstream a(expected);
  std::istringstream b(found);
  std::string line_a;
  std::string line_b;
  while (true) {
    const bool more_a = static_cast<bool>(std::getline(a, line_a));
    const bool more_b = static_cast<bool>(std::getline(b, line_b));
    if (!more_a && !more_b) return "?";
    if (line_a != line_b || more_a != more_b)
      return "this job has '" + (more_a ? line_a : std::string("<end>")) + "', the checkpoint '" +
             (more_b ? line_b : std::string("<end>")) + "'";
  }
}

}  // namespace

std::string checkpoint_path_for(const std::string& output) { return output + ".checkpoint"; }

void write_checkpoint(const std::string& partial, const std::string& checkpoint, const CheckpointState& state) {
  const std::string temporary = checkpoint + ".tmp";
  copy_file(partial, temporary);
  {
    h5::File file = h5::File::open_writable_serial(temporary);
    {
    const h5::Group group = file.root().create_group(state_group);
    group.write_attribute("format", checkpoint_format_name);
    group.write_attribute("format_version", checkpoint_format_version);
    group.write_attribute("next_iteration", state.next_iteration);
    group.write_attribute("fingerprint", state.fingerprint);
    group.create_dataset<double>("parameters", {state.parameters.size()})
        .write_rows<double>(0, state.parameters.size(), std::span<const double>(state.parameters));
    group.create_dataset<double>("optimizer_state", {state.optimizer_state.size()})
        .write_rows<double>(0, state.optimizer_state.size(), std::span<const double>(state.optimizer_state));
    }
    file.close();
  }
  sync_to_disk(temporary);
  std::error_code error;
  std::filesystem::rename(temporary, checkpoint, error);
  if (error) throw RuntimeFailure("cannot rename " + temporary + " to " + checkpoint + ": " + error.message());
  const std::filesystem::path folder = std::filesystem::path(checkpoint).parent_path();
  sync_to_disk(folder.empty() ? "." : folder.string());
}

CheckpointState read_checkpoint(const std::string& checkpoint, const std::string& expected_fingerprint) {
  if (!std::filesystem::exists(checkpoint))
    throw InputError(checkpoint + ": no checkpoint to resume from (run without --resume to start anew)");
  if (!h5::is_hdf5_file(checkpoint)) throw InputError(checkpoint + ": not an HDF5 file, so not a manyworlds checkpoint");
  const h5::File file = h5::File::open_read(checkpoint);
  const h5::Group root = file.root();
  if (!root.exists(state_group))
    throw InputError(checkpoint + ": not a manyworlds checkpoint (no /" + std::string(state_group) + " group)");
  const h5::Group group = root.open_group(state_group);
  if (!group.has_attribute("format") || group.read_attribute<std::string>("format") != checkpoint_format_name)
    throw InputError(checkpoint + ": not a manyworlds checkpoint (format attribute missing or different)");
  const std::int64_t version = group.read_attribute<std::int64_t>("format_version");
  if (version != checkpoint_format_version)
    throw InputError(checkpoint + ": checkpoint format version " + std::to_string(version) + ", this program reads version " +
                     std::to_string(checkpoint_format_version) + "; resume it with the program that wrote it");
  CheckpointState state;
  state.fingerprint = group.read_attribute<std::string>("fingerprint");
  if (state.fingerprint != expected_fingerprint)
    throw InputError(checkpoint + ": written for another job, priors or seed (" +
                     first_difference(expected_fingerprint, state.fingerprint) +
                     "); resume with the same job file and options, or delete the checkpoint");
  state.next_iteration = group.read_attribute<std::int64_t>("next_iteration");
  state.parameters = group.open_dataset("parameters").read_all<double>();
  state.optimizer_state = group.open_dataset("optimizer_state").read_all<double>();
  return state;
}

void restore_output(const std::string& checkpoint, const std::string& partial) {
  copy_file(checkpoint, partial);
  h5::File file = h5::File::open_writable_serial(partial);
  file.root().remove(state_group);
  file.close();
}

}  // namespace manyworlds
