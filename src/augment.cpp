#include "hogwild/augment.h"

#include <cstring>

#include "hogwild/hash.h"

namespace hogwild {

AugmentPolicy augment_policy(bool augment, int max_shift, bool flips) {
  if (!augment) return {};
  return {max_shift, flips};
}

uint64_t augment_key(uint64_t seed, int64_t epoch) {
  return mix64(mix64(seed ^ 0xbb67ae8584caa73bull) + uint64_t(epoch));
}

SampleTransform draw_transform(const AugmentPolicy& policy, uint64_t key, int64_t sample) {
  const uint64_t bits = sample_hash(key, sample);
  SampleTransform t;
  const uint64_t sides = uint64_t(2 * policy.max_shift + 1);
  // 32 bits each: the modulo's bias is below 1e-8.
  t.dx = int((bits & 0xffffffffull) % sides) - policy.max_shift;
  t.dy = int((bits >> 32) % sides) - policy.max_shift;
  t.flip = policy.flips && ((mix64(bits) & 1u) != 0);
  return t;
}

void transform_image(const float* from, float* to, int64_t height, int64_t width,
                     const SampleTransform& t) {
  if (t.dx == 0 && t.dy == 0 && !t.flip) {
    std::memcpy(to, from, std::size_t(height * width) * sizeof(float));
    return;
  }
  for (int64_t y = 0; y < height; ++y) {
    float* row = to + y * width;
    const int64_t source_y = y - t.dy;
    if (source_y < 0 || source_y >= height) {
      std::memset(row, 0, std::size_t(width) * sizeof(float));
      continue;
    }
    const float* source = from + source_y * width;
    for (int64_t x = 0; x < width; ++x) {
      const int64_t shifted = x - t.dx;
      const int64_t source_x = t.flip ? width - 1 - shifted : shifted;
      row[x] = shifted >= 0 && shifted < width ? source[source_x] : 0.0f;
    }
  }
}

}  // namespace hogwild
