// The live line a run shows on a terminal while an epoch goes on: where the slowest worker
// is, samples/s over the last moments, and the ETA of the whole run. The parent samples the
// workers' step counters in the control block (worker_control.h), so the workers pay nothing
// for it beyond the counter they keep anyway: no extra write, syscall or message per step.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "hogwild/config.h"  // Progress
#include "hogwild/worker_control.h"

namespace hogwild {

// --progress auto|on|off: auto shows the line when `out` is a terminal, but not under mpirun,
// which gives its ranks a pseudo-terminal even when its own output goes to a file.
bool progress_wanted(Progress mode, std::FILE* out, bool under_mpirun);

class ProgressLine {
 public:
  // `workers` local workers, each making `steps_per_epoch` steps of `batch` samples an epoch,
  // over epochs first_epoch + 1 .. epochs.
  ProgressLine(std::FILE* out, bool enabled, const WorkerControl* control, int workers,
               int64_t steps_per_epoch, int64_t epochs, int64_t batch, int64_t first_epoch = 0);
  ~ProgressLine() { clear(); }  // an error or an interruption leaves no half line behind
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Redraws the line if a quarter of a second has passed since the last time.
  void tick();
  // Erases it, so that the next line printed starts clean.
  void clear();

  // The text of the line for these step counts (one per worker), after `elapsed` seconds.
  std::string text(const int64_t* steps, double elapsed, double samples_per_second) const;

 private:
  std::FILE* out_;
  bool enabled_;
  const WorkerControl* control_;
  int workers_;
  int64_t steps_per_epoch_;
  int64_t epochs_;
  int64_t batch_;
  int64_t first_epoch_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_;
  int64_t last_total_steps_ = 0;
  double rate_ = 0;  // samples/s, smoothed
};

}  // namespace hogwild
