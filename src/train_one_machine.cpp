// One machine: forked Hogwild workers, the parent recording and closing their epochs.
#include <fmt/format.h>

#include "hogwild/supervisor.h"
#include "hogwild/training_modes.h"

namespace hogwild {

void announce_restart(const PreparedRun& run, const RestartNotice& notice) {
  run.progress.clear();
  const std::string where =
      run.world.active() ? fmt::format("MPI rank {}: ", run.world.rank()) : "";
  // Rank 0 prints; another rank's replacement is news its own stderr tells.
  std::FILE* to = run.world.rank() == 0 ? run.out : stderr;
  fmt::print(to, "{}worker {} failed ({}); restarting it at epoch {} (restart {} of {})\n", where,
             notice.worker, notice.how, notice.first_epoch + 1, notice.restarts,
             notice.max_restarts);
  std::fflush(to);
}

void train_on_one_machine(PreparedRun& run) {
  run.boundaries.follow_steps(run.setup.control, run.setup.steps_per_epoch);
  // The workers' buffers are in this process's mapping: a checkpoint reads them as they are.
  run.boundaries.take_momentum_from([&run](bool) {
    std::vector<std::vector<float>> buffers;
    for (int w = 0; w < run.momentum.workers(); ++w) buffers.push_back(run.momentum.read(w));
    return buffers;
  });
  WorkerGroup workers(int(run.config.procs),
                      worker_body(run.setup, run.model, run.train, run.partition),
                      int(run.config.max_restarts), int(run.record.resumed_after));
  WorkerControl* control = run.setup.control;
  const EpochBoundaries& boundaries = run.boundaries;
  workers.watch_progress(
      [control, &boundaries](int worker) {
        return control->progress(worker, boundaries.epochs_reported(worker));
      },
      run.config.stall_timeout);
  workers.join(
      [&](const WorkerReport& report) {
        run.progress.clear();  // the epoch line (and what follows it) starts clean
        const Totals totals{report.samples, report.correct, report.loss_sum};
        const int64_t finished = run.boundaries.record_worker_epoch(
            {report.worker, report.epoch, totals, report.seconds, report.lr});
        if (finished == 0) return;
        run.boundaries.close_epoch(finished);
        control->released_epoch.store(finished, std::memory_order_release);  // the gate opens
        if (run.boundaries.target_reached()) workers.stop_early();
      },
      [&](const RestartNotice& notice) { announce_restart(run, notice); },
      [&] { run.progress.tick(); });
  run.progress.clear();
  run.record.restarts = workers.restarts();
}

}  // namespace hogwild
