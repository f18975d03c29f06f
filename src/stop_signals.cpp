#include "hogwild/stop_signals.h"

#include <fmt/format.h>
#include <string.h>
#include <unistd.h>

#include <csignal>

namespace hogwild {
namespace {

// State the signal handler may touch: the first stop signal, and the workers to kill if a
// second one comes.
volatile sig_atomic_t g_stop_signal = 0;
volatile pid_t g_worker_pids[kMaxKilledWorkers];
volatile sig_atomic_t g_worker_count = 0;

extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal != 0) {  // the second Ctrl-C: no more grace
    for (int i = 0; i < g_worker_count; ++i) {
      if (g_worker_pids[i] > 0) ::kill(g_worker_pids[i], SIGKILL);
    }
    ::_exit(128 + sig);
  }
  g_stop_signal = sig;
}

}  // namespace

void register_worker_pid(int slot, pid_t pid) {
  if (slot >= 0 && slot < kMaxKilledWorkers) g_worker_pids[slot] = pid;
}

void set_registered_worker_count(int count) { g_worker_count = count; }

StopSignals::StopSignals() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &saved_int_);
  ::sigaction(SIGTERM, &action, &saved_term_);
  outermost_ = saved_int_.sa_handler != on_stop_signal;
  if (outermost_) g_stop_signal = 0;
}

StopSignals::~StopSignals() {
  ::sigaction(SIGINT, &saved_int_, nullptr);
  ::sigaction(SIGTERM, &saved_term_, nullptr);
  if (outermost_) g_stop_signal = 0;
}

int StopSignals::received() { return g_stop_signal; }

std::vector<pid_t> pids_killed_on_second_signal() {
  std::vector<pid_t> pids;
  for (int i = 0; i < g_worker_count; ++i) {
    const pid_t pid = g_worker_pids[i];
    if (pid > 0) pids.push_back(pid);
  }
  return pids;
}

void StopSignals::throw_if_received(const std::string& context) {
  const int sig = g_stop_signal;
  if (sig != 0)
    throw Interrupted(sig, fmt::format("interrupted by {}{}", signal_name(sig), context));
}

std::string signal_name(int sig) {
  const char* name = ::sigabbrev_np(sig);
  return name ? fmt::format("SIG{}", name) : fmt::format("signal {}", sig);
}

}  // namespace hogwild
