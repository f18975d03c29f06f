// Data augmentation drawn per sample, like the dropout masks (dropout.h): the shift and flip
// of sample s in epoch e are a hash of (seed, e, s), so a run is reproducible from its seed
// and the same samples are transformed alike however they are split over workers or ranks.
// Applied while a worker copies its batch out of the data set (trainer.cpp). No torch here.
#pragma once

#include <cstdint>

namespace hogwild {

struct AugmentPolicy {
  int max_shift = 0;   // translate by dx, dy drawn uniformly from [-max_shift, max_shift]
  bool flips = false;  // and mirror left-right with probability 1/2
  bool active() const { return max_shift > 0 || flips; }
};

// The largest shift --augment-shift takes: MNIST's digits sit in a 20x20 box centred in 28x28,
// so up to 4 pixels each way they stay whole.
constexpr int kMaxAugmentShift = 4;
// What --augment shifted by before --augment-shift existed (a checkpoint without the key).
constexpr int kAugmentShiftBeforeItsKey = 2;

// --augment: shifts of up to `max_shift` pixels each way; with --augment-flips also mirrors,
// which config.cpp allows only where a mirrored image is still of its class (Fashion-MNIST's
// clothes). Flips are off by default: Fashion-MNIST's shoes all point one way, and the seed's
// small network spends capacity on mirrored ones the test set never shows (docs/accuracy.md,
// "Shifts without flips").
AugmentPolicy augment_policy(bool augment, int max_shift, bool flips);

struct SampleTransform {
  int dx = 0;  // content moves right by dx and down by dy
  int dy = 0;
  bool flip = false;
};

// The key of one epoch's transforms (another stream than dropout_key's).
uint64_t augment_key(uint64_t seed, int64_t epoch);

SampleTransform draw_transform(const AugmentPolicy& policy, uint64_t key, int64_t sample);

// to[y][x] = from[y - dy][x' - dx], x' = width - 1 - x when flipped, else x; 0 (background,
// as pixels are in [0, 1]) where that falls outside the image. `from` and `to` must not
// overlap.
void transform_image(const float* from, float* to, int64_t height, int64_t width,
                     const SampleTransform& t);

}  // namespace hogwild
