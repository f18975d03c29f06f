#include "hogwild/run.h"

#include <fmt/format.h>
#include <malloc.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>

#include "hogwild/checkpoint.h"
#include "hogwild/dataset.h"
#include "hogwild/error.h"
#include "hogwild/model.h"
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

// Fail now, not after an hour of training, when an output file cannot be written.
void check_writable(const std::string& path, const char* flag) {
  if (path.empty()) return;
  const std::string probe = path + ".tmp";
  std::ofstream out(probe, std::ios::trunc);
  if (!out) throw InputError(system_error_text(fmt::format("{} {}: cannot write", flag, path), errno));
  out.close();
  std::remove(probe.c_str());
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
  check_writable(config.metrics_out, "--metrics-out");
  check_writable(config.save_model, "--save-model");
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

  const int64_t threads = run.threads_per_worker;
  const auto train_started = Clock::now();
  const bool eval_every_epoch = config.eval_every_epoch || config.target_accuracy > 0;
  // The parent evaluates a copy of the shared parameters, taken in microseconds, so the
  // workers never wait for an evaluation.
  MnistNet snapshot;
  int64_t evaluated = 0;  // the last epoch every rank had finished when evaluated
  const auto evaluate_now = [&](int64_t epoch) {
    copy_parameters(*model, *snapshot);
    EvalRecord record{epoch, 0, evaluate(snapshot, test, config.eval_batch_size)};
    record.seconds = seconds_since(train_started);
    run.evaluations.push_back(record);
    fmt::print(out, "{}\n", format_evaluation_line(record));
    if (config.target_accuracy > 0 && run.target_epoch == 0 &&
        record.test.accuracy() >= config.target_accuracy) {
      run.target_epoch = epoch;
      run.target_seconds = record.seconds;
      fmt::print(out, "target {:.2f}% reached after epoch {}, {:.1f} s into training\n",
                 config.target_accuracy, epoch, record.seconds);
    }
    std::fflush(out);
  };
  std::vector<int64_t> epochs_done(config.procs, 0);
  int64_t checkpointed = 0;  // epochs every rank had finished at the last checkpoint
  const auto save = [&](const std::string& why) {
    save_parameters(*model, config.save_model);
    fmt::print(out, "model: {} saved to {}\n", why, config.save_model);
    std::fflush(out);
  };
  try {
    const auto body = [&](const WorkerStart& start, ReportChannel& channel) {
      at::set_num_threads(int(threads));
      TrainOptions options;
      options.epochs = config.epochs;
      options.first_epoch = start.first_epoch;
      options.batch_size = hyper.batch_per_worker;
      options.lr = hyper.lr_per_worker;
      for (int64_t e = 0; e < config.epochs; ++e) {
        options.lr_by_epoch.push_back(lr_in_epoch(hyper, e, config.epochs));
      }
      options.momentum = hyper.momentum;
      options.seed = uint64_t(config.seed);
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
    WorkerGroup workers(int(config.procs), body, int(config.max_restarts));
    workers.join(
        [&](const WorkerReport& report) {
          EpochRecord record{report.rank, report.epoch,
                             Totals{report.samples, report.correct, report.loss_sum},
                             report.seconds};
          run.epochs.push_back(record);
          fmt::print(out, "{}\n", format_epoch_line(record, config.epochs, config.procs));
          std::fflush(out);
          // The parent reads the shared parameters while the workers go on writing them: a
          // snapshot as consistent as Hogwild itself.
          epochs_done[report.rank] = report.epoch;
          const int64_t slowest = *std::min_element(epochs_done.begin(), epochs_done.end());
          if (eval_every_epoch && slowest > evaluated && slowest < config.epochs) {
            evaluated = slowest;
            evaluate_now(slowest);
            if (run.target_epoch > 0) {
              workers.stop_early();
              return;
            }
          }
          if (config.checkpoint_every > 0 && slowest < config.epochs &&
              slowest / config.checkpoint_every > checkpointed / config.checkpoint_every) {
            checkpointed = slowest;
            save(fmt::format("checkpoint after epoch {}", slowest));
          }
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
  run.train_seconds = seconds_since(train_started);

  const auto eval_started = Clock::now();
  if (run.target_epoch > 0) {
    // Keep, save and report the very parameters that reached the target, not those the
    // workers went on to write while they were being stopped.
    copy_parameters(*snapshot, *model);
    run.test = run.evaluations.back().test;
  } else {
    run.test = evaluate(model, test, config.eval_batch_size);
    if (eval_every_epoch) {
      run.evaluations.push_back({config.epochs, seconds_since(train_started), run.test});
      if (config.target_accuracy > 0 && run.test.accuracy() >= config.target_accuracy) {
        run.target_epoch = config.epochs;
        run.target_seconds = run.evaluations.back().seconds;
      }
    }
  }
  run.eval_seconds = seconds_since(eval_started);
  if (StopSignals::received() != 0) {  // during evaluation: keep what training produced
    if (config.save_model.empty()) StopSignals::throw_if_received(" during evaluation");
    save_parameters(*model, config.save_model);
    StopSignals::throw_if_received(" during evaluation; parameters saved to " + config.save_model);
  }
  run.total_seconds = seconds_since(started);
  fmt::print(out, "{}", format_summary(run));
  if (!config.save_model.empty()) save("trained parameters");
  if (!config.metrics_out.empty()) {
    write_metrics_json(config.metrics_out, run);
    fmt::print(out, "metrics: {}\n", config.metrics_out);
  }
  std::fflush(out);
  return run;
}

}  // namespace hogwild
