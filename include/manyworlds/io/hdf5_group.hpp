// A group of an HDF5 file: subgroups, links, and creating datasets with their layout (chunks, compression).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "manyworlds/io/hdf5_dataset.hpp"

namespace manyworlds::h5 {

// How create_dataset lays a dataset out.
struct DatasetOptions {
  // Empty: fixed size (= dims). Else one entry per axis, each >= dims or h5::unlimited.
  Dims max_dims{};
  // Empty: contiguous, unless the dataset can grow or is compressed; then chunks of whole inner
  // axes and about 256 KiB worth of rows. Else one entry per axis, each >= 1.
  Dims chunk{};
  // 0: no compression; 1..9: shuffle + deflate at that level (needs chunks). Works with the
  // collective parallel writes here (HDF5 1.10.8 refuses independent writes to such datasets),
  // also when ranks share chunks or write nothing; see tests/mpi/test_hdf5.cpp.
  int deflate = 0;
  // The caller writes every element of every extent it creates: no fill values. Parallel HDF5
  // allocates chunks when the dataset grows and would otherwise write fill values there first,
  // doubling the bytes written (measured: 5x slower batch writes). Unwritten elements are garbage.
  bool written_whole = false;
};

// A group; File::root() is the root group "/". Paths may be relative to this group or absolute.
class Group final : public Object {
 public:
  Group(Group&&) noexcept = default;
  Group& operator=(Group&&) noexcept = default;

  // Creates the group and any missing intermediate groups; RuntimeFailure if it exists.
  Group create_group(const std::string& path) const;
  Group open_group(const std::string& path) const;
  // True if every component of `path` exists (H5Lexists along the path) and the last one
  // resolves to an object. False, not an error, when a component is missing.
  bool exists(const std::string& path) const;
  // Unlinks the object at `path` (and, for a group, everything only reachable through it).
  // Collective in parallel files. RuntimeFailure if it does not exist.
  void remove(const std::string& path) const;
  // Absolute paths of every dataset below this group (recursively), in name order.
  std::vector<std::string> dataset_paths() const;

  // Creates a dataset of elements T (is_element_type_v) with extent `dims` (rank 1..32) and any
  // missing intermediate groups. Collective in parallel files: same arguments on every rank.
  template <class T>
  Dataset create_dataset(const std::string& path, const Dims& dims, const DatasetOptions& options = {}) const;
  Dataset open_dataset(const std::string& path) const;

 private:
  friend class File;
  Group(std::shared_ptr<detail::FileState> file, std::string path, std::int64_t id);
  std::int64_t id() const override { return handle_.get(); }
  Dataset create_dataset_of(ElementType type, const std::string& path, const Dims& dims,
                            const DatasetOptions& options) const;

  detail::Handle<detail::IdKind::group> handle_;
};

template <class T>
Dataset Group::create_dataset(const std::string& path, const Dims& dims, const DatasetOptions& options) const {
  return create_dataset_of(element_type_of<T>(), path, dims, options);
}

}  // namespace manyworlds::h5
