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

// This rank's part in combining the job's models; rank 0 records and closes each epoch once
// every rank has finished it.
std::unique_ptr<NodeSync> node_sync(PreparedRun& run, WorkerControl* control, int local_workers) {
  run.record.mpi.ranks = run.world.size();
  run.record.mpi.sync = run.plan.text();
  auto sync = std::make_unique<NodeSync>(
      run.world, run.plan, static_cast<float*>(run.shared.segment().data()),
      run.shared.segment().size() / sizeof(float), control, local_workers, run.setup.steps_per_epoch,
      run.config.epochs, [&run](int64_t epoch, const std::vector<NodeEpoch>& ranks) {
        run.progress.clear();
        // steps:S averages while the workers run: the ranks agree only after the final average.
        run.boundaries.record_rank_epochs(epoch, ranks, run.plan.mode != SyncPlan::Mode::kSteps);
        run.boundaries.close_epoch(epoch);
        return run.boundaries.target_reached();
      });
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
  const std::unique_ptr<NodeSync> sync = node_sync(run, run.setup.control, int(run.config.procs));
  {
    WorkerGroup workers(int(run.config.procs), worker_body(run.setup, run.model, run.train, run.partition),
                        int(run.config.max_restarts));
    // steps:S: the step counters are watched for the next average (a step takes 10+ ms).
    if (run.plan.mode == SyncPlan::Mode::kSteps) workers.set_poll_interval_ms(5);
    const WorkerControl* control = run.setup.control;
    const NodeSync* node = sync.get();
    workers.watch_progress(
        [control, node](int rank) -> std::optional<int64_t> {
          // --sync epoch: a worker that has finished an epoch waits at the gate for the average.
          if (control->gated && node->epochs_reported(rank) > control->released_epoch.load(std::memory_order_acquire)) {
            return std::nullopt;
          }
          return control->steps[rank].value.load(std::memory_order_relaxed);
        },
        run.config.stall_timeout);
    workers.join(
        [&](const WorkerReport& report) {
          sync->worker_epoch(report.rank, report.epoch, Totals{report.samples, report.correct, report.loss_sum},
                             report.seconds);
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
  const std::unique_ptr<NodeSync> sync = node_sync(run, nullptr, 1);
  at::set_num_threads(int(run.setup.threads));
  StepHooks hooks;
  hooks.before_step = [](int64_t) { StopSignals::throw_if_received("; training stopped"); };
  hooks.before_update = GradientAverage(run.model->parameters(), run.world);
  run.shared.check_bound(*run.model, run.world.who());
  run.model->set_precision(run.setup.precision);
  try {
    train_rank(run.model, run.train, run.partition, train_options(run.config, run.setup.hyper),
               run.setup.topology.replica(0),
               [&](int64_t epoch, const Totals& totals, double seconds) {
                 run.shared.check_bound(*run.model, run.world.who());
                 sync->worker_epoch(0, epoch, totals, seconds);
                 if (sync->advance()) throw TargetReached{};
               },
               hooks);
  } catch (const TargetReached&) {
  }
  run.model->set_precision(Precision::kFp32);  // evaluations stay fp32
  finish(run, *sync);
}

}  // namespace hogwild
