// The AuctionGym scenario's HDF5 file (layout in docs/auctiongym.md): attributes, catalogue, per-round rows, /runtime.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "manyworlds/core/vector_isa.hpp"
#include "manyworlds/io/hdf5.hpp"
#include "manyworlds/scenarios/auctiongym/round.hpp"
#include "manyworlds/scenarios/auctiongym/scenario.hpp"

namespace manyworlds {

// The output's format name and version (file attributes "format" and "format_version"; the
// layout is documented in docs/auctiongym.md).
inline constexpr const char* auctiongym_format_name = "manyworlds-auctiongym";
inline constexpr std::int64_t auctiongym_format_version = 1;

// The run's HDF5 file: attributes, the catalogue, one row per round, wall-clock figures apart.
// Every member is collective; rank 0's values are the ones written.
class AuctionGymFile {
 public:
  AuctionGymFile(const std::string& path, MPI_Comm comm, bool root, const auctiongym::Scenario& scenario,
                 const auctiongym::Catalogue& catalogue, int ranks, VectorIsa isa);

  void write_round(int round, const auctiongym::RoundStats& stats);
  void write_runtime(int round, double round_seconds, double write_seconds, double auctions_per_second);
  // `total_seconds` must be the same on every rank (attributes are collective metadata).
  void close(double total_seconds);

 private:
  void write_whole(const h5::Group& group, const std::string& name, const h5::Dims& dims,
                   const std::vector<double>& values, const std::string& unit, const std::string& description) const;
  void add(const h5::Group& group, const std::string& name, h5::ElementType type, const h5::Dims& dims,
           const std::string& unit, const std::string& description);
  template <class T>
  void write_row(const std::string& name, int round, const std::vector<T>& row) const;
  template <class T>
  void write_scalar(const std::string& name, int round, T value) const;

  h5::File file_;
  bool root_;
  int bidders_;
  std::map<std::string, h5::Dataset> datasets_;  // "rounds/wins", "runtime/round_seconds", ...
};

}  // namespace manyworlds
