#include "hogwild/run.h"

#include <fmt/format.h>
#include <sched.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <new>

#include "hogwild/checkpoint.h"
#include "hogwild/dataset.h"
#include "hogwild/epoch_boundaries.h"
#include "hogwild/error.h"
#include "hogwild/memory.h"
#include "hogwild/model.h"
#include "hogwild/node_sync.h"
#include "hogwild/output_file.h"
#include "hogwild/partition.h"
#include "hogwild/progress.h"
#include "hogwild/recipe.h"
#include "hogwild/shared_parameters.h"
#include "hogwild/supervisor.h"
#include "hogwild/sync.h"
#include "hogwild/trainer.h"
#include "hogwild/worker.h"

namespace hogwild {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Cores this process may run on (its CPU affinity).
int64_t usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return std::max<long>(1, ::sysconf(_SC_NPROCESSORS_ONLN));
  return CPU_COUNT(&set);
}

// What must be the same on every MPI rank: the configuration (less the files only rank 0
// reads or writes, and the data directory, whose path may differ between machines) and the
// data itself.
std::vector<std::string> job_fingerprint(const Config& config, const Dataset& train, const Dataset& test) {
  std::vector<std::string> lines;
  for (const auto& entry : config_entries(config)) {
    if (entry.key == "data_dir" || entry.key == "metrics_out" || entry.key == "save_model" ||
        entry.key == "resume") {
      continue;
    }
    lines.push_back(fmt::format("{} = {}", entry.key, entry.value));
  }
  for (const auto& [name, data] : {std::pair{"training data", &train}, std::pair{"test data", &test}}) {
    const uint64_t sum = checksum(data->images.data_ptr<float>(), std::size_t(data->images.numel()) * sizeof(float)) ^
                         checksum(data->labels.data_ptr<int64_t>(), std::size_t(data->labels.numel()) * sizeof(int64_t));
    lines.push_back(fmt::format("{} = {} images, checksum {:016x}", name, data->size(), sum));
  }
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

// Stops every rank before training, with one line from rank 0, when the ranks disagree.
void check_ranks_agree(MpiWorld& world, const Config& config, const Dataset& train, const Dataset& test) {
  const std::vector<std::string> mine = job_fingerprint(config, train, test);
  const std::vector<std::string> all = world.gather_strings(join_lines(mine));
  std::string problem;
  for (std::size_t r = 1; r < all.size() && problem.empty(); ++r) {
    if (all[r] == all[0]) continue;
    std::vector<std::string> theirs;
    std::size_t start = 0;
    for (std::size_t end; (end = all[r].find('\n', start)) != std::string::npos; start = end + 1) {
      theirs.push_back(all[r].substr(start, end - start));
    }
    for (std::size_t i = 0; i < mine.size(); ++i) {
      if (i < theirs.size() && theirs[i] == mine[i]) continue;
      problem = fmt::format("MPI rank {} disagrees with rank 0: {} there, {} on rank 0; every rank "
                            "needs the same flags, config file and data files",
                            r, i < theirs.size() ? theirs[i] : "(nothing)", mine[i]);
      break;
    }
  }
  int32_t disagree = problem.empty() ? 0 : 1;
  world.broadcast(&disagree, sizeof disagree);
  if (disagree == 0) return;
  if (world.rank() == 0) throw JobInputError(problem);
  throw ReportedByRankZero("the MPI ranks disagree (rank 0 says how)");
}

// --sync grads: the ranks' gradients, summed in one buffer, become their mean before every
// optimizer step, so every rank takes the same step from the same parameters.
class GradientAverage {
 public:
  GradientAverage(MnistNet model, MpiWorld& world) : model_(std::move(model)), world_(world) {
    std::size_t count = 0;
    for (const auto& p : model_->parameters()) count += std::size_t(p.numel());
    flat_.resize(count);
  }
  void operator()() {
    std::size_t offset = 0;
    const auto parameters = model_->parameters();
    for (const auto& p : parameters) {
      const auto grad = p.grad().contiguous();
      std::copy_n(grad.data_ptr<float>(), grad.numel(), flat_.data() + offset);
      offset += std::size_t(grad.numel());
    }
    world_.allreduce_sum(flat_.data(), flat_.size());
    divide_in_place(flat_.data(), flat_.size(), world_.size());
    offset = 0;
    for (const auto& p : parameters) {
      auto grad = p.grad();
      std::copy_n(flat_.data() + offset, grad.numel(), grad.data_ptr<float>());
      offset += std::size_t(grad.numel());
    }
  }

 private:
  MnistNet model_;
  MpiWorld& world_;
  std::vector<float> flat_;
};

// The target was reached on rank 0 in --sync grads, where the rank itself trains.
struct StopTraining {};

}  // namespace

RunRecord run_hogwild(const Config& config, std::FILE* out, MpiWorld& world) {
  const auto started = Clock::now();
  // Fork safety: a child forked after the parent ran an OpenMP region with several threads
  // can hang. The parent uses one thread; each worker sets its own count after fork().
  at::set_num_threads(1);
  keep_large_allocations_in_heap();
  const bool mpi = world.active();
  const bool writer = world.rank() == 0;  // prints and writes files
  const SyncPlan plan = parse_sync(config.sync);
  const bool in_process = mpi && plan.mode == SyncPlan::Mode::kGrads;

  RunRecord run;
  run.config = config;
  run.cores = std::max<long>(1, ::sysconf(_SC_NPROCESSORS_ONLN));
  run.threads_per_worker = threads_per_worker(config, run.cores, world.local_size());
  run.cpu = cpu_model_name();
  run.isa = cpu_isa_summary();
  run.amx = cpu_has_amx();
  const PrecisionChoice precision = choose_precision(config.precision);
  run.precision = precision_name(precision.precision);
  run.precision_why = precision.why;
  run.hyperparameters = choose_hyperparameters(config, world.size());
  const Hyperparameters& hyper = run.hyperparameters;
  fmt::print(out, "{}", format_config(config));
  if (mpi) {
    fmt::print(out, "mpi: {} ranks ({} on this machine), --sync {}\n", world.size(),
               world.local_size(), plan.text());
  }
  fmt::print(out, "{}\n", describe(hyper, config.procs));
  if (const int64_t usable = usable_cores(); usable < run.cores && usable < config.procs * run.threads_per_worker) {
    fmt::print(out, "warning: this process may run on {} of the {} cores (CPU affinity: mpirun binds each "
               "rank to a core unless given --bind-to none), which its {} workers x {} threads will share\n",
               usable, run.cores, config.procs, run.threads_per_worker);
  }
  // Fail now, not after an hour of training, when an output file cannot be written.
  if (writer && !config.metrics_out.empty()) OutputFile(config.metrics_out, "--metrics-out");
  if (writer && !config.save_model.empty()) OutputFile(config.save_model, "--save-model");
  WorkerSetup setup;
  setup.fault = fault_plan_from_environment();

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
  if (mpi) check_ranks_agree(world, config, train, test);
  run.train_size = train.size();
  run.test_size = test.size();
  run.load_seconds = seconds_since(started);
  setup.topology = {world.rank(), world.size(), config.procs};
  const StridedPartition partition(train.size(), setup.topology.replicas(), uint64_t(config.seed),
                                   /*shuffle=*/true, config.drop_last);
  setup.steps_per_epoch = (partition.samples_per_rank() + hyper.batch_per_worker - 1) / hyper.batch_per_worker;
  fmt::print(out, "data: {} training images ({} per worker and epoch), {} test images, from {} ({:.1f} s)\n",
             train.size(), partition.samples_per_rank(), test.size(), dir, run.load_seconds);

  torch::manual_seed(uint64_t(config.seed));
  MnistNet model;
  if (!config.resume.empty() && writer) {  // the other ranks get rank 0's parameters below
    load_parameters(*model, config.resume);
    fmt::print(out, "model: resumed from {}\n", config.resume);
  }
  SharedParameters shared(*model);
  // Workers inherit the mapping through fork(), so the name is no longer needed: unlinking
  // now means nothing is left in /dev/shm whatever happens to any process from here on.
  shared.segment().unlink();
  auto* params = static_cast<float*>(shared.segment().data());
  const std::size_t floats = shared.segment().size() / sizeof(float);
  // Every rank starts from rank 0's parameters (fresh or resumed).
  world.broadcast(params, floats * sizeof(float));
  run.parameters = int64_t(shared.parameter_count());
  run.segment_bytes = int64_t(shared.segment().size());
  fmt::print(out, "model: {} parameters in a {}-byte shared segment; {} procs x {} threads{} on {} cores; "
             "{} ({}){}\n", run.parameters, run.segment_bytes, config.procs, run.threads_per_worker,
             config.threads == 0 ? " (auto)" : "", run.cores, run.precision, run.precision_why,
             in_process ? " (--sync grads: the rank trains in its own process)" : "");
  std::fflush(out);

  // The control block: worker step counters and the epoch gate.
  SharedSegment control_segment(sizeof(WorkerControl), "hogwild-control");
  control_segment.unlink();
  auto* control = new (control_segment.data()) WorkerControl();
  control->gated = mpi && plan.mode == SyncPlan::Mode::kEpoch;
  setup.control = control;
  setup.parameters = &shared;
  setup.precision = precision.precision;
  setup.config = &config;
  setup.hyper = hyper;
  setup.threads = run.threads_per_worker;
  setup.reset_momentum_each_epoch = config.reset_momentum && control->gated;

  ProgressLine progress(out, progress_wanted(config.progress, out, mpi) && !in_process, control,
                        int(config.procs), setup.steps_per_epoch, config.epochs, hyper.batch_per_worker);
  EpochBoundaries boundaries(config, model, test, run, out);
  if (!mpi) boundaries.follow_steps(control, setup.steps_per_epoch);  // MPI: other ranks' steps are not here
  std::unique_ptr<NodeSync> sync;
  if (mpi) {
    run.mpi.ranks = world.size();
    run.mpi.sync = plan.text();
    const auto on_epoch = [&](int64_t epoch, const std::vector<NodeEpoch>& nodes) {
      MpiEpochRecord record;
      record.epoch = epoch;
      std::vector<EpochRecord> lines;
      for (std::size_t k = 0; k < nodes.size(); ++k) {
        const NodeEpoch& n = nodes[k];
        lines.push_back({int64_t(k), epoch, Totals{n.samples, n.correct, n.loss_sum}, n.seconds});
        record.wall_seconds = std::max(record.wall_seconds, n.wall_seconds);
        record.mpi_seconds.push_back(n.mpi_seconds);
        record.checksums.push_back(n.checksum);
      }
      run.epochs.insert(run.epochs.end(), lines.begin(), lines.end());
      run.mpi.epochs.push_back(record);
      progress.clear();
      fmt::print(out, "{}\n", format_mpi_epoch_line(epoch, config.epochs, lines, config.procs, record,
                                                   eta_seconds(boundaries.seconds(), double(epoch) / double(config.epochs))));
      if (plan.mode != SyncPlan::Mode::kSteps && !all_equal(record.checksums)) {
        fmt::print(out, "warning: the ranks' parameters differ after the average of epoch {}\n", epoch);
      }
      std::fflush(out);
      return boundaries.all_finished(epoch);
    };
    sync = std::make_unique<NodeSync>(world, plan, params, floats, in_process ? nullptr : control,
                                      in_process ? 1 : int(config.procs), setup.steps_per_epoch,
                                      config.epochs, on_epoch);
    run.mpi.bytes_per_average = int64_t(sync->bytes_per_average());
  }

  const auto save_on_interrupt = [&](const Interrupted& e) {
    if (config.save_model.empty() || !writer) return;
    save_parameters(*model, config.save_model);
    if (e.told()) throw Interrupted(e.signal(), "parameters saved to " + config.save_model);
    throw Interrupted(e.signal(), fmt::format("{}; parameters saved to {}", e.what(), config.save_model));
  };
  try {
    if (in_process) {
      // --sync grads: one process per rank takes every step in lockstep with the others.
      at::set_num_threads(int(run.threads_per_worker));
      const TrainOptions options = train_options(config, hyper);
      StepHooks hooks;
      hooks.before_step = [](int64_t) { StopSignals::throw_if_received("; training stopped"); };
      hooks.before_update = GradientAverage(model, world);
      shared.check_bound(*model, world.who());
      model->set_precision(precision.precision);
      try {
        train_rank(model, train, partition, options, setup.topology.replica(0),
                   [&](int64_t epoch, const Totals& totals, double seconds) {
                     shared.check_bound(*model, world.who());
                     sync->worker_epoch(0, epoch, totals, seconds);
                     if (sync->advance()) throw StopTraining{};
                   },
                   hooks);
      } catch (const StopTraining&) {
      }
      model->set_precision(Precision::kFp32);  // evaluations stay fp32
    } else {
      WorkerGroup workers(int(config.procs), worker_body(setup, model, train, partition),
                          int(config.max_restarts));
      // steps:S: the step counters are watched for the next average (a step takes 10+ ms).
      if (mpi && plan.mode == SyncPlan::Mode::kSteps) workers.set_poll_interval_ms(5);
      workers.join(
          [&](const WorkerReport& report) {
            const Totals totals{report.samples, report.correct, report.loss_sum};
            if (!mpi) progress.clear();  // the epoch line (and what follows it) starts clean
            if (mpi) {
              sync->worker_epoch(report.rank, report.epoch, totals, report.seconds);
            } else if (boundaries.epoch_done({report.rank, report.epoch, totals, report.seconds})) {
              workers.stop_early();
            }
          },
          [&](const RestartNotice& notice) {
            progress.clear();
            const std::string line = fmt::format(
                "{}rank {} failed ({}); restarting it at epoch {} (restart {} of {})\n",
                mpi ? fmt::format("MPI rank {}: worker ", world.rank()) : "", notice.rank,
                notice.how, notice.first_epoch + 1, notice.restarts, notice.max_restarts);
            fmt::print(writer ? out : stderr, "{}", line);
            std::fflush(writer ? out : stderr);
          },
          [&] {
            if (mpi && sync->advance()) workers.stop_early();
            progress.tick();
          });
      progress.clear();
      // Workers that exited before the last tick leave their final events to do here.
      if (mpi) sync->advance();
      run.restarts = workers.restarts();
    }
  } catch (const Interrupted& e) {
    save_on_interrupt(e);
    throw;
  }
  run.train_seconds = boundaries.seconds();
  if (mpi) {
    sync->finish();
    run.mpi.averages = sync->averages();
    run.mpi.final_checksums = sync->final_checksums();
    if (writer && !all_equal(run.mpi.final_checksums)) {
      fmt::print(out, "warning: the ranks' final parameters differ\n");
    }
  }
  if (!writer) return run;  // rank 0 evaluates, reports and saves

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
