// What a node's parent and its forked workers share besides the parameters, in a small
// shared segment of its own: each worker's step count (the parent schedules MPI averages by
// it) and the epoch gate of --sync epoch (workers wait at an epoch's end until the parent has
// averaged). Lock-free atomics are address-free, so they work across processes.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "hogwild/config.h"

namespace hogwild {

static_assert(std::atomic<int64_t>::is_always_lock_free,
              "the control block needs lock-free atomics");

// A checkpoint is saved at the end of `epoch` (1-based) of `epochs`: every `every` epochs
// (0: never), but not after the last, whose save is the run's final one.
inline bool checkpoint_after(int64_t epoch, int64_t every, int64_t epochs) {
  return every > 0 && epoch % every == 0 && epoch < epochs;
}

struct WorkerControl {
  struct alignas(64) Counter {  // one cache line each: workers never share one
    std::atomic<int64_t> value{0};
  };
  bool gated = false;            // set before fork: workers wait at every epoch's end
  int64_t checkpoint_every = 0;  // set before fork: ... and at the end of every such epoch
  int64_t epochs = 0;            // set before fork: none waits after the last
  std::atomic<int64_t> released_epoch{0};  // workers may start the epoch after this one
  Counter steps[kMaxProcs];                // steps of the whole run each local worker has begun

  // A worker that has finished `epoch` (1-based) waits for released_epoch to reach it.
  bool waits_after(int64_t epoch) const {
    return epoch < epochs && (gated || checkpoint_after(epoch, checkpoint_every, epochs));
  }
  // What the stall watch sees of worker `worker`, which has reported `epochs_reported` epochs:
  // its step count, or nothing while it waits at the gate by design.
  std::optional<int64_t> progress(int worker, int64_t epochs_reported) const {
    if (waits_after(epochs_reported) &&
        epochs_reported > released_epoch.load(std::memory_order_acquire)) {
      return std::nullopt;
    }
    return steps[worker].value.load(std::memory_order_relaxed);
  }
};

}  // namespace hogwild
