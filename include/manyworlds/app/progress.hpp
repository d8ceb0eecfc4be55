// Rank 0's log lines: timestamps, one progress line per iteration with rates and an ETA.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>

#include "manyworlds/io/output_schema.hpp"

namespace manyworlds {

class ProgressLog {
 public:
  // Writes to `out` only when `enabled` (rank 0, not --quiet).
  ProgressLog(std::ostream& out, bool enabled, int first_iteration, int iterations);

  void info(const std::string& message) const;
  // The iteration line: iteration/total, episodes/s, auctions/s, crisis shares, ESS, return, ETA,
  // then every phase's seconds (update as compute + reduce), the imbalance, the wait for the
  // slowest rank, the time inside collectives, the bytes moved, and how long ago the last
  // checkpoint was written.
  void iteration(int iteration, const IterationMetrics& metrics, const RuntimeMetrics& runtime,
                 std::int64_t batch_size);
  // Notes the time of a checkpoint for the iteration lines.
  void checkpoint_written() { last_checkpoint_ = std::chrono::steady_clock::now(); }

 private:
  std::ostream* out_;
  bool enabled_;
  int first_iteration_;
  int iterations_;
  std::chrono::steady_clock::time_point start_;
  std::optional<std::chrono::steady_clock::time_point> last_checkpoint_;
};

// "1.2 M", "345 k", "12"
std::string human_count(double value);
// "1h02m", "3m05s", "12.3s"
std::string human_duration(double seconds);

}  // namespace manyworlds
