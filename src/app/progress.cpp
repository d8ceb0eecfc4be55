// Rank 0's log lines with rates and ETA.
#include "manyworlds/app/progress.hpp"

#include <cmath>
#include <ctime>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace manyworlds {

namespace {
std::string clock_time() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M:%S", &local);
  return text;
}
}  // namespace

std::string human_count(double value) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(value >= 1e6 ? 2 : 1);
  if (value >= 1e9)
    out << value / 1e9 << " G";
  else if (value >= 1e6)
    out << value / 1e6 << " M";
  else if (value >= 1e3)
    out << value / 1e3 << " k";
  else
    out << std::setprecision(0) << value;
  return out.str();
}

std::string human_duration(double seconds) {
  std::ostringstream out;
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto whole = static_cast<long>(seconds);
  if (seconds >= 3600)
    out << whole / 3600 << "h" << std::setw(2) << std::setfill('0') << (whole % 3600) / 60 << "m";
  else if (seconds >= 60)
    out << whole / 60 << "m" << std::setw(2) << std::setfill('0') << whole % 60 << "s";
  else
    out << std::fixed << std::setprecision(1) << seconds << "s";
  return out.str();
}

ProgressLog::ProgressLog(std::ostream& out, bool enabled, int first_iteration, int iterations)
    : out_(&out),
      enabled_(enabled),
      first_iteration_(first_iteration),
      iterations_(iterations),
      start_(std::chrono::steady_clock::now()) {}

void ProgressLog::info(const std::string& message) const {
  if (enabled_) *out_ << "[" << clock_time() << "] " << message << std::endl;
}

void ProgressLog::iteration(int iteration, const IterationMetrics& m, const RuntimeMetrics& r,
                            std::int64_t batch_size) {
  if (!enabled_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int done = iteration + 1 - first_iteration_;
  const double eta = elapsed / done * (iterations_ - iteration - 1);
  const double seconds = r.iteration_seconds > 0 ? r.iteration_seconds : 1e-9;
  std::ostringstream line;
  line << std::fixed << "iter " << iteration + 1 << "/" << iterations_ << "  " << human_count(m.episodes / seconds)
       << " episodes/s  " << human_count(m.decisions / r.simulate_seconds) << " auctions/s  crisis natural "
       << std::setprecision(1) << 100 * m.natural_crisis_share << "% batch " << 100 * m.batch_crisis_share
       << "% (predicted " << 100 * m.predicted_crisis_share << "%)  ESS " << std::setprecision(0)
       << m.effective_sample_size << "/" << batch_size << "  return/episode " << std::setprecision(1)
       << m.mean_episode_return << "  ROAS " << std::setprecision(2) << m.roas << "  "
       << human_duration(r.iteration_seconds) << "/iter  ETA " << human_duration(eta) << "  checkpoint "
       << (last_checkpoint_
               ? human_duration(
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - *last_checkpoint_).count()) +
                     " ago"
               : std::string("none yet"));
  line << std::setprecision(3) << "  [simulate " << r.simulate_seconds << "s (imbalance " << std::setprecision(2)
       << r.simulate_imbalance << ", wait " << std::setprecision(3) << r.wait_seconds << "s) classify "
       << r.classify_seconds << "s sample " << r.sample_seconds << "s update " << r.update_compute_seconds << "+"
       << r.update_reduce_seconds << "s evaluate " << r.evaluate_seconds << "s write " << r.write_seconds
       << "s; collectives " << r.collective_seconds << "s, " << human_count(r.bytes_moved) << "B moved]";
  info(line.str());
}

}  // namespace manyworlds
