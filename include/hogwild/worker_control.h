// What a node's parent and its forked workers share besides the parameters, in a small
// shared segment of its own: each worker's step count (the parent schedules MPI averages by
// it) and the epoch gate of --sync epoch (workers wait at an epoch's end until the parent has
// averaged). Lock-free atomics are address-free, so they work across processes.
#pragma once

#include <atomic>
#include <cstdint>

#include "hogwild/config.h"

namespace hogwild {

static_assert(std::atomic<int64_t>::is_always_lock_free, "the control block needs lock-free atomics");

struct WorkerControl {
  struct alignas(64) Counter {  // one cache line each: workers never share one
    std::atomic<int64_t> value{0};
  };
  bool gated = false;  // set before fork: workers wait at every epoch's end
  std::atomic<int64_t> released_epoch{0};  // workers may start the epoch after this one
  Counter steps[kMaxProcs];  // steps of the whole run each local worker has begun
};

}  // namespace hogwild
