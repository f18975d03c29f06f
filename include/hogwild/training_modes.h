// The three ways a run trains, each given the same prepared run (run.cpp has loaded the
// data, placed the model's parameters in the shared segment, and under mpirun given every
// rank rank 0's). Each returns once training is over (every epoch trained, or the target
// reached) and throws on a failure or a stop signal.
#pragma once

#include <cstdio>

#include "hogwild/config.h"
#include "hogwild/dataset.h"
#include "hogwild/epoch_boundaries.h"
#include "hogwild/model.h"
#include "hogwild/momentum_store.h"
#include "hogwild/mpi_world.h"
#include "hogwild/partition.h"
#include "hogwild/progress.h"
#include "hogwild/report.h"
#include "hogwild/shared_parameters.h"
#include "hogwild/supervisor.h"
#include "hogwild/sync.h"
#include "hogwild/worker.h"

namespace hogwild {

struct PreparedRun {
  const Config& config;
  SyncPlan plan;  // under mpirun
  std::FILE* out;
  MpiWorld& world;
  RunRecord& record;
  MnistNet model;  // its parameters lie in `shared`
  SharedParameters& shared;
  MomentumStore& momentum;  // every local worker's buffers (a checkpoint's after --resume)
  const Dataset& train;
  const StridedPartition& partition;
  const WorkerSetup& setup;  // what every forked worker gets (the control block included)
  ProgressLine& progress;
  EpochBoundaries& boundaries;  // records epochs, evaluates, checkpoints
};

// One machine: --procs forked Hogwild workers; the parent records their epochs and closes
// each one (evaluation, checkpoint), and stops them at the target.
void train_on_one_machine(PreparedRun& run);

// Under mpirun with --sync epoch or steps:S: this rank's forked workers train as on one
// machine while the parent averages the node's parameters with the other ranks (node_sync.h).
void train_as_mpi_node(PreparedRun& run);

// Under mpirun with --sync grads: the rank trains in its own process, every step in lockstep
// with the other ranks on the mean of their gradients (gradient_average.h).
void train_in_lockstep(PreparedRun& run);

// A worker failed and was replaced: one line (rank 0's output; another rank's stderr).
void announce_restart(const PreparedRun& run, const RestartNotice& notice);

}  // namespace hogwild
