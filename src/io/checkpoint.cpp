// Writing, checking and restoring checkpoints (serial HDF5 on rank 0, checksummed, atomic rename).
#include "manyworlds/io/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "manyworlds/core/errors.hpp"
#include "manyworlds/io/hdf5.hpp"

namespace manyworlds {

namespace {

constexpr const char* learner_group = "learner";
constexpr const char* output_group = "output";
constexpr std::uint64_t largest_checkpoint = std::uint64_t{1} << 30;  // far above any learner state
constexpr std::uint64_t slice_bytes = std::uint64_t{64} << 20;        // read at most this much at once

// The header: format line, version line, checksum line (16 hex digits), zeros up to 512 bytes.
// The checksum covers the whole file with its 16 digits read as '0'.
const std::string header_start =
    std::string(checkpoint_format_name) + "\nversion " + std::to_string(checkpoint_format_version) + "\nfnv1a64 ";

std::string header_for(std::uint64_t checksum) {
  std::string header = header_start + hex64(checksum) + "\n";
  header.resize(checkpoint_header_bytes, '\0');
  return header;
}

// Flushes a file (or folder) to disk; RuntimeFailure naming it if the system refuses.
void sync_to_disk(const std::string& path) {
  const int descriptor = ::open(path.c_str(), O_RDONLY);
  if (descriptor < 0) throw RuntimeFailure("cannot open " + path + " to flush it: " + std::strerror(errno));
  const int result = ::fsync(descriptor);
  const int saved = errno;
  ::close(descriptor);
  if (result != 0) throw RuntimeFailure("cannot flush " + path + " to disk: " + std::strerror(saved));
}

// Removes a file when it goes out of scope, unless kept.
class RemoveUnlessKept {
 public:
  explicit RemoveUnlessKept(std::string path) : path_(std::move(path)) {}
  ~RemoveUnlessKept() {
    std::error_code ignored;
    if (!kept_) std::filesystem::remove(path_, ignored);
  }
  RemoveUnlessKept(const RemoveUnlessKept&) = delete;
  RemoveUnlessKept& operator=(const RemoveUnlessKept&) = delete;
  void keep() { kept_ = true; }

 private:
  std::string path_;
  bool kept_ = false;
};

std::string read_bytes(const std::string& path) {
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  if (error) throw InputError(path + ": cannot read the checkpoint: " + error.message());
  if (size > largest_checkpoint)
    throw InputError(path + ": " + std::to_string(size) + " bytes, too large to be a checkpoint of format version " +
                     std::to_string(checkpoint_format_version));
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size)))
    throw InputError(path + ": cannot read the checkpoint: " + std::strerror(errno));
  return bytes;
}

std::uint64_t checksum_with_blank_field(std::string bytes) {
  std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(header_start.size()), 16, '0');
  Checksum checksum;
  checksum.add(bytes);
  return checksum.value();
}

// Puts the header with the file's checksum into the first bytes of `path` and flushes it.
void seal(const std::string& path) {
  std::string bytes = read_bytes(path);
  std::copy_n(header_for(0).begin(), checkpoint_header_bytes, bytes.begin());
  const std::string header = header_for(checksum_with_blank_field(bytes));
  const int descriptor = ::open(path.c_str(), O_WRONLY);
  if (descriptor < 0) throw RuntimeFailure("cannot open " + path + " to seal it: " + std::strerror(errno));
  const ssize_t written = ::pwrite(descriptor, header.data(), header.size(), 0);
  const int saved = errno;
  const int closed = ::close(descriptor);
  if (written != static_cast<ssize_t>(header.size()) || closed != 0)
    throw RuntimeFailure("cannot write the header of " + path + ": " + std::strerror(written < 0 ? saved : errno));
}

// Refuses unless `bytes` start with this format's header and match its checksum.
void check_seal(const std::string& path, const std::string& bytes) {
  if (bytes.size() < checkpoint_header_bytes ||
      bytes.compare(0, std::strlen(checkpoint_format_name), checkpoint_format_name) != 0)
    throw InputError(path + ": not a manyworlds checkpoint (no '" + std::string(checkpoint_format_name) +
                     "' header; checkpoints of format version 1 were full copies of the output: resume those "
                     "with the program that wrote them, or start anew with --force)");
  if (bytes.compare(0, header_start.size(), header_start) != 0)
    throw InputError(path + ": checkpoint of another format version (this program reads version " +
                     std::to_string(checkpoint_format_version) + "); resume it with the program that wrote it");
  const std::string stored = bytes.substr(header_start.size(), 16);
  const std::string computed = hex64(checksum_with_blank_field(bytes));
  if (stored != computed)
    throw InputError(path + ": damaged (checksum " + computed + ", the header says " + stored +
                     "); nothing was changed: restore the file, or start anew with --force");
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

// ---- the learner's record ----

void write_learner(const h5::Group& group, const StateRecord& record) {
  for (const auto& [name, values] : record.all_reals()) {
    const h5::Dataset dataset = group.create_dataset<double>(name, {values.size()});
    if (!values.empty()) dataset.write_rows<double>(0, values.size(), std::span<const double>(values));
  }
  for (const auto& [name, values] : record.all_integers()) {
    const h5::Dataset dataset = group.create_dataset<std::int64_t>(name, {values.size()});
    if (!values.empty()) dataset.write_rows<std::int64_t>(0, values.size(), std::span<const std::int64_t>(values));
  }
}

StateRecord read_learner(const h5::Group& group, const std::string& source) {
  StateRecord record(source);
  for (const std::string& path : group.dataset_paths()) {
    const h5::Dataset dataset = group.open_dataset(path);
    const std::string name = path.substr(group.path().size() + 1);
    if (dataset.dims().size() != 1) throw InputError(source + ": field '" + name + "' is not one-dimensional");
    if (dataset.element_type() == h5::ElementType::int64)
      record.put(name, dataset.read_all<std::int64_t>());
    else
      record.put(name, dataset.read_all<double>());
  }
  return record;
}

// ---- the output digests ----

void write_digests(const h5::Group& group, const std::vector<DatasetDigest>& digests) {
  std::vector<std::string> paths;
  std::vector<std::int64_t> rows;
  std::vector<std::int64_t> checksums;
  std::vector<std::int64_t> growable;
  for (const DatasetDigest& digest : digests) {
    paths.push_back(digest.path);
    rows.push_back(static_cast<std::int64_t>(digest.rows));
    checksums.push_back(std::bit_cast<std::int64_t>(digest.checksum));
    growable.push_back(digest.growable ? 1 : 0);
  }
  group.write_attribute("paths", paths);
  const auto column = [&](const char* name, const std::vector<std::int64_t>& values) {
    group.create_dataset<std::int64_t>(name, {values.size()})
        .write_rows<std::int64_t>(0, values.size(), std::span<const std::int64_t>(values));
  };
  column("rows", rows);
  column("checksums", checksums);
  column("growable", growable);
}

std::vector<DatasetDigest> read_digests(const h5::Group& group, const std::string& source) {
  const auto paths = group.read_attribute<std::vector<std::string>>("paths");
  const auto rows = group.open_dataset("rows").read_all<std::int64_t>();
  const auto checksums = group.open_dataset("checksums").read_all<std::int64_t>();
  const auto growable = group.open_dataset("growable").read_all<std::int64_t>();
  if (rows.size() != paths.size() || checksums.size() != paths.size() || growable.size() != paths.size())
    throw InputError(source + ": /output lists " + std::to_string(paths.size()) + " datasets but holds " +
                     std::to_string(rows.size()) + " row counts and " + std::to_string(checksums.size()) +
                     " checksums");
  std::vector<DatasetDigest> digests(paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (rows[i] < 0 || (growable[i] != 0 && growable[i] != 1))
      throw InputError(source + ": /output entry of " + paths[i] + " has " + std::to_string(rows[i]) +
                       " rows, growable flag " + std::to_string(growable[i]));
    digests[i] = {paths[i], static_cast<std::uint64_t>(rows[i]), std::bit_cast<std::uint64_t>(checksums[i]),
                  growable[i] == 1};
  }
  return digests;
}

// Next iteration in range, growable row counts within it (rounds never outnumber iterations).
void check_bounds(const std::string& source, const CheckpointState& state, const CheckpointLimits& limits) {
  if (state.next_iteration < 1 || state.next_iteration >= limits.iterations)
    throw InputError(source + ": next_iteration = " + std::to_string(state.next_iteration) + " is outside [1, " +
                     std::to_string(limits.iterations - 1) + "] for this job's " + std::to_string(limits.iterations) +
                     " iterations; the checkpoint is damaged: start anew with --force");
  std::uint64_t most = 0;
  for (const DatasetDigest& digest : state.output) {
    if (!digest.growable) continue;
    if (digest.rows > static_cast<std::uint64_t>(state.next_iteration))
      throw InputError(source + ": vouches for " + std::to_string(digest.rows) + " rows of " + digest.path + " after " +
                       std::to_string(state.next_iteration) +
                       " iterations; the checkpoint is damaged: start anew with --force");
    most = std::max(most, digest.rows);
  }
  if (most != static_cast<std::uint64_t>(state.next_iteration))
    throw InputError(source + ": no dataset of the output holds the " + std::to_string(state.next_iteration) +
                     " iterations it claims; the checkpoint is damaged: start anew with --force");
}

// Carries `checksum` on over rows [from, to) of `dataset`, in slices of bounded size.
std::uint64_t checksum_rows(const h5::Dataset& dataset, std::uint64_t from, std::uint64_t to, std::uint64_t checksum) {
  if (from >= to) return checksum;
  const h5::Dims dims = dataset.dims();
  std::uint64_t row_bytes = h5::element_size(dataset.element_type());
  for (std::size_t axis = 1; axis < dims.size(); ++axis) row_bytes *= std::max<std::uint64_t>(dims[axis], 1);
  const std::uint64_t rows_per_slice = std::max<std::uint64_t>(1, slice_bytes / row_bytes);
  Checksum running(checksum);
  for (std::uint64_t first = from; first < to; first += rows_per_slice)
    running.add(dataset.read_row_bytes(first, std::min(rows_per_slice, to - first)));
  return running.value();
}

}  // namespace

std::string checkpoint_path_for(const std::string& output) { return output + ".checkpoint"; }

std::vector<DatasetDigest> digest_output(const std::string& partial, const std::vector<DatasetDigest>& previous) {
  std::map<std::string, DatasetDigest> known;
  for (const DatasetDigest& digest : previous) known.emplace(digest.path, digest);
  const h5::File file = h5::File::open_read(partial);
  const h5::Group root = file.root();
  std::vector<DatasetDigest> digests;
  for (const std::string& path : root.dataset_paths()) {
    const h5::Dataset dataset = root.open_dataset(path);
    const h5::Dims dims = dataset.dims();
    DatasetDigest digest{path, dims.empty() ? 0 : dims[0], Checksum::initial,
                         dataset.max_dims().at(0) == h5::unlimited};
    std::uint64_t from = 0;
    if (const auto found = known.find(path); found != known.end() && found->second.rows <= digest.rows) {
      from = found->second.rows;
      digest.checksum = found->second.checksum;
    }
    digest.checksum = checksum_rows(dataset, from, digest.rows, digest.checksum);
    digests.push_back(std::move(digest));
  }
  return digests;
}

void write_checkpoint(const std::string& checkpoint, const CheckpointState& state) {
  const std::string temporary = checkpoint + ".tmp";
  RemoveUnlessKept guard(temporary);
  {
    h5::File file = h5::File::create_serial(temporary, checkpoint_header_bytes);
    {
      const h5::Group root = file.root();
      root.write_attribute("format", checkpoint_format_name);
      root.write_attribute("format_version", checkpoint_format_version);
      root.write_attribute("fingerprint", state.fingerprint);
      root.write_attribute("next_iteration", state.next_iteration);
      const h5::Group learner = root.create_group(learner_group);
      learner.write_attribute("version", state.learner_version);
      write_learner(learner, state.learner);
      write_digests(root.create_group(output_group), state.output);
    }
    file.close();
  }
  seal(temporary);
  sync_to_disk(temporary);
  std::error_code error;
  std::filesystem::rename(temporary, checkpoint, error);
  if (error) throw RuntimeFailure("cannot rename " + temporary + " to " + checkpoint + ": " + error.message());
  guard.keep();
  const std::filesystem::path folder = std::filesystem::path(checkpoint).parent_path();
  sync_to_disk(folder.empty() ? "." : folder.string());
}

CheckpointState read_checkpoint(const std::string& checkpoint, const CheckpointLimits& limits) {
  check_seal(checkpoint, read_bytes(checkpoint));
  const h5::File file = h5::File::open_read(checkpoint);
  const h5::Group root = file.root();
  if (!root.has_attribute("format") || root.read_attribute<std::string>("format") != checkpoint_format_name ||
      root.read_attribute<std::int64_t>("format_version") != checkpoint_format_version)
    throw InputError(checkpoint + ": its format attributes do not say '" + std::string(checkpoint_format_name) +
                     "' version " + std::to_string(checkpoint_format_version));
  CheckpointState state;
  state.fingerprint = root.read_attribute<std::string>("fingerprint");
  if (state.fingerprint != limits.fingerprint)
    throw InputError(checkpoint + ": written for another job, priors or seed (" +
                     first_difference(limits.fingerprint, state.fingerprint) +
                     "); resume with the same job file and options, or start anew with --force");
  state.next_iteration = root.read_attribute<std::int64_t>("next_iteration");
  const h5::Group learner = root.open_group(learner_group);
  state.learner_version = learner.read_attribute<std::int64_t>("version");
  state.learner = read_learner(learner, checkpoint);
  state.output = read_digests(root.open_group(output_group), checkpoint);
  check_bounds(checkpoint, state, limits);
  return state;
}

void verify_output(const std::string& partial, const std::string& checkpoint,
                   const std::vector<DatasetDigest>& digests) {
  if (!std::filesystem::is_regular_file(partial))
    throw InputError(partial + ": missing, but " + checkpoint +
                     " continues the output written there; "
                     "restore it, or start anew with --force");
  const h5::File file = h5::File::open_read(partial);
  const h5::Group root = file.root();
  for (const DatasetDigest& digest : digests) {
    if (!root.exists(digest.path))
      throw InputError(partial + ": lacks " + digest.path + ", which " + checkpoint +
                       " vouches for; start anew with --force");
    const h5::Dataset dataset = root.open_dataset(digest.path);
    const std::uint64_t rows = dataset.dims().at(0);
    if (rows < digest.rows)
      throw InputError(partial + ": " + digest.path + " has " + std::to_string(rows) + " rows, " + checkpoint +
                       " vouches for " + std::to_string(digest.rows) + "; start anew with --force");
    if (checksum_rows(dataset, 0, digest.rows, Checksum::initial) != digest.checksum)
      throw InputError(partial + ": the first " + std::to_string(digest.rows) + " rows of " + digest.path +
                       " differ from what " + checkpoint + " vouches for (checksum); start anew with --force");
  }
}

void rewind_output(const std::string& partial, const std::vector<DatasetDigest>& digests) {
  std::set<std::string> listed;
  for (const DatasetDigest& digest : digests) listed.insert(digest.path);
  h5::File file = h5::File::open_writable_serial(partial);
  {
    const h5::Group root = file.root();
    for (const std::string& path : root.dataset_paths())
      if (!listed.contains(path)) root.remove(path);
    for (const DatasetDigest& digest : digests)
      if (digest.growable) root.open_dataset(digest.path).resize_rows(digest.rows);
  }
  file.close();
}

}  // namespace manyworlds
