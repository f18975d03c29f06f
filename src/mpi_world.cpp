#include "hogwild/mpi_world.h"

#include <fmt/format.h>
#include <mpi.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "hogwild/error.h"
#include "hogwild/stop_signals.h"

namespace hogwild {
namespace {

using Clock = std::chrono::steady_clock;

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(fmt::format("MPI: {} failed: {}", what, text));
}

// Completes `request`: a few quick tests for the usual microseconds, then short sleeps, so
// that a rank waiting for a slower one neither burns a core nor misses a stop signal. A stop
// signal here is mpirun ending the job: the rank says so at once, before its clean-up, as
// mpirun kills it outright a second later.
void wait_for(MPI_Request& request, const char* what, const MpiWorld& world) {
  const auto started = Clock::now();
  for (int polls = 0;; ++polls) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    if (const int sig = StopSignals::received(); sig != 0) {
      const std::string message = fmt::format(
          "interrupted by {} while waiting for the other MPI ranks ({}); mpirun sends it when "
          "another rank has failed",
          signal_name(sig), what);
      std::fflush(stdout);
      fmt::print(stderr, "{}: {}\n", world.who(), message);
      std::fflush(stderr);
      throw Interrupted(sig, message, /*told=*/true);
    }
    if (const double waited = std::chrono::duration<double>(Clock::now() - started).count();
        world.wait_limit() > 0 && waited > world.wait_limit()) {
      std::fflush(stdout);
      fmt::print(stderr,
                 "{}: error: no answer from the other MPI ranks for {:.0f} s ({}; --sync-timeout "
                 "{}): a rank is stopped, hung or unreachable; ending the job\n",
                 world.who(), waited, what, world.wait_limit());
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, MpiWorld::kWaitLimitExit);  // mpirun ends every rank
    }
    if (polls > 200) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

class Timer {
 public:
  explicit Timer(double& total) : total_(total), start_(Clock::now()) {}
  ~Timer() { total_ += std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  double& total_;
  Clock::time_point start_;
};

}  // namespace

bool MpiWorld::launched_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return true;
  }
  return false;
}

MpiWorld::MpiWorld(int* argc, char*** argv) {
  if (!launched_by_mpirun()) return;
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  active_ = true;
  // Errors come back as codes (turned into exceptions), not as an abort inside MPI.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm local;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
        "MPI_Comm_split_type");
  MPI_Comm_size(local, &local_size_);
  MPI_Comm_free(&local);
}

std::string MpiWorld::who() const {
  if (!active_ || rank_ == 0) return "hogwild_train";
  return fmt::format("hogwild_train (MPI rank {} of {})", rank_, size_);
}

MpiWorld::~MpiWorld() {
  if (active_ && finalize_) MPI_Finalize();
}

void MpiWorld::allreduce_sum(float* data, std::size_t count) {
  if (!active_) return;
  const Timer timer(seconds_in_mpi_);
  MPI_Request request;
  check(
      MPI_Iallreduce(MPI_IN_PLACE, data, int(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &request),
      "MPI_Iallreduce");
  wait_for(request, "averaging", *this);
}

void MpiWorld::broadcast(void* data, std::size_t bytes, int root) {
  if (!active_) return;
  const Timer timer(seconds_in_mpi_);
  MPI_Request request;
  check(MPI_Ibcast(data, int(bytes), MPI_BYTE, root, MPI_COMM_WORLD, &request), "MPI_Ibcast");
  wait_for(request, "broadcast", *this);
}

std::vector<char> MpiWorld::gather(const void* data, std::size_t bytes) {
  if (!active_) {
    const auto* p = static_cast<const char*>(data);
    return std::vector<char>(p, p + bytes);
  }
  const Timer timer(seconds_in_mpi_);
  std::vector<char> all(rank_ == 0 ? bytes * std::size_t(size_) : 0);
  MPI_Request request;
  check(MPI_Igather(data, int(bytes), MPI_BYTE, all.data(), int(bytes), MPI_BYTE, 0, MPI_COMM_WORLD,
                    &request),
        "MPI_Igather");
  wait_for(request, "gather", *this);
  return all;
}

std::vector<std::string> MpiWorld::gather_strings(const std::string& mine) {
  if (!active_) return {mine};
  const int length = int(mine.size());
  const std::vector<char> raw = gather(&length, sizeof length);
  std::vector<int> lengths(rank_ == 0 ? size_ : 0), offsets(lengths.size());
  int total = 0;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    std::memcpy(&lengths[r], raw.data() + r * sizeof(int), sizeof(int));
    offsets[r] = total;
    total += lengths[r];
  }
  std::vector<char> text(std::size_t(total) + 1);
  {
    const Timer timer(seconds_in_mpi_);
    MPI_Request request;
    check(MPI_Igatherv(mine.data(), length, MPI_CHAR, text.data(), lengths.data(), offsets.data(),
                       MPI_CHAR, 0, MPI_COMM_WORLD, &request),
          "MPI_Igatherv");
    wait_for(request, "gather", *this);
  }
  std::vector<std::string> all;
  for (std::size_t r = 0; r < lengths.size(); ++r)
    all.emplace_back(text.data() + offsets[r], lengths[r]);
  return all;
}

}  // namespace hogwild
