#include "hogwild/worker.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <thread>

#include "hogwild/error.h"
#include "hogwild/trainer.h"

namespace hogwild {

TrainOptions train_options(const Config& config, const Hyperparameters& hyper) {
  TrainOptions options;
  options.epochs = config.epochs;
  options.batch_size = hyper.batch_per_worker;
  options.lr = hyper.lr_per_worker;
  for (int64_t e = 0; e < config.epochs; ++e)
    options.lr_by_epoch.push_back(lr_in_epoch(hyper, e, config.epochs));
  options.warmup = hyper.warmup;
  options.momentum = hyper.momentum;
  options.seed = uint64_t(config.seed);
  options.dropout = config.dropout;
  options.augment = augment_policy(config.augment, int(config.augment_shift), config.augment_flips);
  return options;
}

std::vector<torch::Tensor> momentum_buffers(MomentumStore& store, int worker, MnistNet& model) {
  std::vector<torch::Tensor> buffers;
  const auto parameters = model->parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    buffers.push_back(torch::from_blob(store.buffer(worker, i), parameters[i].sizes()));
  }
  return buffers;
}

WorkerBody worker_body(const WorkerSetup& setup, MnistNet model, const Dataset& train,
                       const StridedPartition& partition) {
  TrainOptions options = train_options(*setup.config, setup.hyper);
  options.reset_momentum_each_epoch = setup.reset_momentum_each_epoch;
  return [=, &train, &partition](const WorkerStart& start, ReportChannel& channel) mutable {
    at::set_num_threads(int(setup.threads));
    model->set_precision(setup.precision);  // this process's copy of the module object only
    options.first_epoch = start.first_epoch;
    const int worker = start.worker;
    if (setup.momentum != nullptr) {
      // A replacement starts its epoch again with a fresh buffer; the first incarnation takes
      // what the parent put there (zeros, or a checkpoint's on --resume).
      if (start.incarnation > 0) setup.momentum->clear(worker);
      options.momentum_buffers = momentum_buffers(*setup.momentum, worker, model);
    }
    WorkerControl* control = setup.control;
    const int64_t first_step = start.first_epoch * setup.steps_per_epoch;
    const std::string who = fmt::format("worker {}", worker);
    const auto check_bound = [&] {
      if (setup.parameters != nullptr) setup.parameters->check_bound(*model, who);
    };
    check_bound();
    StepHooks hooks;
    hooks.before_step = [&](int64_t step) {
      if (control != nullptr)
        control->steps[worker].value.store(first_step + step, std::memory_order_relaxed);
      inject_planned_fault(setup.fault, worker, start.incarnation, step, *model);
    };
    train_replica(
        model, train, partition, options, setup.topology.replica(worker),
        [&](int64_t epoch, const Totals& totals, double seconds) {
          check_bound();  // every epoch: a step must not have unbound a parameter
          WorkerReport report;
          report.worker = worker;
          report.epoch = int32_t(epoch);
          report.samples = totals.samples;
          report.correct = totals.correct;
          report.loss_sum = totals.loss_sum;
          report.seconds = seconds;
          report.lr = options.lr_by_epoch[std::size_t(epoch - 1)];
          channel.send(report);
          // The next epoch starts from the average of all ranks (--sync epoch), or once
          // the checkpoint holds this one's end (--checkpoint-every).
          while (control != nullptr && control->waits_after(epoch) &&
                 control->released_epoch.load(std::memory_order_acquire) < epoch) {
            std::this_thread::sleep_for(std::chrono::microseconds(200));
          }
        },
        hooks);
  };
}

}  // namespace hogwild
