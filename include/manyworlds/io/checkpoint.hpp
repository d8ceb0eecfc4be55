// Checkpoints: a complete copy of the output so far plus the learner's state, replaced atomically.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace manyworlds {

inline constexpr const char* checkpoint_format_name = "manyworlds-checkpoint";
inline constexpr std::int64_t checkpoint_format_version = 1;

// Everything a run needs to continue, besides what the output file already holds. World state
// needs no saving: worlds are re-drawn from the seed, and every random stream is addressed by
// (seed, purpose, world, episode, step), so a resumed run meets the same numbers on any rank count.
struct CheckpointState {
  std::int64_t next_iteration = 0;
  std::vector<double> parameters;        // policy and value parameters
  std::vector<double> optimizer_state;   // Adam: [t, m..., v...]
  std::string fingerprint;               // the resolved job and priors it belongs to
};

// "OUTPUT.checkpoint"
std::string checkpoint_path_for(const std::string& output);

// Serial (rank 0): copies the closed output `partial` to a temporary file, adds the /checkpoint
// group holding `state`, flushes it to disk and renames it over `checkpoint`. A crash at any
// moment leaves the previous checkpoint intact.
void write_checkpoint(const std::string& partial, const std::string& checkpoint, const CheckpointState& state);

// Serial: reads a checkpoint. InputError (naming the file and the reason) if it is missing, not
// HDF5, truncated, not a manyworlds checkpoint, of another format version, or written for another
// job, priors or seed (its fingerprint differs from `expected_fingerprint`; the message names the
// first difference).
CheckpointState read_checkpoint(const std::string& checkpoint, const std::string& expected_fingerprint);

// Serial: makes `partial` a copy of the checkpoint's output, without the /checkpoint group.
void restore_output(const std::string& checkpoint, const std::string& partial);

}  // namespace manyworlds
