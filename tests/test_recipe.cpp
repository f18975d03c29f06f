// The recipe's rule: given N and the options, the hyperparameters each worker uses.
#include <doctest/doctest.h>

#include <cmath>

#include "hogwild/config.h"
#include "hogwild/error.h"
#include "hogwild/recipe.h"

using namespace hogwild;

namespace {

Hyperparameters chosen(Recipe recipe, int64_t procs, int64_t batch_size = 0) {
  Config config;
  config.recipe = recipe;
  config.procs = procs;
  config.batch_size = batch_size;
  return choose_hyperparameters(config);
}

}  // namespace

TEST_CASE("scaled recipe: the default 256 samples in flight are split over the workers") {
  const int64_t expected[] = {256, 128, 85, 64, 51, 43, 37, 32};  // round(256 / N)
  for (int64_t n = 1; n <= 8; ++n) {
    CAPTURE(n);
    const Hyperparameters h = chosen(Recipe::kScaled, n);
    CHECK(h.batch_size == 256);
    CHECK(h.batch_per_worker == expected[n - 1]);
    CHECK(h.samples_in_flight == expected[n - 1] * n);
    CHECK(h.lr == doctest::Approx(0.03));
    // The step size per sample, and so N workers' step per round, stays one process's.
    CHECK(h.lr_per_worker == doctest::Approx(0.03 * double(expected[n - 1]) / 256.0));
    CHECK(double(n) * h.lr_per_worker == doctest::Approx(0.03).epsilon(0.05));
    CHECK(h.momentum == doctest::Approx(0.9));  // each worker keeps its own buffer
  }
}

TEST_CASE("scaled recipe: at N = 1 it is one process's recipe, unchanged") {
  const Hyperparameters h = chosen(Recipe::kScaled, 1, 100);
  CHECK(h.batch_per_worker == 100);
  CHECK(h.lr_per_worker == doctest::Approx(0.03));
}

TEST_CASE("scaled recipe: an explicit batch is the total, split down to the floor") {
  CHECK(chosen(Recipe::kScaled, 4, 256).batch_per_worker == 64);
  CHECK(chosen(Recipe::kScaled, 3, 100).batch_per_worker == 33);
  CHECK(chosen(Recipe::kScaled, 2, 64).batch_per_worker == kMinBatchPerWorker);
  // A batch below the floor is not split at all: each worker takes it whole.
  CHECK(chosen(Recipe::kScaled, 5, 5).batch_per_worker == 5);
  CHECK(chosen(Recipe::kScaled, 5, 4).batch_per_worker == 4);
  CHECK(chosen(Recipe::kScaled, 5, 4).samples_in_flight == 20);
  CHECK(chosen(Recipe::kScaled, 1, 4).warmup.epochs == 0);  // one worker: nothing lifted
}

TEST_CASE(
    "scaled recipe: many workers keep the floor and grow the batch, lr scaled and warmed up") {
  REQUIRE(kMinBatchPerWorker == 32);
  CHECK(chosen(Recipe::kScaled, 8).warmup.epochs == 0);  // 256 / 8 = 32: at the floor, not below
  const struct {
    int64_t procs, nodes, in_flight;
  } cases[] = {{16, 1, 512}, {32, 1, 1024}, {9, 1, 288}, {4, 4, 512}, {16, 4, 2048}};
  for (const auto& c : cases) {
    CAPTURE(c.procs);
    CAPTURE(c.nodes);
    Config config;
    config.procs = c.procs;
    const Hyperparameters h = choose_hyperparameters(config, c.nodes);
    CHECK(h.batch_per_worker == 32);
    CHECK(h.samples_in_flight == c.in_flight);
    // Linear scaling: the step per sample stays one process's at 256 (times K for the mean
    // over the nodes), so the workers together step k = in_flight / 256 times as far.
    CHECK(h.lr_per_worker == doctest::Approx(0.03 * 32.0 * double(c.nodes) / 256.0));
    CHECK(h.warmup.epochs == kWarmupEpochs);
    CHECK(h.warmup.start == doctest::Approx(256.0 / double(c.in_flight)));
  }
  CHECK(describe(chosen(Recipe::kScaled, 16), 16) ==
        "recipe scaled: batch 256 and lr 0.03 over 16 workers = 32 samples (at least 32 per "
        "worker: 512 in flight, the step warmed up from 0.5x over 1 epoch) and lr 0.00375 per "
        "worker and step, cosine schedule, momentum 0.9");
  // The seed's recipe has no floor: its batch is per worker already.
  CHECK(chosen(Recipe::kSeed, 16, 8).batch_per_worker == 8);
  CHECK(chosen(Recipe::kSeed, 16, 8).warmup.epochs == 0);
}

TEST_CASE("the warm-up rises linearly from its start to 1 over its epochs, then stays 1") {
  const Warmup none;
  CHECK(none.factor(0) == 1.0);
  const Warmup two{2, 0.25};
  CHECK(two.factor(0) == doctest::Approx(0.25));
  CHECK(two.factor(0.5) == doctest::Approx(0.25 + 0.75 * 0.25));
  CHECK(two.factor(1) == doctest::Approx(0.625));
  CHECK(two.factor(2) == 1.0);
  CHECK(two.factor(7.5) == 1.0);
}

TEST_CASE("seed recipe: the seed's batch per worker and step size, whatever N") {
  for (int64_t n = 1; n <= 5; ++n) {
    const Hyperparameters h = chosen(Recipe::kSeed, n);
    CHECK(h.batch_per_worker == 256);
    CHECK(h.samples_in_flight == 256 * n);
    CHECK(h.lr == doctest::Approx(0.01));
    CHECK(h.lr_per_worker == doctest::Approx(0.01));
    CHECK(h.momentum == doctest::Approx(0.9));
  }
  CHECK(chosen(Recipe::kSeed, 3, 64).batch_per_worker == 64);
}

TEST_CASE("an explicit lr and momentum pass through, whatever the recipe") {
  Config config;
  config.procs = 5;
  config.lr = 0.02;
  config.momentum = 0.5;
  const Hyperparameters h = choose_hyperparameters(config);
  CHECK(h.lr == doctest::Approx(0.02));
  CHECK(h.momentum == doctest::Approx(0.5));
  CHECK(h.lr_per_worker == doctest::Approx(0.02 * 51 / 256.0));
  CHECK(describe(h, 5) ==
        "recipe scaled: batch 256 and lr 0.02 over 5 workers = 51 samples and lr "
        "0.003984 per worker and step, cosine schedule, momentum 0.5");
  config.recipe = Recipe::kSeed;
  CHECK(choose_hyperparameters(config).lr_per_worker == doctest::Approx(0.02));  // explicit lr wins
  CHECK(describe(chosen(Recipe::kSeed, 2), 2) ==
        "recipe seed: 256 samples and lr 0.01 per worker and step (512 in flight over 2 workers), "
        "constant schedule, momentum 0.9");
}

TEST_CASE("an unknown recipe is refused") {
  Config config;  // as it is read: Recipe has no other values
  CHECK_THROWS_WITH_AS(set_key(config, "recipe", "fast"),
                       doctest::Contains("invalid recipe = 'fast'"), InputError);
}

TEST_CASE("the step size decays by cosine over the epochs (scaled) or stays (seed)") {
  const Hyperparameters scaled = chosen(Recipe::kScaled, 5);
  CHECK(scaled.lr_schedule == LrSchedule::kCosine);
  CHECK(lr_in_epoch(scaled, 0, 15) == doctest::Approx(scaled.lr_per_worker));
  CHECK(lr_in_epoch(scaled, 5, 10) == doctest::Approx(scaled.lr_per_worker * 0.5));
  CHECK(lr_in_epoch(scaled, 14, 15) ==
        doctest::Approx(scaled.lr_per_worker * 0.5 * (1 + std::cos(M_PI * 14 / 15))));
  for (int64_t e = 1; e < 15; ++e)
    CHECK(lr_in_epoch(scaled, e, 15) < lr_in_epoch(scaled, e - 1, 15));
  // The schedule is the same at every N, so N * (per-worker step) stays one process's.
  CHECK(5 * lr_in_epoch(scaled, 7, 15) ==
        doctest::Approx(lr_in_epoch(chosen(Recipe::kScaled, 1), 7, 15)).epsilon(0.01));
  const Hyperparameters seed = chosen(Recipe::kSeed, 5);
  CHECK(seed.lr_schedule == LrSchedule::kConstant);
  CHECK(lr_in_epoch(seed, 14, 15) == doctest::Approx(0.01));
  Config config;
  config.lr_schedule = LrSchedule::kConstant;
  CHECK(lr_in_epoch(choose_hyperparameters(config), 14, 15) == doctest::Approx(0.03 * 128 / 256.0));
}
