#include <doctest/doctest.h>

#include <set>
#include <utility>
#include <vector>

#include "hogwild/augment.h"

using namespace hogwild;

namespace {

// A 5x4 image whose pixel (y, x) holds 1 + 10 y + x: every pixel tells where it came from.
std::vector<float> numbered_image() {
  std::vector<float> image(20);
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 4; ++x) image[std::size_t(y * 4 + x)] = float(1 + 10 * y + x);
  }
  return image;
}

}  // namespace

TEST_CASE("--augment: shifts of up to 2 pixels, flips only with --augment-flips") {
  CHECK_FALSE(augment_policy(false, 2, true).active());
  const AugmentPolicy digits = augment_policy(true, 2, /*flips=*/false);
  const AugmentPolicy clothes = augment_policy(true, 2, /*flips=*/true);
  CHECK(digits.max_shift == 2);
  CHECK_FALSE(digits.flips);
  CHECK(clothes.max_shift == 2);
  CHECK(clothes.flips);
  std::set<std::pair<int, int>> shifts;
  int flipped_digits = 0, flipped_clothes = 0;
  const uint64_t key = augment_key(1, 0);
  for (int64_t sample = 0; sample < 10000; ++sample) {
    const SampleTransform d = draw_transform(digits, key, sample);
    CHECK((d.dx >= -2 && d.dx <= 2 && d.dy >= -2 && d.dy <= 2));
    shifts.insert({d.dx, d.dy});
    flipped_digits += d.flip;
    flipped_clothes += draw_transform(clothes, key, sample).flip;
  }
  CHECK(shifts.size() == 25);  // every shift occurs
  CHECK(flipped_digits == 0);
  CHECK(flipped_clothes > 4700);  // half, within 6 standard deviations
  CHECK(flipped_clothes < 5300);
}

TEST_CASE("--augment-shift S: every shift of -S..S each way occurs, and none beyond") {
  const uint64_t key = augment_key(3, 1);
  for (int s = 1; s <= kMaxAugmentShift; ++s) {
    CAPTURE(s);
    const AugmentPolicy policy = augment_policy(true, s, /*flips=*/false);
    std::set<std::pair<int, int>> shifts;
    for (int64_t sample = 0; sample < 10000; ++sample) {
      const SampleTransform t = draw_transform(policy, key, sample);
      CHECK((t.dx >= -s && t.dx <= s && t.dy >= -s && t.dy <= s));
      shifts.insert({t.dx, t.dy});
    }
    CHECK(shifts.size() == std::size_t((2 * s + 1) * (2 * s + 1)));
  }
}

TEST_CASE("--augment: a sample's transform follows from (seed, epoch, sample) alone") {
  const AugmentPolicy policy = augment_policy(true, 2, true);
  const auto same = [](const SampleTransform& a, const SampleTransform& b) {
    return a.dx == b.dx && a.dy == b.dy && a.flip == b.flip;
  };
  // Drawn again (another worker, a replacement, a resumed run): the same.
  CHECK(same(draw_transform(policy, augment_key(3, 2), 42),
             draw_transform(policy, augment_key(3, 2), 42)));
  int differs_by_epoch = 0, differs_by_seed = 0, differs_by_sample = 0;
  for (int64_t s = 0; s < 100; ++s) {
    const SampleTransform t = draw_transform(policy, augment_key(3, 2), s);
    differs_by_epoch += !same(t, draw_transform(policy, augment_key(3, 3), s));
    differs_by_seed += !same(t, draw_transform(policy, augment_key(4, 2), s));
    differs_by_sample += !same(t, draw_transform(policy, augment_key(3, 2), s + 1));
  }
  // 50 transforms, so two draws agree with probability 1/50.
  CHECK(differs_by_epoch > 90);
  CHECK(differs_by_seed > 90);
  CHECK(differs_by_sample > 90);
}

TEST_CASE("--augment: a shift moves every pixel by (dx, dy) and fills the edge with 0") {
  const std::vector<float> from = numbered_image();
  std::vector<float> to(20, -1.0f);
  transform_image(from.data(), to.data(), 5, 4, {0, 0, false});
  CHECK(to == from);
  transform_image(from.data(), to.data(), 5, 4, {1, 2, false});  // right 1, down 2
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 4; ++x) {
      const float expected = y >= 2 && x >= 1 ? from[std::size_t((y - 2) * 4 + x - 1)] : 0.0f;
      CHECK(to[std::size_t(y * 4 + x)] == expected);
    }
  }
  transform_image(from.data(), to.data(), 5, 4, {-2, -1, false});  // left 2, up 1
  CHECK(to[0] == from[std::size_t(1 * 4 + 2)]);
  CHECK(to[1] == from[std::size_t(1 * 4 + 3)]);
  CHECK(to[2] == 0.0f);
  CHECK(to[std::size_t(4 * 4 + 0)] == 0.0f);  // the last row came from below the image
}

TEST_CASE("--augment: a flip mirrors each row, then the shift applies") {
  const std::vector<float> from = numbered_image();
  std::vector<float> to(20, -1.0f);
  transform_image(from.data(), to.data(), 5, 4, {0, 0, true});
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 4; ++x)
      CHECK(to[std::size_t(y * 4 + x)] == from[std::size_t(y * 4 + 3 - x)]);
  }
  transform_image(from.data(), to.data(), 5, 4, {1, 0, true});  // mirrored, then right 1
  CHECK(to[0] == 0.0f);
  CHECK(to[1] == from[3]);  // mirrored column 0 was the last one
  CHECK(to[3] == from[1]);
}
