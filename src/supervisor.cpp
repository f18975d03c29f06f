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
#include <thread>

#include "hogwild/error.h"

namespace hogwild {

static_assert(sizeof(WorkerReport) <= PIPE_BUF, "reports must be written atomically");

namespace {

constexpr auto kGracePeriod = std::chrono::seconds(3);

// Reads one whole report; false on end of file.
bool read_report(int fd, WorkerReport& report) {
  auto* bytes = reinterpret_cast<char*>(&report);
  std::size_t have = 0;
  while (have < sizeof report) {
    const ssize_t n = ::read(fd, bytes + have, sizeof report - have);
    if (n == 0) {
      if (have == 0) return false;
      throw Error("worker report channel closed in the middle of a message");
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(system_error_text("reading worker reports", errno));
    }
    have += std::size_t(n);
  }
  return true;
}

[[noreturn]] void run_child(int rank, int read_fd, int write_fd, pid_t parent,
                            const WorkerBody& body) {
  // Die with the parent; if it is already gone, the signal would never come.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(1);
  ::close(read_fd);
  ReportChannel channel(write_fd);
  int code = 0;
  try {
    body(rank, channel);
  } catch (const std::exception& e) {
    WorkerReport failure;
    failure.kind = WorkerReport::kFailure;
    failure.rank = rank;
    std::snprintf(failure.message, sizeof failure.message, "%s", e.what());
    channel.send(failure);
    code = 1;
  } catch (...) {
    code = 1;
  }
  // _exit: no atexit handlers or static destructors of the parent's libraries, and no
  // second flush of stdio buffers inherited from the parent.
  ::_exit(code);
}

}  // namespace

void ReportChannel::send(const WorkerReport& report) {
  const ssize_t n = ::write(fd_, &report, sizeof report);
  if (n != ssize_t(sizeof report)) throw Error(system_error_text("sending a worker report", errno));
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = ::sigabbrev_np(sig);
    return fmt::format("signal {} (SIG{})", sig, name ? name : "?");
  }
  return fmt::format("wait status {}", status);
}

WorkerGroup::WorkerGroup(int procs, const WorkerBody& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(system_error_text("creating the report pipe", errno));
  read_fd_ = fds[0];
  const pid_t parent = ::getpid();
  std::fflush(nullptr);  // nothing buffered may be duplicated into the children
  for (int rank = 0; rank < procs; ++rank) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int err = errno;
      ::close(fds[1]);
      stop_all();
      throw Error(system_error_text(fmt::format("fork() for worker rank {}", rank), err));
    }
    if (pid == 0) run_child(rank, fds[0], fds[1], parent, body);
    pids_.push_back(pid);
  }
  // The parent keeps only the read end, so the pipe reaches end of file when all workers exit.
  ::close(fds[1]);
}

WorkerGroup::~WorkerGroup() {
  stop_all();
  if (read_fd_ >= 0) ::close(read_fd_);
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
    for (pid_t& pid : pids_) {
      if (pid <= 0) continue;
      int status = 0;
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid || (r < 0 && errno == ECHILD)) pid = -1;
      else running = true;
    }
    if (!running) return;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (pid_t& pid : pids_) {
    if (pid <= 0) continue;
    ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
  }
}

void WorkerGroup::join(const std::function<void(const WorkerReport&)>& on_report) {
  std::vector<int> last_epoch(pids_.size(), 0);
  std::vector<std::string> failure_text(pids_.size());
  bool channel_open = true;
  const auto deliver = [&](const WorkerReport& report) {
    if (report.rank < 0 || std::size_t(report.rank) >= pids_.size()) return;
    if (report.kind == WorkerReport::kFailure) {
      failure_text[report.rank] = std::string(report.message, strnlen(report.message, sizeof report.message));
    } else {
      last_epoch[report.rank] = report.epoch;
      on_report(report);
    }
  };
  // Everything still in the pipe; used once all writers are gone.
  const auto drain = [&] {
    WorkerReport report;
    while (channel_open) {
      if (!read_report(read_fd_, report)) channel_open = false;
      else deliver(report);
    }
  };

  std::size_t running = pids_.size();
  while (running > 0 || channel_open) {
    if (channel_open) {
      pollfd p{read_fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, 100);
      if (ready < 0 && errno != EINTR) throw Error(system_error_text("poll", errno));
      if (ready > 0) {
        WorkerReport report;
        if (read_report(read_fd_, report)) deliver(report);
        else channel_open = false;
      }
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (std::size_t rank = 0; rank < pids_.size(); ++rank) {
      pid_t& pid = pids_[rank];
      if (pid <= 0) continue;
      int status = 0;
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == 0) continue;
      if (r < 0 && errno == EINTR) continue;
      pid = -1;
      --running;
      if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
      const std::string how = r > 0 ? describe_wait_status(status) : "an unknown status";
      stop_all();
      drain();
      std::string message = fmt::format("worker rank {} failed ({}) after {} of its epochs", rank,
                                        how, last_epoch[rank]);
      if (!failure_text[rank].empty()) message += ": " + failure_text[rank];
      throw Error(message);
    }
  }
}

}  // namespace hogwild
