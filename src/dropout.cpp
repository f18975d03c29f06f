#include "hogwild/dropout.h"

namespace hogwild {
namespace {

// splitmix64's finaliser: every input bit reaches every output bit.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t dropout_key(uint64_t seed, int64_t epoch) {
  return mix(mix(seed ^ 0x6a09e667f3bcc909ull) + uint64_t(epoch));
}

void fill_dropout_mask(float* mask, const int64_t* samples, int64_t count, int64_t units,
                       uint64_t key) {
  for (int64_t i = 0; i < count; ++i) {
    const uint64_t sample_key = mix(key + uint64_t(samples[i]) * 0x9e3779b97f4a7c15ull);
    float* row = mask + i * units;
    for (int64_t word = 0; word * 64 < units; ++word) {
      const uint64_t bits = mix(sample_key + uint64_t(word));
      const int64_t end = units - word * 64 < 64 ? units - word * 64 : 64;
      for (int64_t b = 0; b < end; ++b) row[word * 64 + b] = float((bits >> b) & 1u) * 2.0f;
    }
  }
}

}  // namespace hogwild
