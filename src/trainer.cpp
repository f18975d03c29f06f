#include "hogwild/trainer.h"

#include <torch/torch.h>

#include <fmt/format.h>

#include "hogwild/dropout.h"

#include <chrono>
#include <cmath>

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

}  // namespace

Totals train_epoch(MnistNet& model, torch::optim::Optimizer& optimizer, const Dataset& data,
                   const std::vector<int64_t>& indices, int64_t batch_size, uint64_t dropout_key,
                   const StepHooks& hooks, int64_t* steps) {
  model->train();
  Totals totals;
  const auto all = torch::from_blob(const_cast<int64_t*>(indices.data()),
                                    {int64_t(indices.size())}, torch::kInt64);
  for (int64_t start = 0; start < int64_t(indices.size()); start += batch_size) {
    const auto chosen = all.slice(0, start, std::min<int64_t>(start + batch_size, indices.size()));
    const auto images = data.images.index_select(0, chosen);
    const auto labels = data.labels.index_select(0, chosen);
    const int64_t n = chosen.size(0);
    const auto mask = torch::empty({n, 64, 5, 5}, torch::kFloat32);
    fill_dropout_mask(mask.data_ptr<float>(), indices.data() + start, n, kDropoutUnits, dropout_key);
    if (hooks.before_step) hooks.before_step(steps ? *steps : 0);
    optimizer.zero_grad();
    const auto logits = model->forward(images, mask);
    const auto loss = torch::nn::functional::cross_entropy(logits, labels);
    const Totals batch = batch_totals(logits.detach(), labels, loss.detach());
    if (!std::isfinite(batch.loss_sum)) {
      throw DivergenceError(fmt::format("loss became {} at step {}", batch.loss_sum,
                                        start / batch_size + 1));
    }
    loss.backward();
    if (hooks.before_update) hooks.before_update();
    optimizer.step();  // writes the (possibly shared) parameters in place, without locks
    totals += batch;
    if (steps) ++*steps;
  }
  return totals;
}

void train_rank(MnistNet& model, const Dataset& data, const StridedPartition& partition,
                const TrainOptions& options, int64_t rank, const EpochCallback& on_epoch,
                const StepHooks& hooks) {
  // Each rank's own optimizer, so momentum buffers are private to the rank.
  torch::optim::SGD optimizer(model->parameters(),
                              torch::optim::SGDOptions(options.lr).momentum(options.momentum));
  int64_t steps = 0;
  for (int64_t epoch = options.first_epoch; epoch < options.epochs; ++epoch) {
    const double lr = epoch < int64_t(options.lr_by_epoch.size()) ? options.lr_by_epoch[epoch] : options.lr;
    for (auto& group : optimizer.param_groups()) {
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
    }
    const auto started = std::chrono::steady_clock::now();
    Totals totals;
    try {
      totals = train_epoch(model, optimizer, data, partition.indices(rank, epoch), options.batch_size,
                           dropout_key(options.seed, epoch), hooks, &steps);
    } catch (const DivergenceError& e) {
      throw DivergenceError(fmt::format("rank {}: {} of epoch {}; lower the learning rate "
                                        "(--lr; this worker's step size is {})", rank, e.what(), epoch + 1, lr));
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    on_epoch(epoch + 1, totals, took.count());
    // SGD makes a missing buffer anew from the next gradient: a reset.
    if (options.reset_momentum_each_epoch) optimizer.state().clear();
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
