// The training recipe: the step size, momentum and per-worker batch a run uses, chosen from
// the configuration and the number of processes by one rule (README, "Accuracy as N grows").
// No torch here: the rule is plain arithmetic, tested on its own.
#pragma once

#include <cstdint>
#include <string>

#include "hogwild/config.h"

namespace hogwild {

// N Hogwild workers that each step on b samples with step size lr, at about the same
// parameters, move the model like one process stepping on N*b samples with step size N*lr.
// "scaled" (the default) holds that one process fixed whatever N: batch_size B and lr are
// what one process would use; each worker takes b = round(B / N) samples and lr * b / B.
// "seed": the seed's plain recipe, batch_size samples and lr per worker, whatever N (so at
// N = 5 it trains like one process with a 5x larger batch and step). The scaled recipe also
// lets the step size decay over the epochs (cosine), the seed's keeps it constant. lr 0 and
// batch_size 0 mean the recipe's defaults.
//
// Many workers: below kMinBatchPerWorker samples a step costs more per sample (and the
// shared parameters are written more often for the same data), so "scaled" never splits B
// below it: b = max(round(B / N), min(B, kMinBatchPerWorker)). Where that lifts b, the
// samples in flight grow to k = N * b / B times B and each worker keeps lr * b / B, the same
// step per sample: the linear scaling rule (Goyal et al. 2017), one process with a k times
// larger batch and step size. Like them, the step then warms up: it starts at 1 / k of its
// size and grows linearly to it over the first kWarmupEpochs epochs.
//
// K MPI ranks (nodes) that average their models or gradients combine their updates by a mean,
// not a sum: K nodes that each move like one process stepping on n samples with step size s
// move, averaged, like one process stepping on K*n samples with step size s. So "scaled"
// splits B over all K*N workers (b = B / (K*N), with the same floor) and gives each worker
// lr * b * K / B: N workers of a node sum to lr on B / K samples, and the K nodes' mean to
// lr on B.
inline constexpr int64_t kScaledDefaultBatch = 256;  // samples in flight, all workers together
inline constexpr double kScaledDefaultLr = 0.03;
inline constexpr int64_t kSeedDefaultBatch = 256;  // per worker (the seed's)
inline constexpr double kSeedDefaultLr = 0.01;
// 64 ran 16 workers on 2 cores as fast as 2 but lost accuracy at N = 16 and 32 (98.98 and
// 98.84 % against 99.15 and 99.16 %): docs/accuracy.md, "Where sixteen workers lose".
inline constexpr int64_t kMinBatchPerWorker = 32;  // docs/accuracy.md, "Many workers"
inline constexpr int64_t kWarmupEpochs = 1;

// The step size's ramp at the start of a run: a factor from `start` (epoch 0) rising
// linearly to 1 after `epochs` epochs; 1 throughout when epochs is 0.
struct Warmup {
  int64_t epochs = 0;
  double start = 1;
  // The factor after `epochs_done` epochs (fractional: 0.5 is halfway through the first).
  double factor(double epochs_done) const;
};

struct Hyperparameters {
  Recipe recipe = Recipe::kScaled;
  int64_t nodes = 1;                             // MPI ranks whose updates are averaged
  int64_t batch_size = 0;                        // as configured, or the recipe's default for 0
  int64_t batch_per_worker = 0;                  // samples per optimizer step of one worker
  int64_t samples_in_flight = 0;                 // batch_per_worker x procs x nodes
  double lr = 0;                                 // as configured, or the recipe's default for 0
  double lr_per_worker = 0;                      // each worker's SGD step size in the first epoch
  Warmup warmup;                                 // when the floor lifted batch_per_worker
  LrSchedule lr_schedule = LrSchedule::kCosine;  // kCosine or kConstant, never kRecipes
  double momentum = 0;
};

// The hyperparameters for `config` (validated) on `nodes` MPI ranks.
Hyperparameters choose_hyperparameters(const Config& config, int64_t nodes = 1);

// A worker's step size in `epoch` (0-based) of `epochs`: lr_per_worker, times
// (1 + cos(pi * epoch / epochs)) / 2 for the cosine schedule. The same for every N, so the
// rule above holds in every epoch. The warm-up multiplies it within the epoch (trainer.cpp).
double lr_in_epoch(const Hyperparameters& h, int64_t epoch, int64_t epochs);

// "recipe scaled: batch 256 and lr 0.03 over 5 workers = 51 samples and lr 0.005977 per
// worker and step, momentum 0.9"
std::string describe(const Hyperparameters& h, int64_t procs);

}  // namespace hogwild
