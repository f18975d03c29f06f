// The MPI job this process belongs to, when mpirun started it. The only file that includes
// mpi.h (src/mpi_world.cpp). Started without mpirun, it is a world of one that never touches
// MPI, so hogwild_train behaves as it always has.
//
// Fork safety: MPI_Init comes first and the rank's workers are forked after it (restarts
// fork later still). That is safe with the shared-memory (vader) and TCP transports that
// Debian's OpenMPI uses; Debian turns the fork-hostile RDMA transports (openib, ucx, ofi)
// off. Workers never call MPI, leave with _exit(), and reset OpenMPI's crash handlers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hogwild {

class MpiWorld {
 public:
  // True when an MPI launcher (mpirun, mpiexec) started this process.
  static bool launched_by_mpirun();

  // MPI_Init when launched by mpirun; otherwise a world of one without MPI.
  MpiWorld(int* argc, char*** argv);
  // MPI_Finalize if finalize() was called: on a failure another rank may never get there,
  // so a failing rank exits without it and mpirun ends the job.
  ~MpiWorld();
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  bool active() const { return active_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  // Ranks on this machine (they share its cores).
  int local_size() const { return local_size_; }
  // Who a message on stderr is from: "hogwild_train", or "hogwild_train (MPI rank 2 of 3)"
  // on a rank other than 0.
  std::string who() const;

  // The collectives. Each waits by polling (MPI_Test, then short sleeps), so that SIGINT and
  // SIGTERM (mpirun's way of ending a job when another rank failed) throw Interrupted
  // instead of leaving the rank blocked in MPI. All ranks must call them in the same order.
  void allreduce_sum(float* data, std::size_t count);
  void broadcast(void* data, std::size_t bytes, int root = 0);
  // Rank 0 gets every rank's bytes (each `bytes` long), in rank order; the others get none.
  std::vector<char> gather(const void* data, std::size_t bytes);
  // Rank 0 gets every rank's string; the others get none.
  std::vector<std::string> gather_strings(const std::string& mine);

  // Exit code of a job ended by the wait limit (MPI_Abort's code, which mpirun passes on).
  static constexpr int kWaitLimitExit = 3;
  // Each collective waits at most `seconds` (0: for ever). Past it this rank prints one line
  // (what it waited for, for how long, the hint) and ends the whole job with MPI_Abort, so
  // that a stopped, hung or unreachable rank does not hold the others for ever (--sync-timeout).
  void set_wait_limit(double seconds) { wait_limit_ = seconds; }
  double wait_limit() const { return wait_limit_; }

  // Seconds this rank has spent in the collectives (waiting for the others included).
  double seconds_in_mpi() const { return seconds_in_mpi_; }

  // The run succeeded on this rank: finalize MPI on destruction.
  void finalize_on_exit() { finalize_ = true; }

 private:
  bool active_ = false;
  bool finalize_ = false;
  int rank_ = 0;
  int size_ = 1;
  int local_size_ = 1;
  double seconds_in_mpi_ = 0;
  double wait_limit_ = 0;
};

}  // namespace hogwild
