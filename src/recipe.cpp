#include "hogwild/recipe.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace hogwild {

Hyperparameters choose_hyperparameters(const Config& config, int64_t nodes) {
  Hyperparameters h;
  h.recipe = config.recipe;
  h.nodes = nodes;
  const int64_t workers = config.procs * nodes;
  const bool seed = config.recipe == Recipe::kSeed;
  h.lr = config.lr > 0 ? config.lr : seed ? kSeedDefaultLr : kScaledDefaultLr;
  h.momentum = config.momentum;
  if (seed) {
    h.batch_size = config.batch_size > 0 ? config.batch_size : kSeedDefaultBatch;
    h.batch_per_worker = h.batch_size;
  } else {
    h.batch_size = config.batch_size > 0 ? config.batch_size : kScaledDefaultBatch;
    const int64_t split = std::llround(double(h.batch_size) / double(workers));
    h.batch_per_worker = std::max(split, std::min(h.batch_size, kMinBatchPerWorker));
    if (h.batch_per_worker > split) {
      h.warmup.epochs = kWarmupEpochs;
      h.warmup.start = double(h.batch_size) / double(h.batch_per_worker * workers);
    }
  }
  h.samples_in_flight = h.batch_per_worker * workers;
  // The per-sample step lr / B stays what one process would take; the nodes' mean (not sum)
  // of their updates gives back the factor K.
  h.lr_per_worker =
      seed ? h.lr : h.lr * double(h.batch_per_worker) * double(nodes) / double(h.batch_size);
  h.lr_schedule = config.lr_schedule != LrSchedule::kRecipes ? config.lr_schedule
                  : seed                                     ? LrSchedule::kConstant
                                                             : LrSchedule::kCosine;
  return h;
}

double Warmup::factor(double epochs_done) const {
  if (epochs <= 0 || epochs_done >= double(epochs)) return 1.0;
  return start + (1.0 - start) * std::max(0.0, epochs_done) / double(epochs);
}

double lr_in_epoch(const Hyperparameters& h, int64_t epoch, int64_t epochs) {
  if (h.lr_schedule != LrSchedule::kCosine || epochs <= 0) return h.lr_per_worker;
  const double pi = std::acos(-1.0);
  return h.lr_per_worker * 0.5 * (1.0 + std::cos(pi * double(epoch) / double(epochs)));
}

std::string describe(const Hyperparameters& h, int64_t procs) {
  const std::string workers =
      h.nodes > 1 ? fmt::format("{} MPI ranks x {} worker{}", h.nodes, procs, procs == 1 ? "" : "s")
                  : fmt::format("{} worker{}", procs, procs == 1 ? "" : "s");
  if (h.recipe == Recipe::kScaled) {
    const std::string lifted =
        h.warmup.epochs > 0
            ? fmt::format(
                  " (at least {} per worker: {} in flight, the step warmed up from {:.3g}x "
                  "over {} epoch{})",
                  kMinBatchPerWorker, h.samples_in_flight, h.warmup.start, h.warmup.epochs,
                  h.warmup.epochs == 1 ? "" : "s")
            : "";
    return fmt::format(
        "recipe scaled: batch {} and lr {} over {} = {} samples{} and lr {:.4g} "
        "per worker and step, {} schedule, momentum {}",
        h.batch_size, h.lr, workers, h.batch_per_worker, lifted, h.lr_per_worker,
        word(h.lr_schedule), h.momentum);
  }
  return fmt::format(
      "recipe seed: {} samples and lr {} per worker and step ({} in flight over {}), "
      "{} schedule, momentum {}",
      h.batch_per_worker, h.lr_per_worker, h.samples_in_flight, workers, word(h.lr_schedule),
      h.momentum);
}

}  // namespace hogwild
