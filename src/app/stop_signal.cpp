// SIGUSR1/SIGTERM handling: the handler only records the signal; the run loop polls it.
#include "manyworlds/app/stop_signal.hpp"

#include "manyworlds/core/errors.hpp"

namespace manyworlds {

namespace {

volatile std::sig_atomic_t last_stop_signal = 0;

extern "C" void record_stop_signal(int signal_number) { last_stop_signal = signal_number; }

}  // namespace

StopSignal::StopSignal() {
  last_stop_signal = 0;
  struct sigaction action {};
  action.sa_handler = record_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (sigaction(SIGUSR1, &action, &previous_usr1_) != 0 || sigaction(SIGTERM, &action, &previous_term_) != 0)
    throw RuntimeFailure("cannot install the SIGUSR1/SIGTERM handlers");
}

StopSignal::~StopSignal() {
  sigaction(SIGUSR1, &previous_usr1_, nullptr);
  sigaction(SIGTERM, &previous_term_, nullptr);
}

int received_stop_signal() { return static_cast<int>(last_stop_signal); }

const char* signal_name(int signal_number) {
  switch (signal_number) {
    case SIGUSR1:
      return "SIGUSR1";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "a signal";
  }
}

}  // namespace manyworlds
