// The parent's side of training at epoch boundaries, and the one writer of the run's epoch
// results: it records each worker's (or, under mpirun, each rank's) epochs and, once every
// worker has finished an epoch, closes it: evaluates (--eval-every-epoch, --target-accuracy)
// and checkpoints (--checkpoint-every). An evaluation reads the shared parameters while the
// workers go on writing them: a snapshot as consistent as Hogwild itself, copied in
// microseconds, so the workers never wait for it. A checkpoint is the run's state at the
// epoch's end: the workers wait at the epoch gate (worker_control.h) until it is saved.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "hogwild/checkpoint.h"
#include "hogwild/config.h"
#include "hogwild/dataset.h"
#include "hogwild/model.h"
#include "hogwild/node_sync.h"
#include "hogwild/report.h"
#include "hogwild/worker_control.h"

namespace hogwild {

class EpochBoundaries {
 public:
  // The run's epochs are run.resumed_after + 1 .. config.epochs.
  EpochBoundaries(const Config& config, MnistNet model, const Dataset& test, RunRecord& run,
                  std::FILE* out);

  // What a checkpoint holds besides the parameters and the epoch: `base` (ranks, training
  // configuration and data), and every worker's momentum buffers as the mode's
  // `momentum(partial)` gives them (empty: none to save).
  using MomentumSource = std::function<std::vector<std::vector<float>>(bool partial)>;
  void describe_checkpoints(RunState base) { checkpoint_base_ = std::move(base); }
  void take_momentum_from(MomentumSource momentum) { momentum_ = std::move(momentum); }

  // A local worker finished an epoch: its record and its line. Returns the epoch that every
  // worker has now finished, if this report completed one (the caller closes it), else 0.
  int64_t record_worker_epoch(const EpochRecord& record);
  // Epochs local worker `worker` has reported finished.
  int64_t epochs_reported(int worker) const { return epochs_done_[std::size_t(worker)]; }

  // Under mpirun (rank 0): every rank's figures for `epoch`, one line for all. The ranks'
  // checksums must agree when the epoch ended with an exact average (`averaged`).
  void record_rank_epochs(int64_t epoch, const std::vector<NodeEpoch>& ranks, bool averaged);

  // Every worker (of every rank) has finished `epoch`: evaluate, checkpoint.
  void close_epoch(int64_t epoch);

  // An evaluation reached --target-accuracy: the run should stop.
  bool target_reached() const { return run_.target_epoch > 0; }

  // After the workers are gone: the test result of the run, and the model it belongs to.
  void final_evaluation();

  // A checkpoint of the epochs closed so far: `partial` when a stop signal came within the
  // next one (its parameters then hold part of it).
  void save(const std::string& why, bool partial = false);
  // What save() writes beside the parameters.
  RunState state(bool partial) const;
  // A checkpoint (or an evaluation) is due at the end of `epoch`.
  bool checkpoint_due(int64_t epoch) const;
  int64_t epochs_closed() const { return closed_; }
  double seconds() const;
  // Seconds left, from the share of the run the slowest worker has done: its epochs, and once
  // follow_steps() was called, its steps (so the first epoch lines of N workers, which finish
  // together, do not read as if the others had not started).
  double eta() const;
  void follow_steps(const WorkerControl* control, int64_t steps_per_epoch);

 private:
  template <typename... Args>
  void print(fmt::format_string<Args...> format, Args&&... args) {
    fmt::print(out_, format, std::forward<Args>(args)...);
    std::fflush(out_);
  }
  void record_evaluation(int64_t epoch, const Totals& test, bool print_line = true);

  const Config& config_;
  MnistNet model_;  // its parameters are the shared ones
  MnistNet snapshot_;
  const Dataset& test_;
  RunRecord& run_;
  std::FILE* out_;
  const bool evaluate_each_;
  std::vector<int64_t> epochs_done_;  // per worker
  const int64_t first_epoch_;         // --resume: the checkpoint's epochs
  int64_t closed_;                    // the last epoch closed
  int64_t evaluated_;                 // the slowest worker's epoch at the last evaluation
  RunState checkpoint_base_;
  MomentumSource momentum_;
  const WorkerControl* control_ = nullptr;
  int64_t steps_per_epoch_ = 0;
  const std::chrono::steady_clock::time_point started_;
};

}  // namespace hogwild
