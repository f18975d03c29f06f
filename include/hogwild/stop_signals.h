// Ctrl-C and SIGTERM: recorded while a StopSignals lives, so that a run stops where it can
// clean up (the step at hand finished, the workers stopped, the parameters saved), and a
// second one ends the process at once, SIGKILLing the workers registered here first.
// Async-signal-safe state only; used by the supervisor, the run and the MPI waits.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "hogwild/error.h"

namespace hogwild {

// SIGINT or SIGTERM reached the parent while it supervised; the workers have been stopped.
class Interrupted : public Error {
 public:
  Interrupted(int signal, const std::string& message, bool told = false)
      : Error(message), signal_(signal), told_(told) {}
  int signal() const { return signal_; }
  // The message was already printed where the signal was noticed (an MPI rank tells at once:
  // mpirun may kill it before its clean-up is over).
  bool told() const { return told_; }

 private:
  int signal_;
  bool told_;
};

// Catches SIGINT and SIGTERM for as long as it lives, so that a run stops where it can clean
// up: the first signal is only recorded, a second one exits at once (128 + signal) after
// SIGKILLing any workers. Nests: an inner one (a WorkerGroup's) keeps the outer's record and
// each restores the handlers it found.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The first signal received, 0 if none.
  static int received();
  // Throws Interrupted("interrupted by SIGINT<context>") if a signal was received.
  static void throw_if_received(const std::string& context);

 private:
  struct sigaction saved_int_ {};
  struct sigaction saved_term_ {};
  bool outermost_ = true;
};

// The workers a second signal SIGKILLs: slot -> pid (-1: none), at most kMaxKilledWorkers.
inline constexpr int kMaxKilledWorkers = 1024;
void register_worker_pid(int slot, pid_t pid);
// Slots 0..count-1 are watched from now on (0: none).
void set_registered_worker_count(int count);

// The pids a second SIGINT or SIGTERM would SIGKILL now: the running workers only.
std::vector<pid_t> pids_killed_on_second_signal();

// "SIGINT" for SIGINT.
std::string signal_name(int signal);

}  // namespace hogwild
