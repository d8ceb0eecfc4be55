// Checkpoints: the learner's state and the output prefix they vouch for, checksummed, replaced atomically.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "manyworlds/core/checksum.hpp"
#include "manyworlds/core/state_record.hpp"

namespace manyworlds {

inline constexpr const char* checkpoint_format_name = "manyworlds-checkpoint";
// Version 2: the learner's state plus digests of OUTPUT.partial (version 1 was a full copy of the output).
inline constexpr std::int64_t checkpoint_format_version = 2;
// Bytes at the start of a checkpoint holding its format line and the checksum of the whole file.
inline constexpr std::uint64_t checkpoint_header_bytes = 512;

// One dataset of the output as a checkpoint vouches for it: its first `rows` rows (along axis 0)
// have checksum `checksum` (FNV-1a over their stored bytes). Growable datasets (an iteration or
// round axis) are cut back to `rows` on resume.
struct DatasetDigest {
  std::string path;
  std::uint64_t rows = 0;
  std::uint64_t checksum = Checksum::initial;
  bool growable = false;
};

// Everything a run needs to continue besides what OUTPUT.partial holds. World state needs no
// saving: worlds are re-drawn from the seed, and every random stream is addressed by (seed,
// purpose, world, episode, step), so a resumed run meets the same numbers on any rank count.
struct CheckpointState {
  std::string fingerprint;            // the resolved job and priors it belongs to
  std::int64_t next_iteration = 0;    // iterations [0, next_iteration) are complete in the output
  std::int64_t learner_version = 1;   // the layout of `learner`, chosen by its writer
  StateRecord learner;                // named fields: parameters, optimiser state, ...
  std::vector<DatasetDigest> output;  // every dataset of OUTPUT.partial at the checkpoint
};

// What a checkpoint must match to be resumed.
struct CheckpointLimits {
  std::string fingerprint;
  std::int64_t iterations = 0;  // the job's: next_iteration must lie in [1, iterations - 1]
};

// "OUTPUT.checkpoint"
std::string checkpoint_path_for(const std::string& output);

// Serial (rank 0, `partial` closed by the writers): digests of every dataset of `partial`, carried
// on from `previous` so that only rows added since it are read (O(new rows), not O(file)).
std::vector<DatasetDigest> digest_output(const std::string& partial, const std::vector<DatasetDigest>& previous);

// Serial: writes `state` to CHECKPOINT.tmp with the checksum of the whole file in its first bytes,
// flushes it to disk and renames it over `checkpoint` (then flushes the folder). A failure or a
// crash at any moment leaves the previous checkpoint intact; CHECKPOINT.tmp is removed on failure.
void write_checkpoint(const std::string& checkpoint, const CheckpointState& state);

// Serial: reads a checkpoint and checks it: the whole-file checksum, format and version, the
// fingerprint, next_iteration within the job, the digests' row counts (growable ones at most
// next_iteration, and some equal to it). InputError naming the file and what is wrong. Fields of
// `learner` are range-checked when the caller reads them (StateRecord).
CheckpointState read_checkpoint(const std::string& checkpoint, const CheckpointLimits& limits);

// Serial, read-only: InputError unless `partial` holds every dataset of `digests` with at least
// its rows, and their checksum over those rows matches (O(output): reads the whole prefix).
void verify_output(const std::string& partial, const std::string& checkpoint,
                   const std::vector<DatasetDigest>& digests);

// Serial: cuts `partial` back to the checkpoint: growable datasets to their recorded rows, and
// datasets the checkpoint does not list (written by the run that died) removed.
void rewind_output(const std::string& partial, const std::vector<DatasetDigest>& digests);

}  // namespace manyworlds
