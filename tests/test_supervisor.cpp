#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "hogwild/error.h"
#include "hogwild/supervisor.h"

using namespace hogwild;

namespace {

// Gone, or a zombie nobody has reaped yet (dead all the same).
bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  const auto paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] == 'Z' ||
         text[paren + 2] == 'X';
}

}  // namespace

TEST_CASE("workers report to the parent, one whole message at a time") {
  constexpr int kProcs = 3;
  constexpr int kEpochs = 50;
  WorkerGroup workers(kProcs, [](int rank, ReportChannel& channel) {
    for (int epoch = 1; epoch <= kEpochs; ++epoch) {
      WorkerReport report;
      report.rank = rank;
      report.epoch = epoch;
      report.samples = 1000 * rank + epoch;
      channel.send(report);
    }
  });
  std::vector<int> last(kProcs, 0);
  int count = 0;
  workers.join([&](const WorkerReport& report) {
    REQUIRE(report.rank >= 0);
    REQUIRE(report.rank < kProcs);
    CHECK(report.samples == 1000 * report.rank + report.epoch);  // not torn
    CHECK(report.epoch == last[report.rank] + 1);                 // in order per rank
    last[report.rank] = report.epoch;
    ++count;
  });
  CHECK(count == kProcs * kEpochs);
  for (pid_t pid : workers.pids()) CHECK(pid == -1);  // all reaped
}

TEST_CASE("a worker's exception is reported with its rank and message, and the others stop") {
  std::vector<pid_t> pids;
  try {
    WorkerGroup workers(2, [](int rank, ReportChannel& channel) {
      if (rank == 1) {
        WorkerReport report;
        report.rank = rank;
        report.epoch = 1;
        channel.send(report);
        throw std::runtime_error("loss is NaN");
      }
      ::pause();  // rank 0 would run forever
    });
    pids = workers.pids();
    workers.join([](const WorkerReport&) {});
    FAIL("join() should have thrown");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "worker rank 1 failed (exit code 1) after 1 of its epochs: loss is NaN");
  }
  for (pid_t pid : pids) CHECK(process_gone(pid));
}

TEST_CASE("a worker killed by a signal is named with the signal") {
  CHECK_THROWS_WITH_AS(
      {
        WorkerGroup workers(2, [](int rank, ReportChannel&) {
          if (rank == 0) ::raise(SIGKILL);
          ::pause();
        });
        workers.join([](const WorkerReport&) {});
      },
      "worker rank 0 failed (signal 9 (SIGKILL)) after 0 of its epochs", Error);
}

TEST_CASE("destroying the group stops and reaps workers still running") {
  std::vector<pid_t> pids;
  {
    WorkerGroup workers(2, [](int, ReportChannel&) { ::pause(); });
    pids = workers.pids();
    for (pid_t pid : pids) CHECK(::kill(pid, 0) == 0);
  }
  for (pid_t pid : pids) CHECK(process_gone(pid));
}

TEST_CASE("workers die with their parent") {
  // A middle process forks a worker group and is then killed with SIGKILL: no destructor
  // runs, so only PR_SET_PDEATHSIG can stop the worker. It tells us its pid first.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t middle = ::fork();
  REQUIRE(middle >= 0);
  if (middle == 0) {
    ::close(fds[0]);
    WorkerGroup workers(1, [&](int, ReportChannel&) {
      const pid_t me = ::getpid();
      (void)!::write(fds[1], &me, sizeof me);
      ::pause();
    });
    ::pause();
    ::_exit(0);
  }
  ::close(fds[1]);
  pid_t worker = 0;
  REQUIRE(::read(fds[0], &worker, sizeof worker) == sizeof worker);
  ::close(fds[0]);
  ::kill(middle, SIGKILL);
  ::waitpid(middle, nullptr, 0);
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {  // up to 2 s; usually immediate
    gone = process_gone(worker);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(gone);
}

TEST_CASE("wait statuses are described for people") {
  CHECK(describe_wait_status(3 << 8) == "exit code 3");
  CHECK(describe_wait_status(SIGSEGV) == "signal 11 (SIGSEGV)");
}
