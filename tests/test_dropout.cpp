#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "hogwild/dropout.h"

using namespace hogwild;

namespace {

std::vector<float> masks(const std::vector<int64_t>& samples, int64_t units, uint64_t key) {
  std::vector<float> mask(samples.size() * std::size_t(units), -1.0f);
  fill_dropout_mask(mask.data(), samples.data(), int64_t(samples.size()), units, key);
  return mask;
}

}  // namespace

TEST_CASE("dropout masks are 0 or 2, half of each, and every unit is written") {
  std::vector<int64_t> samples(200);
  for (int64_t i = 0; i < 200; ++i) samples[std::size_t(i)] = i * 7;
  const auto mask = masks(samples, 1600, dropout_key(1, 0));
  const auto kept = std::count(mask.begin(), mask.end(), 2.0f);
  CHECK(kept + std::count(mask.begin(), mask.end(), 0.0f) == int64_t(mask.size()));
  // 320,000 fair coins: 160,000 +- 283 (1 sigma); 1 % is 5.6 sigma.
  CHECK(double(kept) / double(mask.size()) == doctest::Approx(0.5).epsilon(0.01));
}

TEST_CASE("a sample's mask depends on the sample and the epoch, not on the batch around it") {
  const uint64_t key = dropout_key(1, 3);
  const auto alone = masks({42}, 1600, key);
  const auto in_batch = masks({7, 42, 9}, 1600, key);
  CHECK(std::equal(alone.begin(), alone.end(), in_batch.begin() + 1600));
  CHECK(masks({42}, 1600, dropout_key(1, 4)) != alone);  // another epoch
  CHECK(masks({42}, 1600, dropout_key(2, 3)) != alone);  // another seed
  CHECK(masks({43}, 1600, key) != alone);                // another sample
}

TEST_CASE("units that do not fill whole bytes or words get the same bits as whole ones") {
  const uint64_t key = dropout_key(5, 1);
  const auto whole = masks({3, 11}, 128, key);
  for (const int64_t units : {1, 7, 9, 63, 65, 70, 127}) {
    CAPTURE(units);
    const auto part = masks({3, 11}, units, key);
    for (int64_t s = 0; s < 2; ++s) {
      CHECK(std::equal(part.begin() + s * units, part.begin() + (s + 1) * units,
                       whole.begin() + s * 128));
    }
  }
}
