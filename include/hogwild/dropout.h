// Dropout masks that belong to the sample, not to the worker that draws them: whether unit j
// of sample s is kept in epoch e is a hash of (seed, e, s, j). However a batch is split over
// Hogwild workers or MPI ranks, the same samples get the same masks (so K ranks that average
// gradients train exactly like one process with K times the batch), and no generator state is
// carried, shared or advanced. It is also cheaper than ATen's bernoulli_: one 64-bit hash
// gives 64 units. No torch here.
#pragma once

#include <cstdint>

namespace hogwild {

// The key of one epoch's masks.
uint64_t dropout_key(uint64_t seed, int64_t epoch);

// Fills mask[i * units + j] for the `count` samples listed in `samples` (data-set indices)
// with 0 (dropped) or 2 (kept, scaled by 1 / (1 - p)): dropout with p = 0.5. Unit j is the
// j-th value of a sample in memory (the trainer's masks are channels-last).
void fill_dropout_mask(float* mask, const int64_t* samples, int64_t count, int64_t units,
                       uint64_t key);

}  // namespace hogwild
