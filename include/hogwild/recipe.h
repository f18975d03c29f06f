// The training recipe: the step size, momentum and per-worker batch a run uses, chosen from
// the configuration and the number of processes by one rule (README, "Accuracy as N grows").
// No torch here: the rule is plain arithmetic, tested on its own.
#pragma once

#include <cstdint>
#include <string>

#include "hogwild/config.h"

namespace hogwild {

// "scaled" (the default): batch_size is the number of samples in flight over all workers;
// each worker steps on batch_size / procs of them, so the samples between two updates of a
// rank's gradients stay the same at any N. "seed": the seed's plain recipe, batch_size
// samples per worker and step, whatever N.
inline constexpr const char* kRecipeScaled = "scaled";
inline constexpr const char* kRecipeSeed = "seed";
inline constexpr int64_t kScaledDefaultBatch = 128;  // samples in flight, all workers together
inline constexpr int64_t kSeedDefaultBatch = 256;    // per worker (the seed's)

struct Hyperparameters {
  std::string recipe;
  int64_t batch_size = 0;         // as configured, or the recipe's default for 0
  int64_t batch_per_worker = 0;   // samples per optimizer step of one worker
  int64_t samples_in_flight = 0;  // batch_per_worker x procs
  double lr = 0;
  double momentum = 0;
};

// The hyperparameters for `config` (validated). Throws InputError when the scaled recipe's
// batch cannot give every worker at least one sample.
Hyperparameters choose_hyperparameters(const Config& config);

// "recipe scaled: batch 128 over 5 workers = 26 per worker and step, lr 0.01, momentum 0.9"
std::string describe(const Hyperparameters& h, int64_t procs);

}  // namespace hogwild
