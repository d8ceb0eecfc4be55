// A dataset of an HDF5 file: its type and extent, growing rows, collective row writes, independent reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "manyworlds/io/hdf5_object.hpp"

namespace manyworlds::h5 {

class Group;

// A dataset of one ElementType. A "row" is one index of the first axis with all other axes whole.
//
// Writes (write_rows, write_rows_at) are collective in parallel files: every rank calls them,
// each with its own selection; a rank with nothing to write passes a zero count and still takes
// part (it selects none). A write that fails on some ranks (e.g. a full disk under one aggregator)
// makes every rank throw the same RuntimeFailure, carrying the lowest failing rank's message; so do
// extend_rows, flush and close of parallel files. The transfer is H5FD_MPIO_COLLECTIVE; the returned TransferReport
// (also kept as File::last_transfer()) says whether HDF5 really did collective I/O. Each write makes one hyperslab
// selection and one H5Dwrite, whatever the number of rows. Data is row-major, exactly count[0] * count[1] * ...
// elements. T must be the dataset's element type (else RuntimeFailure: a conversion would also break collective I/O).
//
// Reads are independent (any rank, any subset of ranks) and check that the stored element type
// has the class, size and signedness of T (else InputError).
class Dataset final : public Object {
 public:
  Dataset(Dataset&&) noexcept = default;
  Dataset& operator=(Dataset&&) noexcept = default;

  // The stored element type; InputError if it is none of ElementType (e.g. strings, float16).
  ElementType element_type() const;
  Dims dims() const;
  Dims max_dims() const;

  // Grows the first axis to new_row_count rows (collective; RuntimeFailure if that shrinks it
  // or exceeds its maximum). A no-op when it already has that many rows.
  void extend_rows(std::uint64_t new_row_count) const;
  // Sets the first axis to row_count rows, shrinking too (the rows beyond are discarded).
  // Serial files only (RuntimeFailure otherwise).
  void resize_rows(std::uint64_t row_count) const;

  // Writes rows [first_row, first_row + row_count) from data (row_count * row-size elements).
  template <class T>
  TransferReport write_rows(std::uint64_t first_row, std::uint64_t row_count, const T* data) const {
    return write_of(element_type_of<T>(), Selection::rows({first_row}, {row_count}), data, no_size_check);
  }
  template <class T>
  TransferReport write_rows(std::uint64_t first_row, std::uint64_t row_count, std::span<const T> data) const {
    return write_of(element_type_of<T>(), Selection::rows({first_row}, {row_count}), data.data(), data.size());
  }
  // Writes the block at `start` of extent `count` (one entry per axis each), e.g. one
  // iteration's worlds of an (iterations, worlds) dataset: start {it, w0}, count {1, n}.
  template <class T>
  TransferReport write_rows_at(const Dims& start, const Dims& count, const T* data) const {
    return write_of(element_type_of<T>(), Selection::block(start, count), data, no_size_check);
  }
  template <class T>
  TransferReport write_rows_at(const Dims& start, const Dims& count, std::span<const T> data) const {
    return write_of(element_type_of<T>(), Selection::block(start, count), data.data(), data.size());
  }

  template <class T>
  std::vector<T> read_all() const {
    return read_of<T>(Selection::all());
  }
  template <class T>
  std::vector<T> read_rows(std::uint64_t first_row, std::uint64_t row_count) const {
    return read_of<T>(Selection::rows({first_row}, {row_count}));
  }
  template <class T>
  std::vector<T> read_at(const Dims& start, const Dims& count) const {
    return read_of<T>(Selection::block(start, count));
  }
  // Rows [first_row, first_row + row_count) as the bytes of the stored element type (little-endian,
  // as stored), whatever that type is; InputError if it is none of ElementType.
  std::vector<std::byte> read_row_bytes(std::uint64_t first_row, std::uint64_t row_count) const;

 private:
  friend class Group;
  static constexpr std::size_t no_size_check = std::numeric_limits<std::size_t>::max();

  // What a read or write addresses, before it is checked against the dataset's extent.
  struct Selection {
    enum class Kind : std::uint8_t { all, rows, block } kind = Kind::all;
    Dims start;  // rows: {first_row}
    Dims count;  // rows: {row_count}
    static Selection all() { return {}; }
    static Selection rows(Dims first, Dims n) { return {Kind::rows, std::move(first), std::move(n)}; }
    static Selection block(Dims s, Dims c) { return {Kind::block, std::move(s), std::move(c)}; }
  };

  Dataset(std::shared_ptr<detail::FileState> file, std::string path, std::int64_t id);
  std::int64_t id() const override { return handle_.get(); }

  TransferReport write_of(ElementType type, const Selection& selection, const void* data, std::size_t data_size) const;
  // Checks the type and the selection; returns the number of elements read_into will write.
  std::uint64_t read_size(ElementType type, const Selection& selection) const;
  void read_into(ElementType type, const Selection& selection, void* out) const;
  template <class T>
  std::vector<T> read_of(const Selection& selection) const {
    std::vector<T> values(static_cast<std::size_t>(read_size(element_type_of<T>(), selection)));
    if (!values.empty()) read_into(element_type_of<T>(), selection, values.data());
    return values;
  }

  detail::Handle<detail::IdKind::dataset> handle_;
};

}  // namespace manyworlds::h5
