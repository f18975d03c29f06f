#include "hogwild/trainer.h"

#include <ATen/record_function.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "hogwild/dropout.h"
#include "hogwild/sgd.h"

namespace hogwild {
namespace {

Totals batch_totals(const torch::Tensor& logits, const torch::Tensor& labels,
                    const torch::Tensor& loss) {
  Totals totals;
  totals.samples = labels.size(0);
  totals.correct = logits.argmax(1).eq(labels).sum().item<int64_t>();
  totals.loss_sum = loss.item<double>() * double(totals.samples);
  return totals;
}

// The batch's images and labels, copied row by row (ATen's index_select took 3 % of a step
// for what is a few memcpy()s), each image shifted and flipped as the epoch's draws say.
void gather(const Dataset& data, const int64_t* rows, int64_t n, const EpochDraws& draws,
            torch::Tensor& images, torch::Tensor& labels) {
  const int64_t pixels = data.images.stride(0);
  TORCH_CHECK(data.images.is_contiguous() && images.numel() == n * pixels, "gather: shapes");
  const float* from = data.images.data_ptr<float>();
  float* to = images.data_ptr<float>();
  const int64_t* label_from = data.labels.data_ptr<int64_t>();
  int64_t* label_to = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    TORCH_CHECK(rows[i] >= 0 && rows[i] < data.size(), "gather: sample ", rows[i],
                " is not in the data set");
    if (draws.augment.active()) {
      transform_image(from + rows[i] * pixels, to + i * pixels, data.images.size(2),
                      data.images.size(3),
                      draw_transform(draws.augment, draws.augment_key, rows[i]));
    } else {
      std::memcpy(to + i * pixels, from + rows[i] * pixels, std::size_t(pixels) * sizeof(float));
    }
    label_to[i] = label_from[rows[i]];
  }
}

// A step's inputs: the batch and its dropout mask, in buffers kept from step to step.
struct BatchInputs {
  torch::Tensor images, labels, mask;

  // Fills them for the `n` samples at `rows`, with the epoch's draws.
  void assemble(const Dataset& data, const int64_t* rows, int64_t n, const EpochDraws& draws) {
    // The last step's buffers, unless something still holds them or the batch is shorter.
    const auto reusable = [n](const torch::Tensor& t) {
      return t.defined() && t.size(0) == n && t.use_count() == 1;
    };
    if (!reusable(images)) {
      images = torch::empty({n, data.images.size(1), data.images.size(2), data.images.size(3)},
                            torch::kFloat32);
    }
    if (!reusable(labels)) labels = torch::empty({n}, torch::kInt64);
    gather(data, rows, n, draws, images, labels);
    // Channels-last, as the activations it multiplies (model.cpp): its bytes are filled in
    // order, so unit j of a sample is channel j % 64 of position j / 64.
    if (!reusable(mask)) {
      mask = torch::empty(
          {n, 64, 5, 5},
          torch::TensorOptions(torch::kFloat32).memory_format(torch::MemoryFormat::ChannelsLast));
    }
    fill_dropout_mask(mask.data_ptr<float>(), rows, n, kDropoutUnits, draws.dropout_key,
                      draws.dropout);
  }
};

EpochDraws epoch_draws(const TrainOptions& options, int64_t epoch) {
  return {dropout_key(options.seed, epoch), options.augment, augment_key(options.seed, epoch),
          options.dropout};
}

}  // namespace

Totals train_epoch(MnistNet& model, MomentumSgd& optimizer, const Dataset& data,
                   const std::vector<int64_t>& indices, int64_t batch_size, const EpochDraws& draws,
                   const StepHooks& hooks, int64_t* steps) {
  if (hooks.before_update && optimizer.timing() != UpdateTiming::kAfterBackward) {
    throw std::logic_error(
        "train_epoch: a before_update hook needs UpdateTiming::kAfterBackward (the "
        "parameters would be written before it ran)");
  }
  model->train();
  Totals totals;
  BatchInputs in;
  for (int64_t start = 0; start < int64_t(indices.size()); start += batch_size) {
    // The RECORD_USER_SCOPEs name the phases for hogwild_step --profile; without a profiler
    // they cost a flag test.
    const int64_t n = std::min<int64_t>(start + batch_size, indices.size()) - start;
    {
      RECORD_USER_SCOPE("step 1: batch and dropout mask");
      in.assemble(data, indices.data() + start, n, draws);
    }
    if (hooks.before_step) hooks.before_step(steps ? *steps : 0);
    torch::Tensor loss;
    Totals batch;
    {
      RECORD_USER_SCOPE("step 2: forward and loss");
      optimizer.zero_grad();
      const auto logits = model->forward(in.images, in.mask);
      loss = torch::nn::functional::cross_entropy(logits, in.labels);
      batch = batch_totals(logits.detach(), in.labels, loss.detach());
    }
    if (!std::isfinite(batch.loss_sum)) {
      throw DivergenceError(
          fmt::format("loss became {} at step {}", batch.loss_sum, start / batch_size + 1));
    }
    {
      // With UpdateTiming::kDuringBackward this writes the (possibly shared) parameters in
      // place, without locks, layer by layer (sgd.h).
      RECORD_USER_SCOPE("step 3: backward");
      loss.backward();
    }
    if (hooks.before_update) hooks.before_update();
    if (optimizer.timing() == UpdateTiming::kAfterBackward) {
      RECORD_USER_SCOPE("step 4: SGD update");
      optimizer.step();
    }
    totals += batch;
    if (steps) ++*steps;
  }
  return totals;
}

void train_replica(MnistNet& model, const Dataset& data, const StridedPartition& partition,
                   const TrainOptions& options, int64_t replica, const EpochCallback& on_epoch,
                   const StepHooks& hooks) {
  // Each replica's own optimizer, so momentum buffers are private to it. Hogwild updates
  // each layer as soon as its gradient exists (sgd.h); a before_update hook (--sync grads
  // averages the gradients there) needs them all first.
  MomentumSgd optimizer(
      model->parameters(), options.lr, options.momentum,
      hooks.before_update ? UpdateTiming::kAfterBackward : UpdateTiming::kDuringBackward,
      options.momentum_buffers);
  int64_t steps = 0;
  for (int64_t epoch = options.first_epoch; epoch < options.epochs; ++epoch) {
    const double lr =
        epoch < int64_t(options.lr_by_epoch.size()) ? options.lr_by_epoch[epoch] : options.lr;
    optimizer.set_lr(lr);
    const std::vector<int64_t> indices = partition.indices(replica, epoch);
    StepHooks epoch_hooks = hooks;
    if (epoch < options.warmup.epochs) {
      // Each step's size from how far into the run it is, so a replacement worker or a
      // resumed run (both start at an epoch's start) ramps as the first did.
      const double epoch_steps =
          double((int64_t(indices.size()) + options.batch_size - 1) / options.batch_size);
      epoch_hooks.before_step = [&, first = steps, epoch_steps, lr, epoch](int64_t step) {
        optimizer.set_lr(lr *
                         options.warmup.factor(double(epoch) + double(step - first) / epoch_steps));
        if (hooks.before_step) hooks.before_step(step);
      };
    }
    const auto started = std::chrono::steady_clock::now();
    Totals totals;
    try {
      totals = train_epoch(model, optimizer, data, indices, options.batch_size,
                           epoch_draws(options, epoch), epoch_hooks, &steps);
    } catch (const DivergenceError& e) {
      throw DivergenceError(fmt::format(
          "{} of epoch {}; lower the learning rate (--lr; this worker's step size is {})", e.what(),
          epoch + 1, lr));
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    on_epoch(epoch + 1, totals, took.count());
    if (options.reset_momentum_each_epoch) optimizer.clear_momentum();
  }
}

Totals evaluate(MnistNet& model, const Dataset& data, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  model->eval();
  Totals totals;
  for (int64_t start = 0; start < data.size(); start += batch_size) {
    const int64_t end = std::min(start + batch_size, data.size());
    const auto images = data.images.slice(0, start, end);
    const auto labels = data.labels.slice(0, start, end);
    const auto logits = model->forward(images);
    totals += batch_totals(logits, labels, torch::nn::functional::cross_entropy(logits, labels));
  }
  return totals;
}

}  // namespace hogwild
