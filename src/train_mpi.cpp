// Under mpirun: a node of forked Hogwild workers whose parameters the ranks average
// (--sync epoch, steps:S), or a rank that trains in lockstep on averaged gradients (grads).
#include <fmt/format.h>
#include <torch/torch.h>

#include <memory>

#include "hogwild/gradient_average.h"
#include "hogwild/node_sync.h"
#include "hogwild/supervisor.h"
#include "hogwild/trainer.h"
#include "hogwild/training_modes.h"

namespace hogwild {
namespace {

// Every worker's momentum buffers of the whole job, gathered to rank 0 at the end of the
// epochs that rank 0 saves (checkpoints, the last), while the workers wait at the gate.
class JobMomentum {
 public:
  explicit JobMomentum(PreparedRun& run) : run_(run), gathered_(std::make_shared<Gathered>()) {
    // Rank 0 saves the last checkpoint after training, when this object is gone: the source
    // shares what was gathered.
    run.boundaries.take_momentum_from(
        [gathered = gathered_, &boundaries = run.boundaries](bool partial) {
          // A stop signal comes within an epoch, when the other ranks can no longer be asked.
          if (partial || gathered->epoch != boundaries.epochs_closed())
            return std::vector<std::vector<float>>{};
          return gathered->buffers;
        });
  }
  // Every rank, at the end of `epoch`.
  void gather(int64_t epoch) {
    if (run_.config.save_model.empty() ||
        !(run_.boundaries.checkpoint_due(epoch) || epoch == run_.config.epochs))
      return;
    std::vector<float> mine;
    for (int w = 0; w < run_.momentum.workers(); ++w) {
      const std::vector<float> buffer = run_.momentum.read(w);
      mine.insert(mine.end(), buffer.begin(), buffer.end());
    }
    const std::vector<char> all = run_.world.gather(mine.data(), mine.size() * sizeof(float));
    if (run_.world.rank() != 0) return;
    const std::size_t floats = run_.momentum.floats_per_worker();
    const auto* from = reinterpret_cast<const float*>(all.data());
    gathered_->buffers.clear();
    for (std::size_t k = 0; k < all.size() / sizeof(float) / floats; ++k) {
      gathered_->buffers.emplace_back(from + k * floats, from + (k + 1) * floats);
    }
    gathered_->epoch = epoch;
  }

 private:
  struct Gathered {
    int64_t epoch = -1;
    std::vector<std::vector<float>> buffers;  // rank 0: by worker of the job
  };
  PreparedRun& run_;
  std::shared_ptr<Gathered> gathered_;
};

// This rank's part in combining the job's models; rank 0 records and closes each epoch once
// every rank has finished it.
std::unique_ptr<NodeSync> node_sync(PreparedRun& run, WorkerControl* control, int local_workers,
                                    JobMomentum& momentum) {
  run.record.mpi.ranks = run.world.size();
  run.record.mpi.sync = run.plan.text();
  auto sync = std::make_unique<NodeSync>(
      run.world, run.plan, static_cast<float*>(run.shared.segment().data()),
      run.shared.segment().size() / sizeof(float), control, local_workers,
      run.setup.steps_per_epoch, run.config.epochs,
      [&run](int64_t epoch, const std::vector<NodeEpoch>& ranks) {
        run.progress.clear();
        // steps:S averages while the workers run: the ranks agree only after the final average.
        run.boundaries.record_rank_epochs(epoch, ranks, run.plan.mode != SyncPlan::Mode::kSteps);
        run.boundaries.close_epoch(epoch);
        return run.boundaries.target_reached();
      },
      run.record.resumed_after, [&momentum](int64_t epoch) { momentum.gather(epoch); });
  run.record.mpi.bytes_per_average = int64_t(sync->bytes_per_average());
  return sync;
}

// After training: steps:S's final exact average; every rank's checksum of the final model.
void finish(PreparedRun& run, NodeSync& sync) {
  sync.finish();
  run.record.mpi.averages = sync.averages();
  run.record.mpi.final_checksums = sync.final_checksums();
  if (run.world.rank() == 0 && !all_equal(run.record.mpi.final_checksums)) {
    fmt::print(run.out, "warning: the ranks' final parameters differ\n");
  }
}

// Rank 0 reached the target in --sync grads, where the rank itself trains.
struct TargetReached {};

}  // namespace

void train_as_mpi_node(PreparedRun& run) {
  JobMomentum momentum(run);
  const std::unique_ptr<NodeSync> sync =
      node_sync(run, run.setup.control, int(run.config.procs), momentum);
  {
    WorkerGroup workers(int(run.config.procs),
                        worker_body(run.setup, run.model, run.train, run.partition),
                        int(run.config.max_restarts), int(run.record.resumed_after));
    // steps:S: the step counters are watched for the next average (a step takes 10+ ms).
    if (run.plan.mode == SyncPlan::Mode::kSteps) workers.set_poll_interval_ms(5);
    const WorkerControl* control = run.setup.control;
    const NodeSync* node = sync.get();
    workers.watch_progress(
        [control, node](int worker) {
          return control->progress(worker, node->epochs_reported(worker));
        },
        run.config.stall_timeout);
    workers.join(
        [&](const WorkerReport& report) {
          sync->worker_epoch(report.worker, report.epoch,
                             Totals{report.samples, report.correct, report.loss_sum},
                             report.seconds, report.lr);
        },
        [&](const RestartNotice& notice) { announce_restart(run, notice); },
        [&] {
          if (sync->advance()) workers.stop_early();
          run.progress.tick();
        });
    run.progress.clear();
    // Workers that exited before the last tick leave their final events to do here.
    sync->advance();
    run.record.restarts = workers.restarts();
  }
  finish(run, *sync);
}

void train_in_lockstep(PreparedRun& run) {
  JobMomentum momentum(run);
  const std::unique_ptr<NodeSync> sync = node_sync(run, nullptr, 1, momentum);
  at::set_num_threads(int(run.setup.threads));
  StepHooks hooks;
  hooks.before_step = [](int64_t) { StopSignals::throw_if_received("; training stopped"); };
  hooks.before_update = GradientAverage(run.model->parameters(), run.world);
  run.shared.check_bound(*run.model, run.world.who());
  run.model->set_precision(run.setup.precision);
  TrainOptions options = train_options(run.config, run.setup.hyper);
  options.first_epoch = run.record.resumed_after;
  options.momentum_buffers = momentum_buffers(run.momentum, 0, run.model);
  try {
    train_replica(
        run.model, run.train, run.partition, options, run.setup.topology.replica(0),
        [&](int64_t epoch, const Totals& totals, double seconds) {
          run.shared.check_bound(*run.model, run.world.who());
          sync->worker_epoch(0, epoch, totals, seconds,
                             options.lr_by_epoch[std::size_t(epoch - 1)]);
          if (sync->advance()) throw TargetReached{};
        },
        hooks);
  } catch (const TargetReached&) {
  }
  run.model->set_precision(Precision::kFp32);  // evaluations stay fp32
  finish(run, *sync);
}

}  // namespace hogwild
