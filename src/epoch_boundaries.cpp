#include "hogwild/epoch_boundaries.h"

#include <torch/torch.h>

#include <algorithm>

#include "hogwild/checkpoint.h"
#include "hogwild/trainer.h"

namespace hogwild {

EpochBoundaries::EpochBoundaries(const Config& config, MnistNet model, const Dataset& test,
                                 RunRecord& run, std::FILE* out)
    : config_(config),
      model_(std::move(model)),
      test_(test),
      run_(run),
      out_(out),
      evaluate_each_(config.eval_every_epoch || config.target_accuracy > 0),
      epochs_done_(config.procs, run.resumed_after),
      first_epoch_(run.resumed_after),
      closed_(run.resumed_after),
      evaluated_(run.resumed_after),
      started_(std::chrono::steady_clock::now()) {}

bool EpochBoundaries::checkpoint_due(int64_t epoch) const {
  return checkpoint_after(epoch, config_.checkpoint_every, config_.epochs);
}

int64_t EpochBoundaries::record_worker_epoch(const EpochRecord& record) {
  run_.epochs.push_back(record);
  const int64_t before = *std::min_element(epochs_done_.begin(), epochs_done_.end());
  epochs_done_[record.worker] = record.epoch;
  print("{}\n", format_epoch_line(record, config_.epochs, config_.procs, eta()));
  const int64_t slowest = *std::min_element(epochs_done_.begin(), epochs_done_.end());
  return slowest > before ? slowest : 0;
}

void EpochBoundaries::record_rank_epochs(int64_t epoch, const std::vector<NodeEpoch>& ranks,
                                         bool averaged) {
  MpiEpochRecord record;
  record.epoch = epoch;
  std::vector<EpochRecord> lines;
  for (std::size_t k = 0; k < ranks.size(); ++k) {
    const NodeEpoch& n = ranks[k];
    lines.push_back(
        {-1, epoch, Totals{n.samples, n.correct, n.loss_sum}, n.seconds, n.lr, int64_t(k)});
    record.wall_seconds = std::max(record.wall_seconds, n.wall_seconds);
    record.mpi_seconds.push_back(n.mpi_seconds);
    record.checksums.push_back(n.checksum);
  }
  run_.epochs.insert(run_.epochs.end(), lines.begin(), lines.end());
  run_.mpi.epochs.push_back(record);
  const double eta =
      eta_seconds(seconds(), double(epoch - first_epoch_) / double(config_.epochs - first_epoch_));
  print("{}\n", format_mpi_epoch_line(epoch, config_.epochs, lines, config_.procs, record, eta));
  if (averaged && !all_equal(record.checksums)) {
    print("warning: the ranks' parameters differ after the average of epoch {}\n", epoch);
  }
}

void EpochBoundaries::close_epoch(int64_t epoch) {
  for (int64_t& e : epochs_done_) e = std::max(e, epoch);
  closed_ = std::max(closed_, epoch);
  if (epoch == config_.epochs) return;  // the final evaluation follows the join
  if (evaluate_each_ && epoch > evaluated_) {
    evaluated_ = epoch;
    copy_parameters(*model_, *snapshot_);
    record_evaluation(epoch, evaluate(snapshot_, test_, config_.eval_batch_size));
    if (target_reached()) return;
  }
  if (checkpoint_due(epoch)) save(fmt::format("checkpoint after epoch {}", epoch));
}

void EpochBoundaries::final_evaluation() {
  if (run_.target_epoch > 0) {
    // Keep, save and report the very parameters that reached the target, not those the
    // workers went on to write while they were being stopped.
    copy_parameters(*snapshot_, *model_);
    run_.test = run_.evaluations.back().test;
    return;
  }
  run_.test = evaluate(model_, test_, config_.eval_batch_size);
  if (evaluate_each_) record_evaluation(config_.epochs, run_.test, /*print_line=*/false);
}

RunState EpochBoundaries::state(bool partial) const {
  RunState state = checkpoint_base_;
  state.epochs_done = closed_;
  state.partial = partial;
  if (momentum_) state.momentum = momentum_(partial);
  return state;
}

void EpochBoundaries::save(const std::string& why, bool partial) {
  save_checkpoint(*model_, config_.save_model, state(partial));
  print("model: {} saved to {}\n", why, config_.save_model);
}

void EpochBoundaries::follow_steps(const WorkerControl* control, int64_t steps_per_epoch) {
  control_ = control;
  steps_per_epoch_ = steps_per_epoch;
}

double EpochBoundaries::eta() const {
  const int workers = int(epochs_done_.size());
  const int64_t per_epoch = control_ != nullptr ? steps_per_epoch_ : 1;
  std::vector<int64_t> done(epochs_done_.size());
  for (int w = 0; w < workers; ++w) {
    done[w] = epochs_done_[w] * per_epoch;
    // The counter holds the step a worker has begun: the ones before it are done.
    if (control_ != nullptr)
      done[w] = std::max(done[w], control_->steps[w].value.load(std::memory_order_relaxed));
  }
  return eta_seconds(seconds(),
                     slowest_share(done.data(), workers, per_epoch, config_.epochs, first_epoch_));
}

double EpochBoundaries::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

void EpochBoundaries::record_evaluation(int64_t epoch, const Totals& test, bool print_line) {
  const EvalRecord record{epoch, seconds(), test};
  run_.evaluations.push_back(record);
  if (print_line) print("{}\n", format_evaluation_line(record, eta()));
  if (config_.target_accuracy > 0 && run_.target_epoch == 0 &&
      test.accuracy() >= config_.target_accuracy) {
    run_.target_epoch = epoch;
    run_.target_seconds = record.seconds;
    if (print_line)
      print("target {:.2f}% reached: stopping the workers\n", config_.target_accuracy);
  }
}

}  // namespace hogwild
