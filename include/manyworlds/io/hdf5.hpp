// The one HDF5 wrapper of manyworlds: RAII handles, checked calls, typed attributes, collective row writes.
#pragma once

// Nothing outside src/io/hdf5_*.cpp includes <hdf5.h>: this header exposes no HDF5 C type, so
// the rest of the project cannot call the HDF5 C API by accident. Identifiers (hid_t) are held as
// std::int64_t and extents (hsize_t) as std::uint64_t; hdf5_internal.hpp static_asserts that they match.
//
// Errors. Every HDF5 return code is checked. A failure throws a one-line
//   manyworlds::InputError    when opening an existing file, opening a group, dataset or
//                             attribute, or reading: the file is not HDF5, is truncated, lacks
//                             the object, or stores a different type or shape than asked for;
//   manyworlds::RuntimeFailure when creating, writing, extending, flushing or closing fails, or
//                             when the caller passes impossible arguments (a bug).
// The message names the operation, the file path, the object path and the innermost message of
// HDF5's error stack. HDF5's own automatic printing of error stacks is switched off by every
// File factory and by is_hdf5_file (H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); idempotent).
//
// Parallel files (create_parallel / open_parallel). Collective metadata reads and writes are on
// (H5Pset_all_coll_metadata_ops, H5Pset_coll_metadata_write), so EVERY operation on a parallel
// file except read_all / read_rows / read_at (independent raw-data reads) must be called by all
// ranks of the file's communicator, in the same order, with the same arguments — except the
// start/count of the writes, which differ per rank. Objects close collectively too: destroy
// Groups, Datasets and Files at the same program point on every rank. A write checks its
// arguments on every rank and then agrees with the others (one MPI_Allreduce of one int) before
// touching the file, so bad arguments on one rank make ALL ranks throw instead of hanging. Other
// HDF5 failures inside a collective call may happen on a subset of ranks; a RuntimeFailure from
// a parallel file is therefore not recoverable: the application must abort the job. Writes,
// extend_rows, flush and close are the exception: they agree on failure after the HDF5 call too.
//
// The wrapper by object kind: hdf5_types.hpp (element types, extents, handles), hdf5_object.hpp
// (attributes), hdf5_dataset.hpp, hdf5_group.hpp and hdf5_file.hpp; this header includes them all.

#include "manyworlds/io/hdf5_file.hpp"
