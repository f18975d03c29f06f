#include <doctest/doctest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>

#include "hogwild/error.h"
#include "hogwild/supervisor.h"
#include "test_support.h"

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
  WorkerGroup workers(kProcs, [](const WorkerStart& start, ReportChannel& channel) {
    const int worker = start.worker;
    for (int epoch = 1; epoch <= kEpochs; ++epoch) {
      WorkerReport report;
      report.worker = worker;
      report.epoch = epoch;
      report.samples = 1000 * worker + epoch;
      channel.send(report);
    }
  });
  std::vector<int> last(kProcs, 0);
  int count = 0;
  workers.join([&](const WorkerReport& report) {
    REQUIRE(report.worker >= 0);
    REQUIRE(report.worker < kProcs);
    CHECK(report.samples == 1000 * report.worker + report.epoch);  // not torn
    CHECK(report.epoch == last[report.worker] + 1);                // in order per worker
    last[report.worker] = report.epoch;
    ++count;
  });
  CHECK(count == kProcs * kEpochs);
  for (pid_t pid : workers.pids()) CHECK(pid == -1);  // all reaped
}

TEST_CASE("a worker's exception is reported with its index and message, and the others stop") {
  std::vector<pid_t> pids;
  try {
    WorkerGroup workers(2, [](const WorkerStart& start, ReportChannel& channel) {
      const int worker = start.worker;
      if (worker == 1) {
        WorkerReport report;
        report.worker = worker;
        report.epoch = 1;
        channel.send(report);
        throw std::runtime_error("loss is NaN");
      }
      ::pause();  // worker 0 would run forever
    });
    pids = workers.pids();
    workers.join([](const WorkerReport&) {});
    FAIL("join() should have thrown");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) ==
          "worker 1 failed in epoch 2 (exit code 1: loss is NaN); 0 of 0 restarts used "
          "(--max-restarts)");
  }
  for (pid_t pid : pids) CHECK(process_gone(pid));
}

TEST_CASE("a worker killed by a signal is named with the signal") {
  CHECK_THROWS_WITH_AS(
      {
        WorkerGroup workers(2, [](const WorkerStart& start, ReportChannel&) {
          if (start.worker == 0) ::raise(SIGKILL);
          ::pause();
        });
        workers.join([](const WorkerReport&) {});
      },
      "worker 0 failed in epoch 1 (signal 9 (SIGKILL)); 0 of 0 restarts used (--max-restarts)",
      Error);
}

TEST_CASE("destroying the group stops and reaps workers still running") {
  std::vector<pid_t> pids;
  {
    WorkerGroup workers(2, [](const WorkerStart&, ReportChannel&) { ::pause(); });
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
    WorkerGroup workers(1, [&](const WorkerStart&, ReportChannel&) {
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
  REQUIRE(hogwild::testing::wait_child(middle, nullptr));
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {  // up to 2 s; usually immediate
    gone = process_gone(worker);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(gone);
}

namespace {

// Reports epochs 1..3 from `first_epoch`; worker 1's first incarnation dies in epoch 2.
void flaky_worker(const WorkerStart& start, ReportChannel& channel) {
  for (int epoch = start.first_epoch; epoch < 3; ++epoch) {
    if (start.worker == 1 && start.incarnation == 0 && epoch == 1) ::raise(SIGKILL);
    WorkerReport report;
    report.worker = start.worker;
    report.epoch = epoch + 1;
    report.samples = start.incarnation;
    channel.send(report);
  }
}

}  // namespace

TEST_CASE("a failed worker is replaced and resumes its unfinished epoch") {
  WorkerGroup workers(2, flaky_worker, /*max_restarts=*/1);
  std::vector<RestartNotice> notices;
  std::vector<std::pair<int, int>> worker1;  // (epoch, incarnation)
  workers.join(
      [&](const WorkerReport& r) {
        if (r.worker == 1) worker1.emplace_back(r.epoch, int(r.samples));
      },
      [&](const RestartNotice& n) { notices.push_back(n); });
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].worker == 1);
  CHECK(notices[0].how == "signal 9 (SIGKILL)");
  CHECK(notices[0].first_epoch == 1);  // epoch 1 was done; the replacement redoes epoch 2
  CHECK(notices[0].restarts == 1);
  CHECK(workers.restarts() == 1);
  CHECK(worker1 == std::vector<std::pair<int, int>>{{1, 0}, {2, 1}, {3, 1}});
}

TEST_CASE("restarts are bounded over the whole run") {
  CHECK_THROWS_WITH_AS(
      {
        WorkerGroup workers(
            2, [](const WorkerStart&, ReportChannel&) { ::raise(SIGKILL); }, 2);
        workers.join([](const WorkerReport&) {});
      },
      doctest::Contains("2 of 2 restarts used"), Error);
}

TEST_CASE("a fatal failure is not restarted") {
  int restarts = 0;
  CHECK_THROWS_WITH_AS(
      {
        WorkerGroup workers(
            1, [](const WorkerStart&, ReportChannel&) { throw FatalError("loss became nan"); }, 3);
        workers.join([](const WorkerReport&) {}, [&](const RestartNotice&) { ++restarts; });
      },
      "worker 0 failed in epoch 1 (exit code 1: loss became nan)", Error);
  CHECK(restarts == 0);
}

TEST_CASE("StopSignals records the first signal, nests, and restores the handlers it found") {
  struct sigaction before {};
  ::sigaction(SIGINT, nullptr, &before);
  {
    const StopSignals outer;
    CHECK(StopSignals::received() == 0);
    StopSignals::throw_if_received(" now");  // nothing received: no throw
    ::raise(SIGINT);  // handled before raise() returns; a second one would exit
    CHECK(StopSignals::received() == SIGINT);
    {
      const StopSignals inner;  // a WorkerGroup's, inside a run's
      CHECK(StopSignals::received() == SIGINT);
    }
    CHECK(StopSignals::received() == SIGINT);
    CHECK_THROWS_WITH_AS(StopSignals::throw_if_received(" while testing"),
                         "interrupted by SIGINT while testing", Interrupted);
  }
  CHECK(StopSignals::received() == 0);
  struct sigaction after {};
  ::sigaction(SIGINT, nullptr, &after);
  CHECK((after.sa_handler == before.sa_handler));
}

TEST_CASE("SIGTERM to the parent stops the workers and reports the signal") {
  struct sigaction before {};
  ::sigaction(SIGTERM, nullptr, &before);
  std::vector<pid_t> pids;
  CHECK_THROWS_WITH_AS(
      {
        WorkerGroup workers(2, [](const WorkerStart&, ReportChannel&) { ::pause(); });
        pids = workers.pids();
        ::kill(::getpid(), SIGTERM);
        workers.join([](const WorkerReport&) {});
      },
      "interrupted by SIGTERM; workers stopped", Interrupted);
  for (pid_t pid : pids) CHECK(process_gone(pid));
  // The disposition from before is back once the group is gone.
  struct sigaction current {};
  ::sigaction(SIGTERM, nullptr, &current);
  CHECK((current.sa_handler == before.sa_handler));
}

TEST_CASE("wait statuses are described for people") {
  CHECK(describe_wait_status(3 << 8) == "exit code 3");
  CHECK(describe_wait_status(SIGSEGV) == "signal 11 (SIGSEGV)");
}

TEST_CASE("a reaped worker's pid is no longer one a second Ctrl-C would kill") {
  WorkerGroup workers(2, [](const WorkerStart& start, ReportChannel& channel) {
    if (start.worker == 0) return;  // exits at once and is reaped; its pid may be reused
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    WorkerReport report;
    report.worker = 1;
    report.epoch = 1;
    channel.send(report);
    std::this_thread::sleep_for(std::chrono::seconds(30));
  });
  const pid_t first = workers.pids()[0];
  const pid_t second = workers.pids()[1];
  CHECK(pids_killed_on_second_signal() == std::vector<pid_t>{first, second});
  std::vector<pid_t> killable;
  workers.join([&](const WorkerReport&) {
    killable = pids_killed_on_second_signal();
    workers.stop_early();
  });
  CHECK(workers.pids()[0] == -1);
  CHECK(killable == std::vector<pid_t>{second});
}

namespace {

// Step counters the workers and the parent share, as the control block's are.
struct SharedCounters {
  SharedCounters() {
    void* memory = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(memory != MAP_FAILED);
    counts = static_cast<std::atomic<int64_t>*>(memory);
    for (int i = 0; i < 4; ++i) new (&counts[i]) std::atomic<int64_t>(0);
  }
  ~SharedCounters() { ::munmap(counts, 4096); }
  std::atomic<int64_t>* counts;
};

}  // namespace

TEST_CASE(
    "a worker that stops making steps is killed, named as stalled with its state, and replaced") {
  SharedCounters steps;
  // Rank 1's first incarnation makes a few steps and stops itself (as kill -STOP would); every
  // other worker steps for 1.5 s and reports its epoch. Worker 0 also sits 2 s in a wait the
  // probe marks as by design (an epoch gate): that is no stall.
  WorkerGroup workers(
      2,
      [&](const WorkerStart& start, ReportChannel& channel) {
        std::atomic<int64_t>& mine = steps.counts[start.worker];
        if (start.worker == 1 && start.incarnation == 0) {
          for (int i = 0; i < 5; ++i) mine.fetch_add(1);
          ::raise(SIGSTOP);
        }
        if (start.worker == 0) {
          mine.store(-1);  // "at the gate"
          std::this_thread::sleep_for(std::chrono::seconds(2));
          mine.store(0);
        }
        for (int i = 0; i < 150; ++i) {
          mine.fetch_add(1);
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        WorkerReport report;
        report.worker = start.worker;
        report.epoch = 1;
        channel.send(report);
      },
      /*max_restarts=*/1);
  workers.watch_progress(
      [&](int worker) -> std::optional<int64_t> {
        const int64_t value = steps.counts[worker].load();
        if (value < 0) return std::nullopt;
        return value;
      },
      /*seconds=*/0.5);
  std::vector<RestartNotice> restarts;
  int reports = 0;
  workers.join([&](const WorkerReport&) { ++reports; },
               [&](const RestartNotice& notice) { restarts.push_back(notice); });
  CHECK(reports == 2);
  REQUIRE(restarts.size() == 1);
  CHECK(restarts[0].worker == 1);
  CHECK(restarts[0].how.find("stalled: no step for ") == 0);
  CHECK(restarts[0].how.find("; it was stopped (T)") != std::string::npos);
  CHECK(workers.restarts() == 1);
}

TEST_CASE("without a watch, or once it is off, a slow worker is left alone") {
  for (const double seconds : {0.0, 30.0}) {
    CAPTURE(seconds);
    SharedCounters steps;
    WorkerGroup workers(1, [&](const WorkerStart&, ReportChannel& channel) {
      std::this_thread::sleep_for(std::chrono::milliseconds(800));  // no step at all meanwhile
      WorkerReport report;
      report.epoch = 1;
      channel.send(report);
    });
    workers.watch_progress(
        [&](int worker) -> std::optional<int64_t> { return steps.counts[worker].load(); }, seconds);
    int reports = 0;
    workers.join([&](const WorkerReport&) { ++reports; },
                 [&](const RestartNotice&) { FAIL("no worker should be replaced"); });
    CHECK(reports == 1);
  }
}

TEST_CASE("a process's state, as the kernel gives it") {
  CHECK(process_state(::getpid()) == "running (R)");
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::raise(SIGSTOP);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(hogwild::testing::wait_child(child, &status, std::chrono::seconds(10), WUNTRACED));
  CHECK(process_state(child) == "stopped (T)");
  ::kill(child, SIGKILL);
  REQUIRE(hogwild::testing::wait_child(child, &status));
  CHECK(process_state(child) == "in an unknown state");  // gone
}
