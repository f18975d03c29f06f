// One MPI rank's (node's) part in combining the job's models: it follows the schedule of
// sync.h as its workers progress (their epoch reports, their step counters in the control
// block), averages the node's parameters with the other ranks (an exact mean with the workers
// held at the epoch gate for --sync epoch, the delta average while they run for steps:S),
// gathers every rank's epoch figures to rank 0, and tells every rank whether rank 0 decided
// to stop. Torch-free: it sees the parameters as the floats of the shared segment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "hogwild/metrics.h"
#include "hogwild/mpi_world.h"
#include "hogwild/sync.h"
#include "hogwild/worker_control.h"

namespace hogwild {

// One rank's figures for one epoch, gathered to rank 0 as plain bytes.
struct NodeEpoch {
  int64_t samples = 0;
  int64_t correct = 0;
  double loss_sum = 0;
  double seconds = 0;       // the slowest local worker's time for the epoch
  double lr = 0;            // the workers' step size in the epoch
  double wall_seconds = 0;  // the parent's time since the previous epoch ended
  double mpi_seconds = 0;   // of that, in MPI collectives (waiting for other ranks included)
  uint64_t checksum = 0;    // of the parameters after the epoch's average (epoch, grads)
};

class NodeSync {
 public:
  // Rank 0, once every rank has finished `epoch`: every rank's figures; true stops the run.
  using EpochHandler = std::function<bool(int64_t epoch, const std::vector<NodeEpoch>& nodes)>;

  // Every rank, at each epoch's end, after the average and before rank 0 hears of the epoch:
  // where a collective that every rank must join goes (the checkpoint's momentum gather).
  using EveryRankHook = std::function<void(int64_t epoch)>;

  // `params`: the node's shared parameters (count floats). `control` may be null (grads mode:
  // the rank trains in-process). Call after every rank holds the same starting parameters.
  // The run's epochs are first_epoch + 1 .. epochs (first_epoch: --resume's epochs done).
  NodeSync(MpiWorld& world, const SyncPlan& plan, float* params, std::size_t count,
           WorkerControl* control, int procs, int64_t steps_per_epoch, int64_t epochs,
           EpochHandler on_epoch, int64_t first_epoch = 0, EveryRankHook at_epoch_end = {});

  // Local worker `worker` finished `epoch` (1-based) with step size `lr`.
  void worker_epoch(int worker, int64_t epoch, const Totals& totals, double seconds, double lr = 0);

  // Performs every sync event that is due, in order. Returns true when rank 0 has stopped the
  // run (its target is reached); every rank returns it at the same event.
  bool advance();

  // After the workers have exited: steps:S ends with an exact average, so that every rank
  // holds the same final model; then every rank's checksum of it is gathered to rank 0.
  void finish();

  // Epochs local worker `worker` has reported finished.
  int64_t epochs_reported(int worker) const { return reported_[std::size_t(worker)]; }
  int64_t averages() const { return averages_; }
  std::size_t bytes_per_average() const { return count_ * sizeof(float); }
  // Rank 0, after finish(): each rank's checksum of its final parameters.
  const std::vector<uint64_t>& final_checksums() const { return final_checksums_; }

 private:
  struct Pending {
    Totals totals;
    double seconds = 0;
    double lr = 0;
    int reports = 0;
  };
  int64_t done_steps(int worker) const;
  bool end_epoch(int64_t epoch);
  void average_exactly();

  MpiWorld& world_;
  SyncPlan plan_;
  float* params_;
  std::size_t count_;
  WorkerControl* control_;
  int64_t steps_per_epoch_;
  EpochHandler on_epoch_;
  EveryRankHook at_epoch_end_;
  std::vector<SyncEvent> events_;
  std::size_t next_ = 0;
  std::vector<int64_t> reported_;  // per local worker: epochs finished
  std::map<int64_t, Pending> pending_;
  std::optional<DeltaAverage> delta_;
  int64_t averages_ = 0;
  double last_end_;  // steady-clock seconds at the previous epoch end
  double mpi_at_last_end_ = 0;
  std::vector<uint64_t> final_checksums_;
};

}  // namespace hogwild
