// Worker processes: fork, a single report channel home, wait, and failure detection.
// Knows nothing of tensors: a worker is any function of its rank.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hogwild {

// One message from a worker to the parent. Fixed size and below PIPE_BUF, so each write to
// the shared pipe is atomic and messages from different workers never interleave.
struct WorkerReport {
  enum Kind : int32_t { kEpoch = 1, kFailure = 2 };
  int32_t kind = kEpoch;
  int32_t rank = 0;
  int32_t epoch = 0;  // 1-based
  int64_t samples = 0;
  int64_t correct = 0;
  double loss_sum = 0;  // sum over samples of the per-sample loss
  double seconds = 0;
  char message[256] = {};  // kFailure: what went wrong
};

// The worker's end of the channel.
class ReportChannel {
 public:
  explicit ReportChannel(int fd) : fd_(fd) {}
  void send(const WorkerReport& report);

 private:
  int fd_;
};

using WorkerBody = std::function<void(int rank, ReportChannel& channel)>;

// Owns the forked workers. Each runs `body(rank, channel)` and exits 0; an exception in it
// is reported to the parent and the worker exits 1. A worker also dies with its parent
// (PR_SET_PDEATHSIG), so a killed parent leaves no orphans training on.
class WorkerGroup {
 public:
  WorkerGroup(int procs, const WorkerBody& body);
  // Stops (SIGTERM, then SIGKILL after a grace period) and reaps workers still running.
  ~WorkerGroup();
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;

  // Hands every report to `on_report` as it arrives, until all workers have exited.
  // If a worker fails (non-zero exit, signal), stops the others and throws Error naming
  // the rank, how it failed, its last epoch and its own message.
  void join(const std::function<void(const WorkerReport&)>& on_report);

  const std::vector<pid_t>& pids() const { return pids_; }

 private:
  void stop_all();
  std::vector<pid_t> pids_;  // -1 once reaped
  int read_fd_ = -1;
};

// "exit code 3" / "signal 9 (SIGKILL)" for a waitpid status.
std::string describe_wait_status(int status);

}  // namespace hogwild
