#include "hogwild/supervisor.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

namespace hogwild {

static_assert(sizeof(WorkerReport) <= PIPE_BUF, "reports must be written atomically");

namespace {

constexpr auto kGracePeriod = std::chrono::seconds(3);

// Reads one whole report if one is waiting; false if the pipe is empty.
bool try_read_report(int fd, WorkerReport& report) {
  auto* bytes = reinterpret_cast<char*>(&report);
  std::size_t have = 0;
  while (have < sizeof report) {
    const ssize_t n = ::read(fd, bytes + have, sizeof report - have);
    if (n > 0) {
      have += std::size_t(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      if (have == 0) return false;
      pollfd p{fd, POLLIN, 0};  // the rest of a message is on its way
      ::poll(&p, 1, 100);
    } else if (n == 0) {
      throw Error("worker report channel closed unexpectedly");
    } else {
      throw Error(system_error_text("reading worker reports", errno));
    }
  }
  return true;
}

}  // namespace

void ReportChannel::send(const WorkerReport& report) {
  const ssize_t n = ::write(fd_, &report, sizeof report);
  if (n != ssize_t(sizeof report)) throw Error(system_error_text("sending a worker report", errno));
}

std::string process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const auto paren = line.rfind(") ");  // the command name may hold spaces and parentheses
  if (paren == std::string::npos || paren + 2 >= line.size()) return "in an unknown state";
  const char state = line[paren + 2];
  const char* what = state == 'R'   ? "running"
                     : state == 'S' ? "sleeping"
                     : state == 'D' ? "waiting on I/O"
                     : state == 'T' ? "stopped"
                     : state == 't' ? "stopped by a debugger"
                     : state == 'Z' ? "a zombie"
                                    : "in state";
  return fmt::format("{} ({})", what, state);
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return fmt::format("signal {} ({})", sig, signal_name(sig));
  }
  return fmt::format("wait status {}", status);
}

WorkerGroup::WorkerGroup(int procs, WorkerBody body, int max_restarts, int first_epoch)
    : body_(std::move(body)), max_restarts_(max_restarts), first_epoch_(first_epoch) {
  if (procs < 1 || procs > kMaxKilledWorkers) {
    throw Error(fmt::format("cannot supervise {} workers (at most {})", procs, kMaxKilledWorkers));
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw Error(system_error_text("creating the report pipe", errno));
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  ::fcntl(read_fd_, F_SETFL, ::fcntl(read_fd_, F_GETFL) | O_NONBLOCK);
  set_registered_worker_count(0);

  pids_.assign(procs, -1);
  incarnations_.assign(procs, 0);
  progress_seen_.assign(procs, std::nullopt);
  progress_since_.assign(procs, std::chrono::steady_clock::now());
  stalled_.assign(procs, "");
  set_registered_worker_count(procs);
  try {
    for (int worker = 0; worker < procs; ++worker) spawn({worker, first_epoch, 0});
  } catch (...) {
    stop_all();  // no destructor runs for a constructor that throws
    ::close(read_fd_);
    ::close(write_fd_);
    set_registered_worker_count(0);
    throw;
  }
}

void WorkerGroup::spawn(const WorkerStart& start) {
  const pid_t parent = ::getpid();
  std::fflush(nullptr);  // nothing buffered may be duplicated into the child
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int code = errno;
    std::string message =
        system_error_text(fmt::format("fork() for worker {}", start.worker), code);
    if (code == EAGAIN || code == ENOMEM) {
      message += " (the process limit, ulimit -u, or memory is exhausted: lower --procs)";
    }
    throw Error(message);
  }
  if (pid == 0) {
    ::signal(SIGINT, SIG_IGN);  // Ctrl-C reaches the whole process group: the parent decides
    ::signal(SIGTERM, SIG_DFL);
    // Crash handlers a library installed in the parent (OpenMPI's print a backtrace and
    // talk to mpirun) are not the worker's: it dies as any process would.
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGCHLD}) ::signal(sig, SIG_DFL);
    // Die with the parent; if it is already gone, the signal would never come.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    ::close(read_fd_);
    ReportChannel channel(write_fd_);
    int code = 0;
    WorkerReport failure;
    failure.worker = start.worker;
    try {
      body_(start, channel);
    } catch (const FatalError& e) {
      failure.kind = WorkerReport::kFatal;
      std::snprintf(failure.message, sizeof failure.message, "%s", first_line(e.what()).c_str());
      code = 1;
    } catch (const std::exception& e) {
      failure.kind = WorkerReport::kFailure;
      // LibTorch's messages go on for lines of C++ frames: the first line says what failed.
      std::snprintf(failure.message, sizeof failure.message, "%s", first_line(e.what()).c_str());
      code = 1;
    } catch (...) {
      failure.kind = WorkerReport::kFailure;
      std::snprintf(failure.message, sizeof failure.message, "unknown exception");
      code = 1;
    }
    if (code != 0) {
      try {
        channel.send(failure);
      } catch (...) {
      }
    }
    // _exit: no atexit handlers or static destructors of the parent's libraries, and no
    // second flush of stdio buffers inherited from the parent.
    ::_exit(code);
  }
  pids_[start.worker] = pid;
  incarnations_[start.worker] = start.incarnation;
  progress_seen_[start.worker] = std::nullopt;  // a new process: its start-up counts from now
  progress_since_[start.worker] = std::chrono::steady_clock::now();
  register_worker_pid(start.worker, pid);
}

WorkerGroup::~WorkerGroup() {
  stop_all();
  if (read_fd_ >= 0) ::close(read_fd_);
  if (write_fd_ >= 0) ::close(write_fd_);
  set_registered_worker_count(0);
}

void WorkerGroup::forget(std::size_t worker) {
  // A reaped pid may be reused by any process: a second Ctrl-C must not kill it.
  register_worker_pid(int(worker), -1);
  pids_[worker] = -1;
}

void WorkerGroup::stop_all() {
  bool any = false;
  for (pid_t pid : pids_) {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      any = true;
    }
  }
  if (!any) return;
  const auto deadline = std::chrono::steady_clock::now() + kGracePeriod;
  for (;;) {
    bool running = false;
    for (std::size_t worker = 0; worker < pids_.size(); ++worker) {
      if (pids_[worker] <= 0) continue;
      int status = 0;
      const pid_t r = ::waitpid(pids_[worker], &status, WNOHANG);
      if (r == pids_[worker] || (r < 0 && errno == ECHILD))
        forget(worker);
      else
        running = true;
    }
    if (!running) return;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (std::size_t worker = 0; worker < pids_.size(); ++worker) {
    if (pids_[worker] <= 0) continue;
    ::kill(pids_[worker], SIGKILL);
    int status = 0;
    while (::waitpid(pids_[worker], &status, 0) < 0 && errno == EINTR) {
    }
    forget(worker);
  }
}

void WorkerGroup::watch_progress(std::function<std::optional<int64_t>(int)> progress,
                                 double seconds) {
  progress_ = std::move(progress);
  stall_seconds_ = seconds;
}

void WorkerGroup::kill_stalled() {
  if (!progress_ || stall_seconds_ <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  for (std::size_t worker = 0; worker < pids_.size(); ++worker) {
    if (pids_[worker] <= 0 || !stalled_[worker].empty()) continue;
    const std::optional<int64_t> progress = progress_(int(worker));
    // Moving, or waiting by design: the clock starts again.
    if (!progress || progress != progress_seen_[worker]) {
      progress_seen_[worker] = progress;
      progress_since_[worker] = now;
      continue;
    }
    const double idle = std::chrono::duration<double>(now - progress_since_[worker]).count();
    if (idle < stall_seconds_) continue;
    stalled_[worker] =
        fmt::format("stalled: no step for {:.0f} s; it was {}", idle, process_state(pids_[worker]));
    ::kill(pids_[worker], SIGKILL);  // reaped and replaced (or not) as any failed worker
  }
}

// What join() has heard of each worker.
struct WorkerGroup::Ledger {
  Ledger(std::size_t procs, int first_epoch)
      : epochs_done(procs, first_epoch),
        failure(procs),
        last_failure(procs),
        last_failure_epoch(procs, -1) {
    for (auto& f : failure) f.kind = 0;
  }
  std::vector<int> epochs_done;
  std::vector<WorkerReport> failure;      // kind 0: none reported
  std::vector<std::string> last_failure;  // how each worker failed last, and in which epoch
  std::vector<int> last_failure_epoch;
};

void WorkerGroup::drain(Ledger& ledger, const std::function<void(const WorkerReport&)>& on_report) {
  WorkerReport report;
  while (try_read_report(read_fd_, report)) {
    if (report.worker < 0 || std::size_t(report.worker) >= pids_.size()) continue;
    if (report.kind == WorkerReport::kEpoch) {
      ledger.epochs_done[report.worker] = report.epoch;
      on_report(report);
    } else {
      ledger.failure[report.worker] = report;
    }
  }
}

void WorkerGroup::join(const std::function<void(const WorkerReport&)>& on_report,
                       const std::function<void(const RestartNotice&)>& on_restart,
                       const std::function<void()>& on_tick) {
  const std::size_t procs = pids_.size();
  Ledger ledger(procs, first_epoch_);
  std::size_t finished = 0;
  while (finished < procs) {
    pollfd p{read_fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, poll_interval_ms_);
    if (ready < 0 && errno != EINTR) throw Error(system_error_text("poll", errno));
    drain(ledger, on_report);
    if (on_tick) on_tick();
    if (stop_early_) {
      stop_all();
      return;
    }
    if (StopSignals::received() != 0) {
      stop_all();
      StopSignals::throw_if_received("; workers stopped");
    }
    kill_stalled();
    for (std::size_t worker = 0; worker < procs; ++worker) {
      pid_t& pid = pids_[worker];
      if (pid <= 0) continue;
      int status = 0;
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == 0 || (r < 0 && errno == EINTR)) continue;
      forget(worker);
      if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        ++finished;
        continue;
      }
      drain(ledger, on_report);  // a failing worker reports before it exits
      replace_or_stop(worker, r > 0 ? describe_wait_status(status) : "an unknown status", ledger,
                      on_report, on_restart);
    }
  }
  drain(ledger, on_report);
}

void WorkerGroup::replace_or_stop(std::size_t worker, std::string how, Ledger& ledger,
                                  const std::function<void(const WorkerReport&)>& on_report,
                                  const std::function<void(const RestartNotice&)>& on_restart) {
  if (!stalled_[worker].empty()) {  // killed here, for a stall: that is the story, not the signal
    how = stalled_[worker];
    stalled_[worker].clear();
  }
  const WorkerReport& reported = ledger.failure[worker];
  if (reported.kind != 0) {
    how += ": " + std::string(reported.message, strnlen(reported.message, sizeof reported.message));
  }
  const bool fatal = reported.kind == WorkerReport::kFatal;
  // The same exception in the same epoch after a restart is no transient fault: a
  // replacement would only fail again. (A signal may come from outside, as the OOM killer's
  // does: those are retried up to the bound.)
  const bool threw = reported.kind == WorkerReport::kFailure;
  const int epochs_done = ledger.epochs_done[worker];
  const bool repeated = threw && how == ledger.last_failure[worker] &&
                        epochs_done == ledger.last_failure_epoch[worker];
  ledger.last_failure[worker] = threw ? how : std::string();
  ledger.last_failure_epoch[worker] = epochs_done;
  ledger.failure[worker].kind = 0;
  if (!fatal && !repeated && restarts_ < max_restarts_) {
    ++restarts_;
    const WorkerStart start{int(worker), epochs_done, incarnations_[worker] + 1};
    spawn(start);
    if (on_restart) on_restart({int(worker), how, start.first_epoch, restarts_, max_restarts_});
    return;
  }
  stop_all();
  drain(ledger, on_report);
  std::string message =
      fmt::format("worker {} failed in epoch {} ({})", worker, epochs_done + 1, how);
  if (repeated) {
    message +=
        "; it failed the same way in the same epoch after a restart, so it is not restarted again";
  } else if (!fatal) {
    message += fmt::format("; {} of {} restarts used (--max-restarts)", restarts_, max_restarts_);
  }
  throw Error(message);
}

}  // namespace hogwild
