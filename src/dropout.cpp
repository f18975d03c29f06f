#include "hogwild/dropout.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "hogwild/hash.h"

namespace hogwild {

uint64_t dropout_key(uint64_t seed, int64_t epoch) {
  return mix64(mix64(seed ^ 0x6a09e667f3bcc909ull) + uint64_t(epoch));
}

namespace {

// Dropout with p other than 0.5: four 16-bit draws per hash.
void fill_with_threshold(float* mask, const int64_t* samples, int64_t count, int64_t units,
                         uint64_t key, double p) {
  const uint64_t threshold = uint64_t(std::lround(p * 65536.0));
  if (threshold >= 65536) throw std::invalid_argument("fill_dropout_mask: p must be below 1");
  const float kept = float(65536.0 / double(65536 - threshold));
  for (int64_t i = 0; i < count; ++i) {
    const uint64_t sample_key = sample_hash(key, samples[i]);
    float* row = mask + i * units;
    for (int64_t word = 0; word * 4 < units; ++word) {
      const uint64_t bits = mix64(sample_key + uint64_t(word));
      for (int64_t k = 0; k < 4 && word * 4 + k < units; ++k) {
        row[word * 4 + k] = ((bits >> (16 * k)) & 0xffffu) >= threshold ? kept : 0.0f;
      }
    }
  }
}

}  // namespace

void fill_dropout_mask(float* mask, const int64_t* samples, int64_t count, int64_t units,
                       uint64_t key, double p) {
  if (!(p >= 0.0 && p < 1.0)) throw std::invalid_argument("fill_dropout_mask: p must be in [0, 1)");
  if (p == 0.0) {
    std::fill(mask, mask + count * units, 1.0f);
    return;
  }
  if (p != 0.5) {
    fill_with_threshold(mask, samples, count, units, key, p);
    return;
  }
  // Bit b of a byte -> the b-th of 8 floats, 0 or 2: one 32-byte copy per 8 units instead
  // of a shift, a mask and a conversion per unit (5 us of a 140 us step per sample).
  static const auto table = [] {
    std::array<std::array<float, 8>, 256> t{};
    for (int byte = 0; byte < 256; ++byte) {
      for (int b = 0; b < 8; ++b) t[byte][b] = float((byte >> b) & 1) * 2.0f;
    }
    return t;
  }();
  for (int64_t i = 0; i < count; ++i) {
    const uint64_t sample_key = sample_hash(key, samples[i]);
    float* row = mask + i * units;
    for (int64_t word = 0; word * 64 < units; ++word) {
      const uint64_t bits = mix64(sample_key + uint64_t(word));
      const int64_t end = units - word * 64 < 64 ? units - word * 64 : 64;
      int64_t b = 0;
      for (; b + 8 <= end; b += 8) {
        std::memcpy(row + word * 64 + b, table[(bits >> b) & 0xffu].data(), 8 * sizeof(float));
      }
      for (; b < end; ++b) row[word * 64 + b] = float((bits >> b) & 1u) * 2.0f;
    }
  }
}

}  // namespace hogwild
