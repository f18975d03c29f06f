// Worker processes: fork, a single report channel home, wait, restarts, signals.
// Knows nothing of tensors: a worker is any function of where it starts.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hogwild/error.h"
#include "hogwild/stop_signals.h"

namespace hogwild {

// One message from a worker to the parent. Fixed size and below PIPE_BUF, so each write to
// the shared pipe is atomic and messages from different workers never interleave.
struct WorkerReport {
  enum Kind : int32_t {
    kEpoch = 1,    // an epoch finished
    kFailure = 2,  // the worker is failing (an exception); a replacement may help
    kFatal = 3,    // the worker is failing with a FatalError: a replacement would fail too
  };
  int32_t kind = kEpoch;
  int32_t worker = 0;
  int32_t epoch = 0;  // 1-based
  int64_t samples = 0;
  int64_t correct = 0;
  double loss_sum = 0;  // sum over samples of the per-sample loss
  double seconds = 0;
  double lr = 0;           // the step size of the epoch
  char message[256] = {};  // kFailure, kFatal: what went wrong
};

// The worker's end of the channel.
class ReportChannel {
 public:
  explicit ReportChannel(int fd) : fd_(fd) {}
  void send(const WorkerReport& report);

 private:
  int fd_;
};

// Where a worker process starts: its index, the first epoch it must train (0-based; a
// replacement resumes the unfinished epoch), and how many times the worker has been
// restarted before.
struct WorkerStart {
  int worker = 0;
  int first_epoch = 0;
  int incarnation = 0;
};

using WorkerBody = std::function<void(const WorkerStart& start, ReportChannel& channel)>;

// A worker that died and was replaced.
struct RestartNotice {
  int worker = 0;
  std::string how;      // "signal 9 (SIGKILL)", "exit code 1: <message>"
  int first_epoch = 0;  // 0-based epoch the replacement starts with
  int restarts = 0;     // restarts so far, this one included
  int max_restarts = 0;
};

// Owns the forked workers. Each runs `body(start, channel)` and exits 0; an exception in it
// is reported to the parent and the worker exits 1 (a FatalError is never restarted). Workers
// ignore SIGINT (the parent decides) and die with their parent (PR_SET_PDEATHSIG), so a killed
// parent leaves no orphans training on.
class WorkerGroup {
 public:
  // Every worker starts at epoch `first_epoch` (0-based; --resume's epochs done).
  WorkerGroup(int procs, WorkerBody body, int max_restarts = 0, int first_epoch = 0);
  // Stops (SIGTERM, then SIGKILL after a grace period) and reaps workers still running.
  ~WorkerGroup();
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;

  // Hands every epoch report to `on_report` as it arrives, until all workers have exited 0.
  // A worker that fails (throws, exits non-zero, is killed) is replaced, starting at its
  // unfinished epoch, while fewer than max_restarts restarts have been made; `on_restart`
  // hears of each. Past the bound, or for a fatal failure, stops the others and throws
  // Error naming the worker, how it failed, the epoch and its message. SIGINT or SIGTERM to
  // the parent stops the workers and throws Interrupted; a second one exits at once.
  // `on_tick` runs after every wait for reports (at most the poll interval apart).
  void join(const std::function<void(const WorkerReport&)>& on_report,
            const std::function<void(const RestartNotice&)>& on_restart = {},
            const std::function<void()>& on_tick = {});

  // How long join() waits for a report before it checks the workers and ticks (100 ms).
  void set_poll_interval_ms(int ms) { poll_interval_ms_ = ms; }

  // The stall watch: `progress(worker)` is a count that grows while the worker trains (its
  // steps), or nullopt while it waits by design (at an epoch gate). A worker whose count has
  // not moved for `seconds` (a replacement's start-up included) is killed with SIGKILL and
  // handled as a failed worker: replaced at its unfinished epoch within --max-restarts, its
  // failure told as "stalled: no step for N s; it was stopped (T)" with the state the kernel
  // gives it. 0 seconds: no watch.
  void watch_progress(std::function<std::optional<int64_t>(int worker)> progress, double seconds);

  // Called from join()'s callbacks: stop every worker (SIGTERM) once the callback returns
  // and make join() return normally, as when they all finish.
  void stop_early() { stop_early_ = true; }

  const std::vector<pid_t>& pids() const { return pids_; }
  int restarts() const { return restarts_; }

 private:
  struct Ledger;
  void spawn(const WorkerStart& start);
  void forget(std::size_t worker);  // after reaping it
  // Reads every report waiting: epochs go to `on_report`, failures into the ledger.
  void drain(Ledger& ledger, const std::function<void(const WorkerReport&)>& on_report);
  // Worker `worker` exited, failing (`how`): a replacement at its unfinished epoch, or, past the
  // bound or for a failure a replacement would repeat, every worker stopped and Error thrown.
  void replace_or_stop(std::size_t worker, std::string how, Ledger& ledger,
                       const std::function<void(const WorkerReport&)>& on_report,
                       const std::function<void(const RestartNotice&)>& on_restart);

  void stop_all();
  StopSignals stop_signals_;
  WorkerBody body_;
  int max_restarts_;
  int restarts_ = 0;
  int first_epoch_ = 0;
  bool stop_early_ = false;
  int poll_interval_ms_ = 100;
  std::vector<pid_t> pids_;  // by worker; -1 once reaped
  std::vector<int> incarnations_;
  // The stall watch, by worker: the progress last seen, since when, and a stalled worker's story.
  void kill_stalled();
  std::function<std::optional<int64_t>(int)> progress_;
  double stall_seconds_ = 0;
  std::vector<std::optional<int64_t>> progress_seen_;
  std::vector<std::chrono::steady_clock::time_point> progress_since_;
  std::vector<std::string> stalled_;
  int read_fd_ = -1;
  int write_fd_ = -1;  // kept for replacements
};

// "exit code 3" / "signal 9 (SIGKILL)" for a waitpid status.
std::string describe_wait_status(int status);

// "stopped (T)", "sleeping (S)", "running (R)": a process's state as /proc/PID/stat gives it.
std::string process_state(pid_t pid);

}  // namespace hogwild
