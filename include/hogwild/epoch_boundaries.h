// The parent's side of training at epoch boundaries, and the one writer of the run's epoch
// results: it records each worker's (or, under mpirun, each rank's) epochs and, once every
// worker has finished an epoch, closes it: evaluates (--eval-every-epoch, --target-accuracy)
// and checkpoints (--checkpoint-every). It reads the shared parameters while the workers go
// on writing them: a snapshot as consistent as Hogwild itself. It evaluates a copy, taken in
// microseconds, so the workers never wait for an evaluation.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "hogwild/config.h"
#include "hogwild/dataset.h"
#include "hogwild/model.h"
#include "hogwild/node_sync.h"
#include "hogwild/report.h"
#include "hogwild/worker_control.h"

namespace hogwild {

class EpochBoundaries {
 public:
  EpochBoundaries(const Config& config, MnistNet model, const Dataset& test, RunRecord& run,
                  std::FILE* out);

  // A local worker finished an epoch: its record and its line. Returns the epoch that every
  // worker has now finished, if this report completed one (the caller closes it), else 0.
  int64_t record_worker_epoch(const EpochRecord& record);

  // Under mpirun (rank 0): every rank's figures for `epoch`, one line for all. The ranks'
  // checksums must agree when the epoch ended with an exact average (`averaged`).
  void record_rank_epochs(int64_t epoch, const std::vector<NodeEpoch>& ranks, bool averaged);

  // Every worker (of every rank) has finished `epoch`: evaluate, checkpoint.
  void close_epoch(int64_t epoch);

  // An evaluation reached --target-accuracy: the run should stop.
  bool target_reached() const { return run_.target_epoch > 0; }

  // After the workers are gone: the test result of the run, and the model it belongs to.
  void final_evaluation();

  void save(const std::string& why);
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
  int64_t evaluated_ = 0;     // the slowest worker's epoch at the last evaluation
  int64_t checkpointed_ = 0;  // the slowest worker's epoch at the last checkpoint
  const WorkerControl* control_ = nullptr;
  int64_t steps_per_epoch_ = 0;
  const std::chrono::steady_clock::time_point started_;
};

}  // namespace hogwild
