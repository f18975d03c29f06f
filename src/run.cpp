#include "hogwild/run.h"

#include <fmt/format.h>
#include <sched.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <new>

#include "hogwild/checkpoint.h"
#include "hogwild/dataset.h"
#include "hogwild/epoch_boundaries.h"
#include "hogwild/error.h"
#include "hogwild/memory.h"
#include "hogwild/model.h"
#include "hogwild/momentum_store.h"
#include "hogwild/mpi_job.h"
#include "hogwild/output_file.h"
#include "hogwild/partition.h"
#include "hogwild/progress.h"
#include "hogwild/recipe.h"
#include "hogwild/shared_parameters.h"
#include "hogwild/stop_signals.h"
#include "hogwild/sync.h"
#include "hogwild/test_faults.h"
#include "hogwild/training_modes.h"
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
  if (::sched_getaffinity(0, sizeof set, &set) != 0)
    return std::max<long>(1, ::sysconf(_SC_NPROCESSORS_ONLN));
  return CPU_COUNT(&set);
}

// The run's record as far as the configuration and the machine decide it: cores and threads,
// the CPU, the precision of the step and the recipe's hyperparameters.
RunRecord describe_run(const Config& config, const MpiWorld& world) {
  RunRecord run;
  run.config = config;
  run.cores = std::max<long>(1, ::sysconf(_SC_NPROCESSORS_ONLN));
  run.threads_per_worker = threads_per_worker(config, run.cores, world.local_size());
  run.cpu = cpu_model_name();
  run.isa = cpu_isa_summary();
  run.amx = cpu_has_amx();
  const PrecisionChoice precision = choose_precision(config.precision);
  run.precision = precision.precision;
  run.precision_why = precision.why;
  run.hyperparameters = choose_hyperparameters(config, world.size());
  return run;
}

// The banner: the configuration, the MPI job, the recipe, and a warning when the CPU
// affinity leaves the workers fewer cores than they expect.
void print_plan(const RunRecord& run, const SyncPlan& plan, const MpiWorld& world, std::FILE* out) {
  const Config& config = run.config;
  fmt::print(out, "{}", format_config(config));
  if (world.active()) {
    fmt::print(out, "mpi: {} ranks ({} on this machine), --sync {}\n", world.size(),
               world.local_size(), plan.text());
  }
  fmt::print(out, "{}\n", describe(run.hyperparameters, config.procs));
  if (const int64_t usable = usable_cores();
      usable < run.cores && usable < config.procs * run.threads_per_worker) {
    fmt::print(
        out,
        "warning: this process may run on {} of the {} cores (CPU affinity: mpirun binds each "
        "rank to a core unless given --bind-to none), which its {} workers x {} threads will "
        "share\n",
        usable, run.cores, config.procs, run.threads_per_worker);
  }
}

// Each output file can be written, and no two are one file (the JSON would replace the model).
void check_output_files(const Config& config) {
  if (config.metrics_out.empty() || config.save_model.empty()) {
    if (!config.metrics_out.empty()) OutputFile(config.metrics_out, "--metrics-out");
    if (!config.save_model.empty()) OutputFile(config.save_model, "--save-model");
    return;
  }
  const OutputFile metrics(config.metrics_out, "--metrics-out");
  const OutputFile model(config.save_model, "--save-model");
  if (same_file(metrics, model)) {
    throw InputError(
        fmt::format("--metrics-out {} and --save-model {} are the same file: the metrics "
                    "would replace the model; give two files",
                    config.metrics_out, config.save_model));
  }
}

// "training data = 60000 images, checksum ...": what every MPI rank must agree on.
std::string data_fingerprint(const char* name, const Dataset& data) {
  const uint64_t sum =
      checksum(data.images.data_ptr<float>(), std::size_t(data.images.numel()) * sizeof(float)) ^
      checksum(data.labels.data_ptr<int64_t>(), std::size_t(data.labels.numel()) * sizeof(int64_t));
  return fmt::format("{} = {} images, checksum {:016x}", name, data.size(), sum);
}

struct Data {
  Dataset train;
  Dataset test;
  std::string dir;
};

// Both data sets, stopping between them at a signal; under mpirun, every rank must then have
// the same configuration and data (mpi_job.h).
Data load_data(const Config& config, MpiWorld& world) {
  const char* const kBeforeTraining = " while loading data; nothing to clean up";
  Data data;
  data.dir = resolved_data_dir(config);
  data.train = load_dataset(data.dir, "train", config.train_limit);
  stop_here_if_asked_while_loading();  // test-only (test_faults.h)
  StopSignals::throw_if_received(kBeforeTraining);
  data.test = load_dataset(data.dir, "t10k", config.test_limit);
  StopSignals::throw_if_received(kBeforeTraining);
  if (world.active()) {
    check_ranks_agree(world, job_fingerprint(config, {data_fingerprint("training data", data.train),
                                                      data_fingerprint("test data", data.test)}));
  }
  return data;
}

// What every forked worker (or, --sync grads, the rank itself) trains with.
WorkerSetup worker_setup(const Config& config, const RunRecord& run, const MpiWorld& world,
                         const StridedPartition& partition, const SyncPlan& plan) {
  WorkerSetup setup;
  setup.config = &config;
  setup.hyper = run.hyperparameters;
  setup.threads = run.threads_per_worker;
  setup.topology = {world.rank(), world.size(), config.procs};
  setup.steps_per_epoch = (partition.samples_per_replica() + setup.hyper.batch_per_worker - 1) /
                          setup.hyper.batch_per_worker;
  setup.precision = run.precision;  // as the banner and the JSON say
  setup.reset_momentum_each_epoch =
      config.reset_momentum && world.active() && plan.mode == SyncPlan::Mode::kEpoch;
  setup.fault = fault_plan_from_environment();
  return setup;
}

// Rank 0, --resume: the run the checkpoint holds, its parameters loaded into `model`, checked
// against this run's training data and network.
RunState read_checkpoint(const Config& config, const std::string& training_data, MnistNet& model,
                         std::FILE* out) {
  load_parameters(*model, config.resume);
  RunState state = read_run_state(config.resume);
  if (state.training_data != training_data) {
    throw InputError(
        fmt::format("--resume {}: its run trained on other data ({}; here: {}); --init-from {} "
                    "starts a new run from its parameters",
                    config.resume, state.training_data, training_data, config.resume));
  }
  std::size_t floats = 0;
  for (const auto& p : model->parameters()) floats += std::size_t(p.numel());
  for (const auto& buffer : state.momentum) {
    if (buffer.size() != floats) {
      throw InputError(fmt::format(
          "--resume {}: a momentum buffer holds {} values, the network has {} parameters",
          config.resume, buffer.size(), floats));
    }
  }
  fmt::print(
      out, "model: resumed from {} after epoch {} of {}{}; momentum {}\n", config.resume,
      state.epochs_done, config.epochs,
      state.partial ? " and part of the next (saved on a stop signal: that epoch is trained again)"
                    : "",
      state.momentum.empty() ? "buffers start at zero (the file has none)" : "buffers restored");
  return state;
}

// Every rank: its own workers' momentum buffers out of rank 0's `state` (rank r's are
// r * procs .. r * procs + procs - 1); none when the checkpoint has none.
std::vector<std::vector<float>> share_momentum(MpiWorld& world, const RunState& state,
                                               int64_t procs, std::size_t floats,
                                               const std::string& file) {
  int32_t buffers = int32_t(state.momentum.size());
  world.broadcast(&buffers, sizeof buffers);
  if (buffers == 0) return {};
  if (buffers != world.size() * procs) {
    throw InputError(fmt::format("--resume {}: holds {} workers' momentum, this job has {}", file,
                                 buffers, world.size() * procs));
  }
  std::vector<std::vector<float>> mine;
  for (int r = 0; r < world.size(); ++r) {
    for (int64_t w = 0; w < procs; ++w) {
      std::vector<float> buffer = world.rank() == 0 ? state.momentum[std::size_t(r * procs + w)]
                                                    : std::vector<float>(floats);
      world.broadcast(buffer.data(), buffer.size() * sizeof(float));
      if (r == world.rank()) mine.push_back(std::move(buffer));
    }
  }
  return mine;
}

// The model every rank starts from: rank 0's, fresh from the seed, from a file's parameters
// (--init-from) or where a checkpoint left the run (--resume), moved into a shared segment
// whose name is gone before any worker exists (fork() keeps the mapping), so nothing is left
// in /dev/shm whatever happens to any process. Returns this rank's workers' momentum buffers
// from the checkpoint (none: zeros).
std::vector<std::vector<float>> place_model(const Config& config, MpiWorld& world,
                                            const std::string& training_data, MnistNet& model,
                                            std::unique_ptr<SharedParameters>& shared,
                                            RunRecord& run, std::FILE* out) {
  RunState state;  // the other ranks get rank 0's parameters and state below
  if (world.rank() == 0 && !config.init_from.empty()) {
    load_parameters(*model, config.init_from);
    fmt::print(out, "model: a new run from the parameters in {}\n", config.init_from);
  }
  if (world.rank() == 0 && !config.resume.empty())
    state = read_checkpoint(config, training_data, model, out);
  shared = std::make_unique<SharedParameters>(*model);
  shared->segment().unlink();
  world.broadcast(shared->segment().data(), shared->segment().size());
  world.broadcast(&state.epochs_done, sizeof state.epochs_done);
  if (!config.resume.empty()) {
    run.resumed_from = config.resume;
    run.resumed_after = state.epochs_done;
  }
  return share_momentum(world, state, config.procs, shared->parameter_count(), config.resume);
}

// The control block (worker step counters, the epoch gate) in a segment of its own.
class ControlBlock {
 public:
  ControlBlock(bool gated, const Config& config, int64_t first_epoch)
      : segment_(sizeof(WorkerControl), "hogwild-control") {
    segment_.unlink();
    control_ = new (segment_.data()) WorkerControl();
    control_->gated = gated;
    control_->checkpoint_every = config.checkpoint_every;  // validate() wants --save-model with it
    control_->epochs = config.epochs;
    control_->released_epoch.store(first_epoch);
  }
  WorkerControl* get() const { return control_; }

 private:
  SharedSegment segment_;
  WorkerControl* control_;
};

// Rank 0, after training: the final evaluation (saving what training made if a signal comes
// meanwhile), the summary, the model and the metrics.
void report_results(RunRecord& run, EpochBoundaries& boundaries, MnistNet& model, std::FILE* out,
                    Clock::time_point started) {
  const Config& config = run.config;
  const auto eval_started = Clock::now();
  boundaries.final_evaluation();
  run.eval_seconds = seconds_since(eval_started);
  if (StopSignals::received() != 0) {  // during evaluation: keep what training produced
    if (config.save_model.empty()) StopSignals::throw_if_received(" during evaluation");
    save_checkpoint(*model, config.save_model, boundaries.state(/*partial=*/false));
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
}

// The data line of the banner.
void print_data(std::FILE* out, const Data& data, const StridedPartition& partition,
                const RunRecord& run) {
  fmt::print(
      out,
      "data: {} training images ({} per worker and epoch), {} test images, from {} ({:.1f} s)\n",
      data.train.size(), partition.samples_per_replica(), data.test.size(), data.dir,
      run.load_seconds);
}

// The model line of the banner: the segment, the workers and the arithmetic.
void print_model(std::FILE* out, const Config& config, const RunRecord& run, bool lockstep) {
  fmt::print(
      out,
      "model: {} parameters in a {}-byte shared segment; {} procs x {} threads{} on {} cores; "
      "{} ({}){}\n",
      run.parameters, run.segment_bytes, config.procs, run.threads_per_worker,
      config.threads == 0 ? " (auto)" : "", run.cores, precision_name(run.precision),
      run.precision_why, lockstep ? " (--sync grads: the rank trains in its own process)" : "");
  std::fflush(out);
}

// What every checkpoint of this run records besides the parameters and the momentum.
RunState checkpoint_base(const Config& config, const MpiWorld& world,
                         const std::string& training_data) {
  RunState base;
  base.ranks = world.size();
  base.training_config = training_config_toml(config);
  base.training_data = training_data;
  return base;
}

// One machine; MPI ranks with forked workers; --sync grads, one process per rank.
void train_in_its_mode(PreparedRun& run, bool lockstep) {
  if (!run.world.active()) return train_on_one_machine(run);
  if (lockstep) return train_in_lockstep(run);
  train_as_mpi_node(run);
}

// A stop signal during training: rank 0 saves the parameters (and the run's state: the epochs
// closed, the next one partly trained) when asked to, and says so.
[[noreturn]] void rethrow_interrupted(const Interrupted& e, const Config& config, MnistNet& model,
                                      const EpochBoundaries& boundaries, bool writer) {
  if (config.save_model.empty() || !writer) throw e;
  save_checkpoint(*model, config.save_model, boundaries.state(/*partial=*/true));
  if (e.told()) throw Interrupted(e.signal(), "parameters saved to " + config.save_model);
  throw Interrupted(e.signal(),
                    fmt::format("{}; parameters saved to {}", e.what(), config.save_model));
}

}  // namespace

RunRecord run_hogwild(const Config& config, std::FILE* out, MpiWorld& world) {
  const auto started = Clock::now();
  // Fork safety: a child forked after the parent ran an OpenMP region with several threads
  // can hang. The parent uses one thread; each worker sets its own count after fork().
  at::set_num_threads(1);
  keep_large_allocations_in_heap();
  const bool writer = world.rank() == 0;  // prints and writes files
  const SyncPlan& plan = config.sync;
  const bool lockstep = world.active() && plan.mode == SyncPlan::Mode::kGrads;

  RunRecord run = describe_run(config, world);
  print_plan(run, plan, world, out);
  if (writer) check_output_files(config);  // now, not after an hour of training
  const StopSignals stop_signals;          // Ctrl-C from here: finish the step at hand, then stop
  world.set_wait_limit(config.sync_timeout);
  const Data data = load_data(config, world);
  run.train_size = data.train.size();
  run.test_size = data.test.size();
  run.load_seconds = seconds_since(started);
  const StridedPartition partition(data.train.size(), config.procs * world.size(),
                                   uint64_t(config.seed),
                                   /*shuffle=*/true, config.drop_last);
  WorkerSetup setup = worker_setup(config, run, world, partition, plan);
  print_data(out, data, partition, run);

  torch::manual_seed(uint64_t(config.seed));
  MnistNet model;
  std::unique_ptr<SharedParameters> shared;
  const std::string training_data = data_fingerprint("training data", data.train);
  const auto saved_momentum = place_model(config, world, training_data, model, shared, run, out);
  const ControlBlock control(world.active() && plan.mode == SyncPlan::Mode::kEpoch, config,
                             run.resumed_after);
  MomentumStore momentum(shared->layout(), shared->segment().size(), int(config.procs));
  for (std::size_t w = 0; w < saved_momentum.size(); ++w) momentum.write(int(w), saved_momentum[w]);
  setup.control = control.get();
  setup.parameters = shared.get();
  setup.momentum = &momentum;
  run.parameters = int64_t(shared->parameter_count());
  run.segment_bytes = int64_t(shared->segment().size());
  print_model(out, config, run, lockstep);

  ProgressLine progress(out, progress_wanted(config.progress, out, world.active()) && !lockstep,
                        control.get(), int(config.procs), setup.steps_per_epoch, config.epochs,
                        setup.hyper.batch_per_worker, run.resumed_after);
  EpochBoundaries boundaries(config, model, data.test, run, out);
  // Each mode tells the checkpoints where the momentum is.
  boundaries.describe_checkpoints(checkpoint_base(config, world, training_data));
  PreparedRun prepared{config,   plan,       out,       world, run,      model,     *shared,
                       momentum, data.train, partition, setup, progress, boundaries};
  try {
    train_in_its_mode(prepared, lockstep);
  } catch (const Interrupted& e) {
    rethrow_interrupted(e, config, model, boundaries, writer);
  }
  run.train_seconds = boundaries.seconds();
  if (writer) report_results(run, boundaries, model, out, started);  // rank 0 alone
  return run;
}

}  // namespace hogwild
