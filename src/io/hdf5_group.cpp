// HDF5 groups: paths, subgroups, links, and creating datasets with their chunks, fill and filters.
#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "hdf5_internal.hpp"

namespace manyworlds::h5 {

using namespace detail;

namespace {

std::vector<std::string> path_components(const std::string& path) {
  std::vector<std::string> components;
  std::size_t begin = 0;
  while (begin <= path.size()) {
    const std::size_t end = std::min(path.find('/', begin), path.size());
    if (end > begin && path.compare(begin, end - begin, ".") != 0)
      components.push_back(path.substr(begin, end - begin));
    begin = end + 1;
  }
  return components;
}

// The absolute path of `path` seen from the group at `base`.
std::string join_path(const std::string& base, const std::string& path) {
  std::vector<std::string> components = path.starts_with('/') ? std::vector<std::string>{} : path_components(base);
  for (std::string& component : path_components(path)) components.push_back(std::move(component));
  std::string joined;
  for (const std::string& component : components) joined += "/" + component;
  return joined.empty() ? std::string("/") : joined;
}

PlistId intermediate_groups_lcpl(const Where& where) {
  PlistId lcpl(check(H5Pcreate(H5P_LINK_CREATE), Blame::runtime, "create link property list", where));
  check(H5Pset_create_intermediate_group(lcpl.get(), 1), Blame::runtime, "set intermediate group creation", where);
  return lcpl;
}

}  // namespace

Group::Group(std::shared_ptr<detail::FileState> file, std::string path, std::int64_t id)
    : Object(std::move(file), std::move(path)), handle_(id) {}

Group Group::create_group(const std::string& path) const {
  const std::string full = join_path(this->path(), path);
  const Where where{file_path(), full};
  const PlistId lcpl = intermediate_groups_lcpl(where);
  const hid_t id = check(H5Gcreate2(handle_.get(), path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), Blame::runtime,
                         "create group", where);
  return Group(file(), full, id);
}

Group Group::open_group(const std::string& path) const {
  const std::string full = join_path(this->path(), path);
  const hid_t id =
      check(H5Gopen2(handle_.get(), path.c_str(), H5P_DEFAULT), Blame::input, "open group", Where{file_path(), full});
  return Group(file(), full, id);
}

bool Group::exists(const std::string& path) const {
  const std::string full = join_path(this->path(), path);
  const Where where{file_path(), full};
  const std::vector<std::string> components = path_components(path);
  std::string prefix = path.starts_with('/') ? "/" : "";
  for (std::size_t i = 0; i < components.size(); ++i) {
    prefix += components[i];
    if (check(H5Lexists(handle_.get(), prefix.c_str(), H5P_DEFAULT), Blame::input, "look for link", where) == 0) {
      return false;
    }
    if (check(H5Oexists_by_name(handle_.get(), prefix.c_str(), H5P_DEFAULT), Blame::input, "look for object", where) ==
        0) {
      return false;  // a dangling soft or external link
    }
    if (i + 1 < components.size()) {  // the path goes on only through groups
      H5O_info_t info;
      check(H5Oget_info_by_name2(handle_.get(), prefix.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT), Blame::input,
            "look for group", where);
      if (info.type != H5O_TYPE_GROUP) return false;
    }
    prefix += '/';
  }
  return true;
}

void Group::remove(const std::string& path) const {
  const Where where{file_path(), join_path(this->path(), path)};
  check(H5Ldelete(handle_.get(), path.c_str(), H5P_DEFAULT), Blame::runtime, "remove object", where);
}

std::vector<std::string> Group::dataset_paths() const {
  const Where where{file_path(), path()};
  struct Visit {
    std::string base;
    std::vector<std::string> paths;
  } visit{path() == "/" ? std::string() : path(), {}};
  const auto collect = [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
    auto* out = static_cast<Visit*>(data);
    if (info->type == H5O_TYPE_DATASET) out->paths.push_back(out->base + "/" + name);
    return 0;
  };
  check(H5Ovisit2(handle_.get(), H5_INDEX_NAME, H5_ITER_INC, collect, &visit, H5O_INFO_BASIC), Blame::input,
        "list datasets", where);
  return visit.paths;
}

Dataset Group::create_dataset_of(ElementType type, const std::string& path, const Dims& dims,
                                 const DatasetOptions& options) const {
  const std::string full = join_path(this->path(), path);
  const Where where{file_path(), full};
  const std::string_view operation = "create dataset";
  const std::size_t rank = dims.size();
  if (rank == 0 || rank > H5S_MAX_RANK) {
    fail(Blame::runtime, operation, where, "a dataset needs 1 to 32 axes, got " + std::to_string(rank));
  }
  const Dims max_dims = options.max_dims.empty() ? dims : options.max_dims;
  if (max_dims.size() != rank) {
    fail(Blame::runtime, operation, where, "max_dims " + dims_text(max_dims) + " do not match dims " + dims_text(dims));
  }
  bool growable = false;
  for (std::size_t i = 0; i < rank; ++i) {
    if (max_dims[i] != unlimited && max_dims[i] < dims[i]) {
      fail(Blame::runtime, operation, where, "max_dims " + dims_text(max_dims) + " below dims " + dims_text(dims));
    }
    growable = growable || max_dims[i] != dims[i];
  }
  if (options.deflate < 0 || options.deflate > 9) {
    fail(Blame::runtime, operation, where, "deflate level must be 0..9, got " + std::to_string(options.deflate));
  }
  Dims chunk = options.chunk;
  if (chunk.empty() && (growable || options.deflate > 0)) {
    // Whole inner axes; as many rows as fit in about 256 KiB (at least one).
    chunk.assign(rank, 1);
    std::uint64_t row_bytes = size_of(type);
    for (std::size_t i = 1; i < rank; ++i) {
      chunk[i] = std::max<std::uint64_t>(1, max_dims[i] == unlimited ? dims[i] : max_dims[i]);
      row_bytes = row_bytes > (std::uint64_t{1} << 40) / chunk[i] ? (std::uint64_t{1} << 40) : row_bytes * chunk[i];
    }
    const std::uint64_t rows_limit = max_dims[0] == unlimited ? std::numeric_limits<std::uint64_t>::max() : max_dims[0];
    chunk[0] =
        std::clamp<std::uint64_t>((std::uint64_t{1} << 18) / row_bytes, 1, std::max<std::uint64_t>(1, rows_limit));
  }
  if (!chunk.empty()) {
    if (chunk.size() != rank) {
      fail(Blame::runtime, operation, where, "chunk " + dims_text(chunk) + " does not match dims " + dims_text(dims));
    }
    for (std::uint64_t extent : chunk) {
      if (extent == 0 || extent == unlimited) {
        fail(Blame::runtime, operation, where, "chunk " + dims_text(chunk) + " needs finite extents >= 1");
      }
    }
  }

  const HsizeArray current(dims);
  const HsizeArray maximum(max_dims);
  const int hdf5_rank = static_cast<int>(rank);
  const SpaceId space(
      check(H5Screate_simple(hdf5_rank, current.data(), maximum.data()), Blame::runtime, operation, where));
  const PlistId dcpl(check(H5Pcreate(H5P_DATASET_CREATE), Blame::runtime, operation, where));
  if (!chunk.empty()) {
    const HsizeArray chunk_dims(chunk);
    check(H5Pset_chunk(dcpl.get(), hdf5_rank, chunk_dims.data()), Blame::runtime, "set chunk shape", where);
  }
  if (options.written_whole) {
    check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), Blame::runtime, "set fill time never", where);
  }
  if (options.deflate > 0) {
    if (check(H5Zfilter_avail(H5Z_FILTER_DEFLATE), Blame::runtime, operation, where) == 0) {
      fail(Blame::runtime, operation, where, "this HDF5 library has no deflate (zlib) filter");
    }
    check(H5Pset_shuffle(dcpl.get()), Blame::runtime, "set shuffle filter", where);
    check(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options.deflate)), Blame::runtime, "set deflate filter",
          where);
  }
  const PlistId lcpl = intermediate_groups_lcpl(where);
  const hid_t id =
      check(H5Dcreate2(handle_.get(), path.c_str(), file_type(type), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
            Blame::runtime, operation, where);
  return Dataset(file(), full, id);
}

Dataset Group::open_dataset(const std::string& path) const {
  const std::string full = join_path(this->path(), path);
  const hid_t id =
      check(H5Dopen2(handle_.get(), path.c_str(), H5P_DEFAULT), Blame::input, "open dataset", Where{file_path(), full});
  return Dataset(file(), full, id);
}

}  // namespace manyworlds::h5
