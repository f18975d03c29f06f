// What a forked worker runs: its thread count, the recipe's batch and step size, its share
// of the data (replica node * procs + worker of the partition over all workers of the job), its
// epochs reported to the parent, its step count and the epoch gate in the control block.
#pragma once

#include <cstdint>
#include <string>

#include "hogwild/config.h"
#include "hogwild/dataset.h"
#include "hogwild/model.h"
#include "hogwild/momentum_store.h"
#include "hogwild/partition.h"
#include "hogwild/recipe.h"
#include "hogwild/shared_parameters.h"
#include "hogwild/supervisor.h"
#include "hogwild/test_faults.h"
#include "hogwild/trainer.h"
#include "hogwild/worker_control.h"

namespace hogwild {

// Where a worker sits in the job: MPI rank (node) of nodes, and its worker index of procs.
struct Topology {
  int64_t node = 0;
  int64_t nodes = 1;
  int64_t procs = 1;
  int64_t replica(int64_t worker) const { return node * procs + worker; }
  int64_t replicas() const { return nodes * procs; }
};

struct WorkerSetup {
  const Config* config = nullptr;
  Hyperparameters hyper;
  int64_t threads = 1;
  Topology topology;
  int64_t steps_per_epoch = 0;
  WorkerControl* control = nullptr;              // in shared memory
  const SharedParameters* parameters = nullptr;  // checked before training and after every epoch
  MomentumStore* momentum = nullptr;       // each worker's buffers, in its slot; null: private ones
  Precision precision = Precision::kFp32;  // of the step; the parent's evaluations stay fp32
  bool reset_momentum_each_epoch = false;  // --reset-momentum under mpirun --sync epoch
  FaultPlan fault;                         // test-only (test_faults.h)
};

// What one worker trains with: the recipe's batch, step size per epoch, momentum, seed.
TrainOptions train_options(const Config& config, const Hyperparameters& hyper);

WorkerBody worker_body(const WorkerSetup& setup, MnistNet model, const Dataset& train,
                       const StridedPartition& partition);

// Worker `worker`'s momentum buffers in `store`, as tensors shaped as `model`'s parameters.
std::vector<torch::Tensor> momentum_buffers(MomentumStore& store, int worker, MnistNet& model);

}  // namespace hogwild
