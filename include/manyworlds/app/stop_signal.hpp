// Catches SIGUSR1 and SIGTERM so that a run stops at the next iteration boundary after a checkpoint.
#pragma once

#include <csignal>

namespace manyworlds {

// While an object lives, SIGUSR1 and SIGTERM only raise a flag (the previous handlers come back
// when it is destroyed). `run` creates one before MPI is initialised, so a signal at any moment of
// the run is seen. The flag is process-wide by nature: a signal handler can reach nothing else, so
// it lives in one `volatile sig_atomic_t` inside stop_signal.cpp, written only there.
class StopSignal {
 public:
  StopSignal();
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

 private:
  struct sigaction previous_usr1_ {};
  struct sigaction previous_term_ {};
};

// The last SIGUSR1 or SIGTERM received while a StopSignal lived, or 0.
int received_stop_signal();

// "SIGUSR1", "SIGTERM" or "a signal".
const char* signal_name(int signal_number);

}  // namespace manyworlds
