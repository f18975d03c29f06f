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

}  // namespace hogwild
