// The training step, one replica's epochs, and evaluation. Knows nothing of processes or
// shared memory: it trains whatever parameters the model holds, which is what lets the
// same code serve the forked Hogwild workers and a rank of --sync grads.
#pragma once

#include <functional>
#include <vector>

#include "hogwild/augment.h"
#include "hogwild/dataset.h"
#include "hogwild/dropout.h"
#include "hogwild/error.h"
#include "hogwild/metrics.h"
#include "hogwild/model.h"
#include "hogwild/partition.h"
#include "hogwild/recipe.h"
#include "hogwild/sgd.h"

namespace hogwild {

struct TrainOptions {
  int64_t epochs = 1;
  int64_t first_epoch = 0;  // 0-based; a replacement worker resumes its replica here
  int64_t batch_size = 256;
  double lr = 0.01;
  std::vector<double> lr_by_epoch;  // when not empty: the step size of each epoch, else lr
  Warmup warmup;                    // scales the step size, step by step, in its first epochs
  double momentum = 0.9;
  bool reset_momentum_each_epoch = false;    // clear the buffers after each epoch's callback
  uint64_t seed = 1;                         // dropout masks of epoch e: dropout_key(seed, e)
  double dropout = kSeedDropout;             // their p (dropout.h)
  AugmentPolicy augment;                     // the transforms of epoch e: augment_key(seed, e)
  std::vector<at::Tensor> momentum_buffers;  // when not empty: the optimizer's (MomentumSgd)
};

// A loss that is NaN or infinite: the shared parameters are ruined, so no restart helps.
class DivergenceError : public FatalError {
 public:
  using FatalError::FatalError;
};

// Called before every optimizer step with the replica's step count since it started.
using StepHook = std::function<void(int64_t step)>;

struct StepHooks {
  StepHook before_step;
  // After the backward pass, before the optimizer step: where --sync grads averages the
  // gradients over the MPI ranks.
  std::function<void()> before_update;
};

// What an epoch draws per sample: its dropout masks (dropout.h) and, when the policy is
// active, its shifts and flips (augment.h).
struct EpochDraws {
  uint64_t dropout_key = 0;
  AugmentPolicy augment;
  uint64_t augment_key = 0;
  double dropout = kSeedDropout;  // the masks' p
};

// One pass over `indices` of `data` in batches, one optimizer step per batch, with the
// epoch's per-sample draws. Throws DivergenceError when the loss stops being finite. A
// before_update hook needs an optimizer with UpdateTiming::kAfterBackward.
Totals train_epoch(MnistNet& model, MomentumSgd& optimizer, const Dataset& data,
                   const std::vector<int64_t>& indices, int64_t batch_size, const EpochDraws& draws,
                   const StepHooks& hooks = {}, int64_t* steps = nullptr);

// Called after each epoch (1-based) with that epoch's totals and its wall time.
using EpochCallback = std::function<void(int64_t epoch, const Totals& totals, double seconds)>;

// Everything replica `replica` of the partition does: its own momentum SGD, then each epoch
// from options.first_epoch over its share. The model's parameters may be shared with other
// workers; no locks are taken.
void train_replica(MnistNet& model, const Dataset& data, const StridedPartition& partition,
                   const TrainOptions& options, int64_t replica, const EpochCallback& on_epoch,
                   const StepHooks& hooks = {});

// Loss and accuracy over the whole data set, in eval mode and without gradients.
Totals evaluate(MnistNet& model, const Dataset& data, int64_t batch_size);

}  // namespace hogwild
