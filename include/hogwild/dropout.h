// Dropout masks that belong to the sample, not to the worker that draws them: whether unit j
// of sample s is kept in epoch e is a hash of (seed, e, s, j). However a batch is split over
// Hogwild workers or MPI ranks, the same samples get the same masks (so K ranks that average
// gradients train exactly like one process with K times the batch), and no generator state is
// carried, shared or advanced. It is also cheaper than ATen's bernoulli_: one 64-bit hash
// gives 64 units. No torch here.
#pragma once

#include <cstdint>

namespace hogwild {

// The seed network's share of dropped units: the masks' p unless asked otherwise, and what a
// run saved before --dropout existed trained with.
constexpr double kSeedDropout = 0.5;

// The key of one epoch's masks.
uint64_t dropout_key(uint64_t seed, int64_t epoch);

// Fills mask[i * units + j] for the `count` samples listed in `samples` (data-set indices)
// with 0 (dropped, with probability p) or 1 / (1 - p) (kept). Unit j is the j-th value of a
// sample in memory (the trainer's masks are channels-last). p = 0.5 takes one bit of the hash
// per unit; another p in [0, 1) compares 16 bits with round(p * 65536) and scales the kept
// units by 65536 / (65536 - that), so the mask's mean stays 1; p = 0 keeps every unit.
void fill_dropout_mask(float* mask, const int64_t* samples, int64_t count, int64_t units,
                       uint64_t key, double p = kSeedDropout);

}  // namespace hogwild
