#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "hogwild/dropout.h"

using namespace hogwild;

namespace {

std::vector<float> masks(const std::vector<int64_t>& samples, int64_t units, uint64_t key,
                         double p = 0.5) {
  std::vector<float> mask(samples.size() * std::size_t(units), -1.0f);
  fill_dropout_mask(mask.data(), samples.data(), int64_t(samples.size()), units, key, p);
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

TEST_CASE("another p drops that share of the units and scales the rest so the mean stays 1") {
  std::vector<int64_t> samples(200);
  for (int64_t i = 0; i < 200; ++i) samples[std::size_t(i)] = i * 7;
  for (const double p : {0.1, 0.25, 0.75}) {
    CAPTURE(p);
    const auto mask = masks(samples, 1600, dropout_key(1, 0), p);
    const float kept_value = float(1.0 / (1.0 - p));
    const auto dropped = std::count(mask.begin(), mask.end(), 0.0f);
    const auto kept = std::count_if(mask.begin(), mask.end(), [&](float v) {
      return v == doctest::Approx(kept_value).epsilon(1e-4);
    });
    CHECK(kept + dropped == int64_t(mask.size()));
    // 320,000 draws: the share dropped within 1 % of 320,000 (> 6 sigma at these p).
    CHECK(double(dropped) / double(mask.size()) == doctest::Approx(p).epsilon(0.01 / p));
    double sum = 0;
    for (const float v : mask) sum += v;
    CHECK(sum / double(mask.size()) == doctest::Approx(1.0).epsilon(0.01));
  }
  // The same draws per sample whatever the batch, as at p = 0.5.
  const auto alone = masks({42}, 1600, dropout_key(1, 3), 0.25);
  const auto in_batch = masks({7, 42, 9}, 1600, dropout_key(1, 3), 0.25);
  CHECK(std::equal(alone.begin(), alone.end(), in_batch.begin() + 1600));
  CHECK(masks({43}, 1600, dropout_key(1, 3), 0.25) != alone);
}

TEST_CASE("p = 0 keeps every unit, and a p below 0 or not below 1 is refused") {
  const auto mask = masks({1, 2, 3}, 1600, dropout_key(1, 0), 0.0);
  CHECK(std::all_of(mask.begin(), mask.end(), [](float v) { return v == 1.0f; }));
  float one = 0;
  const int64_t sample = 0;
  CHECK_THROWS_AS(fill_dropout_mask(&one, &sample, 1, 1, 0, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(fill_dropout_mask(&one, &sample, 1, 1, 0, -0.1), std::invalid_argument);
}
