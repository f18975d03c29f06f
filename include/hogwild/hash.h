// The one hash behind the per-sample draws (dropout.h, augment.h). No torch here.
#pragma once

#include <cstdint>

namespace hogwild {

// splitmix64's finaliser: every input bit reaches every output bit.
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Sample `sample`'s hash under an epoch's `key`: the root of that sample's draws, whichever
// worker or batch takes it.
inline uint64_t sample_hash(uint64_t key, int64_t sample) {
  return mix64(key + uint64_t(sample) * 0x9e3779b97f4a7c15ull);
}

}  // namespace hogwild
