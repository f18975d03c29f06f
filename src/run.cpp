#include "hogwild/run.h"

#include <fmt/format.h>
#include <malloc.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>

#include "hogwild/checkpoint.h"
#include "hogwild/dataset.h"
#include "hogwild/error.h"
#include "hogwild/model.h"
#include "hogwild/output_file.h"
#include "hogwild/partition.h"
#include "hogwild/recipe.h"
#include "hogwild/shared_parameters.h"
#include "hogwild/supervisor.h"
#include "hogwild/trainer.h"

namespace hogwild {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A test-only way to make one worker fail: HOGWILD_TEST_FAULT="RANK:STEP:KIND" makes rank
// RANK's first incarnation fail before its STEP-th optimizer step (0-based), by KIND: kill
// (SIGKILL), abort, throw or exit (code 3). Unset, as in every normal run, it does nothing.
struct FaultPlan {
  int64_t rank = -1;
  int64_t step = 0;
  std::string kind;
};

FaultPlan fault_plan_from_environment() {
  FaultPlan plan;
  const char* text = std::getenv("HOGWILD_TEST_FAULT");
  if (text == nullptr || *text == '\0') return plan;
  char kind[16] = {};
  long long rank = -1, step = -1;
  if (std::sscanf(text, "%lld:%lld:%15s", &rank, &step, kind) != 3 || rank < 0 || step < 0) {
    throw InputError(fmt::format("HOGWILD_TEST_FAULT='{}': expected RANK:STEP:KIND", text));
  }
  plan = {rank, step, kind};
  if (plan.kind != "kill" && plan.kind != "abort" && plan.kind != "throw" && plan.kind != "exit") {
    throw InputError(fmt::format("HOGWILD_TEST_FAULT='{}': KIND is kill, abort, throw or exit", text));
  }
  return plan;
}

void inject_fault(const FaultPlan& plan) {
  if (plan.kind == "kill") std::raise(SIGKILL);
  if (plan.kind == "abort") std::abort();
  if (plan.kind == "exit") ::_exit(3);
  throw std::runtime_error("injected fault (HOGWILD_TEST_FAULT)");
}

// glibc serves large allocations with fresh mmap()s and unmaps them on free, so every
// batch's activations (11 MB for conv1 at batch 256) page-fault in anew. Keeping them in
// the heap measured 3x faster steps here (1,120 -> 3,440 samples/s on one core). Set before
// fork(), so every worker inherits it.
void keep_large_allocations_in_heap() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on 64-bit
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

// What a worker runs after fork(): its own thread count and the recipe's batch and step
// sizes, then its rank's epochs, each reported to the parent through the channel.
WorkerBody worker_body(const Config& config, const Hyperparameters& hyper, int64_t threads,
                       MnistNet model, const Dataset& train, const StridedPartition& partition,
                       const FaultPlan& fault) {
  TrainOptions options;
  options.epochs = config.epochs;
  options.batch_size = hyper.batch_per_worker;
  options.lr = hyper.lr_per_worker;
  for (int64_t e = 0; e < config.epochs; ++e) {
    options.lr_by_epoch.push_back(lr_in_epoch(hyper, e, config.epochs));
  }
  options.momentum = hyper.momentum;
  options.seed = uint64_t(config.seed);
  return [=, &train, &partition](const WorkerStart& start, ReportChannel& channel) mutable {
    at::set_num_threads(int(threads));
    options.first_epoch = start.first_epoch;
    StepHook before_step;
    if (fault.rank == start.rank && start.incarnation == 0) {
      before_step = [&](int64_t step) {
        if (step == fault.step) inject_fault(fault);
      };
    }
    const int rank = start.rank;
    train_rank(model, train, partition, options, rank,
               [&](int64_t epoch, const Totals& totals, double seconds) {
                 WorkerReport report;
                 report.rank = rank;
                 report.epoch = int32_t(epoch);
                 report.samples = totals.samples;
                 report.correct = totals.correct;
                 report.loss_sum = totals.loss_sum;
                 report.seconds = seconds;
                 channel.send(report);
               },
               before_step);
  };
}

// The parent's side of training: it logs each worker's epochs and, each time the slowest
// rank finishes an epoch, evaluates (--eval-every-epoch, --target-accuracy) and checkpoints
// (--checkpoint-every). It reads the shared parameters while the workers go on writing
// them: a snapshot as consistent as Hogwild itself. It evaluates a copy, taken in
// microseconds, so the workers never wait for an evaluation.
class EpochBoundaries {
 public:
  EpochBoundaries(const Config& config, MnistNet model, const Dataset& test, RunRecord& run,
                  std::FILE* out)
      : config_(config), model_(std::move(model)), test_(test), run_(run), out_(out),
        evaluate_each_(config.eval_every_epoch || config.target_accuracy > 0),
        epochs_done_(config.procs, 0), started_(Clock::now()) {}

  // A worker finished an epoch. Returns true once the target is reached: the run should stop.
  bool epoch_done(const EpochRecord& record) {
    run_.epochs.push_back(record);
    print("{}\n", format_epoch_line(record, config_.epochs, config_.procs));
    epochs_done_[record.rank] = record.epoch;
    const int64_t slowest = *std::min_element(epochs_done_.begin(), epochs_done_.end());
    if (slowest == config_.epochs) return false;  // the final evaluation follows the join
    if (evaluate_each_ && slowest > evaluated_) {
      evaluated_ = slowest;
      copy_parameters(*model_, *snapshot_);
      record_evaluation(slowest, evaluate(snapshot_, test_, config_.eval_batch_size));
      if (run_.target_epoch > 0) return true;
    }
    if (config_.checkpoint_every > 0 &&
        slowest / config_.checkpoint_every > checkpointed_ / config_.checkpoint_every) {
      checkpointed_ = slowest;
      save(fmt::format("checkpoint after epoch {}", slowest));
    }
    return false;
  }

  // After the workers are gone: the test result of the run, and the model it belongs to.
  void final_evaluation() {
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

  void save(const std::string& why) {
    save_parameters(*model_, config_.save_model);
    print("model: {} saved to {}\n", why, config_.save_model);
  }

  double seconds() const { return seconds_since(started_); }

 private:
  template <typename... Args>
  void print(fmt::format_string<Args...> format, Args&&... args) {
    fmt::print(out_, format, std::forward<Args>(args)...);
    std::fflush(out_);
  }

  void record_evaluation(int64_t epoch, const Totals& test, bool print_line = true) {
    const EvalRecord record{epoch, seconds(), test};
    run_.evaluations.push_back(record);
    if (print_line) print("{}\n", format_evaluation_line(record));
    if (config_.target_accuracy > 0 && run_.target_epoch == 0 &&
        test.accuracy() >= config_.target_accuracy) {
      run_.target_epoch = epoch;
      run_.target_seconds = record.seconds;
      if (print_line) print("target {:.2f}% reached: stopping the workers\n", config_.target_accuracy);
    }
  }

  const Config& config_;
  MnistNet model_;  // its parameters are the shared ones
  MnistNet snapshot_;
  const Dataset& test_;
  RunRecord& run_;
  std::FILE* out_;
  const bool evaluate_each_;
  std::vector<int64_t> epochs_done_;  // per rank
  int64_t evaluated_ = 0;     // the slowest rank's epoch at the last evaluation
  int64_t checkpointed_ = 0;  // the slowest rank's epoch at the last checkpoint
  const Clock::time_point started_;
};

}  // namespace

RunRecord run_hogwild(const Config& config, std::FILE* out) {
  const auto started = Clock::now();
  // Fork safety: a child forked after the parent ran an OpenMP region with several threads
  // can hang. The parent uses one thread; each worker sets its own count after fork().
  at::set_num_threads(1);
  keep_large_allocations_in_heap();

  RunRecord run;
  run.config = config;
  run.cores = std::max<long>(1, ::sysconf(_SC_NPROCESSORS_ONLN));
  run.threads_per_worker = threads_per_worker(config, run.cores);
  run.hyperparameters = choose_hyperparameters(config);
  const Hyperparameters& hyper = run.hyperparameters;
  fmt::print(out, "{}", format_config(config, run.cores, run.threads_per_worker));
  fmt::print(out, "{}\n", describe(hyper, config.procs));
  // Fail now, not after an hour of training, when an output file cannot be written.
  if (!config.metrics_out.empty()) OutputFile(config.metrics_out, "--metrics-out");
  if (!config.save_model.empty()) OutputFile(config.save_model, "--save-model");
  const FaultPlan fault = fault_plan_from_environment();

  // Ctrl-C before the workers exist: finish the step at hand, then stop with a message.
  const StopSignals stop_signals;
  const char* const kBeforeTraining = " while loading data; nothing to clean up";
  const std::string dir = resolved_data_dir(config);
  const Dataset train = load_dataset(dir, "train", config.train_limit);
  // Test-only: HOGWILD_TEST_STOP_WHILE_LOADING=1 stops the process here, so that a test can
  // signal it at a known point.
  if (const char* stop = std::getenv("HOGWILD_TEST_STOP_WHILE_LOADING"); stop && *stop == '1') {
    std::raise(SIGSTOP);
  }
  StopSignals::throw_if_received(kBeforeTraining);
  const Dataset test = load_dataset(dir, "t10k", config.test_limit);
  StopSignals::throw_if_received(kBeforeTraining);
  run.train_size = train.size();
  run.test_size = test.size();
  run.load_seconds = seconds_since(started);
  const StridedPartition partition(train.size(), config.procs, uint64_t(config.seed),
                                   /*shuffle=*/true, config.drop_last);
  fmt::print(out, "data: {} training images ({} per rank and epoch), {} test images, from {} ({:.1f} s)\n",
             train.size(), partition.samples_per_rank(), test.size(), dir, run.load_seconds);

  torch::manual_seed(uint64_t(config.seed));
  MnistNet model;
  if (!config.resume.empty()) {
    load_parameters(*model, config.resume);
    fmt::print(out, "model: resumed from {}\n", config.resume);
  }
  SharedParameters shared(*model);
  // Workers inherit the mapping through fork(), so the name is no longer needed: unlinking
  // now means nothing is left in /dev/shm whatever happens to any process from here on.
  shared.segment().unlink();
  run.parameters = int64_t(shared.parameter_count());
  run.segment_bytes = int64_t(shared.segment().size());
  fmt::print(out, "model: {} parameters in a {}-byte shared segment; {} procs x {} threads\n",
             run.parameters, run.segment_bytes, config.procs, run.threads_per_worker);
  std::fflush(out);

  EpochBoundaries boundaries(config, model, test, run, out);
  try {
    WorkerGroup workers(int(config.procs),
                        worker_body(config, hyper, run.threads_per_worker, model, train,
                                    partition, fault),
                        int(config.max_restarts));
    workers.join(
        [&](const WorkerReport& report) {
          const EpochRecord record{report.rank, report.epoch,
                                   Totals{report.samples, report.correct, report.loss_sum},
                                   report.seconds};
          if (boundaries.epoch_done(record)) workers.stop_early();
        },
        [&](const RestartNotice& notice) {
          fmt::print(out, "rank {} failed ({}); restarting it at epoch {} (restart {} of {})\n",
                     notice.rank, notice.how, notice.first_epoch + 1, notice.restarts,
                     notice.max_restarts);
          std::fflush(out);
        });
    run.restarts = workers.restarts();
  } catch (const Interrupted& e) {
    if (config.save_model.empty()) throw;
    save_parameters(*model, config.save_model);
    throw Interrupted(e.signal(), fmt::format("{}; parameters saved to {}", e.what(), config.save_model));
  }
  run.train_seconds = boundaries.seconds();

  const auto eval_started = Clock::now();
  boundaries.final_evaluation();
  run.eval_seconds = seconds_since(eval_started);
  if (StopSignals::received() != 0) {  // during evaluation: keep what training produced
    if (config.save_model.empty()) StopSignals::throw_if_received(" during evaluation");
    save_parameters(*model, config.save_model);
    StopSignals::throw_if_received(" during evaluation; parameters saved to " + config.save_model);
  }
  run.total_seconds = seconds_since(started);
  fmt::print(out, "{}", format_summary(run));
  if (!config.save_model.empty()) boundaries.save("trained parameters");
  if (!config.metrics_out.empty()) {
    write_metrics_json(config.metrics_out, run);
    fmt::print(out, "metrics: {}\n", config.metrics_out);
  }
  std::fflush(out);
  return run;
}

}  // namespace hogwild
