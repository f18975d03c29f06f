// The recipe's rule: given N and the options, the hyperparameters each worker uses.
#include <doctest/doctest.h>

#include "hogwild/config.h"
#include "hogwild/error.h"
#include "hogwild/recipe.h"

using namespace hogwild;

namespace {

Hyperparameters chosen(const std::string& recipe, int64_t procs, int64_t batch_size = 0) {
  Config config;
  config.recipe = recipe;
  config.procs = procs;
  config.batch_size = batch_size;
  return choose_hyperparameters(config);
}

}  // namespace

TEST_CASE("scaled recipe: the default 128 samples in flight are split over the workers") {
  const int64_t expected[] = {128, 64, 43, 32, 26, 21, 18, 16};  // round(128 / N)
  for (int64_t n = 1; n <= 8; ++n) {
    CAPTURE(n);
    const Hyperparameters h = chosen("scaled", n);
    CHECK(h.batch_size == 128);
    CHECK(h.batch_per_worker == expected[n - 1]);
    CHECK(h.samples_in_flight == expected[n - 1] * n);
    CHECK(h.lr == doctest::Approx(0.01));  // step size and momentum do not change with N
    CHECK(h.momentum == doctest::Approx(0.9));
  }
}

TEST_CASE("scaled recipe: an explicit batch is the total, at least one sample per worker") {
  CHECK(chosen("scaled", 4, 256).batch_per_worker == 64);
  CHECK(chosen("scaled", 3, 100).batch_per_worker == 33);
  CHECK(chosen("scaled", 5, 5).batch_per_worker == 1);
  CHECK_THROWS_WITH_AS(chosen("scaled", 5, 4), doctest::Contains("at least --procs (5)"), InputError);
  // The default 128 cannot be split over more workers than that.
  CHECK_THROWS_AS(chosen("scaled", 200), InputError);
}

TEST_CASE("seed recipe: the batch is per worker, whatever N") {
  for (int64_t n = 1; n <= 5; ++n) {
    const Hyperparameters h = chosen("seed", n);
    CHECK(h.batch_per_worker == 256);
    CHECK(h.samples_in_flight == 256 * n);
  }
  CHECK(chosen("seed", 3, 64).batch_per_worker == 64);
}

TEST_CASE("lr and momentum pass through from the configuration") {
  Config config;
  config.procs = 5;
  config.lr = 0.02;
  config.momentum = 0.5;
  const Hyperparameters h = choose_hyperparameters(config);
  CHECK(h.lr == doctest::Approx(0.02));
  CHECK(h.momentum == doctest::Approx(0.5));
  CHECK(describe(h, 5) == "recipe scaled: batch 128 over 5 workers = 26 per worker and step, lr 0.02, momentum 0.5");
  CHECK(describe(chosen("seed", 2), 2) ==
        "recipe seed: batch 256 per worker and step (512 in flight over 2 workers), lr 0.01, momentum 0.9");
}

TEST_CASE("an unknown recipe is refused") {
  CHECK_THROWS_WITH_AS(chosen("fast", 2), doctest::Contains("invalid recipe = 'fast'"), InputError);
}
