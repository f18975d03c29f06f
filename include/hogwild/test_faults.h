// Test-only faults: what a test asks of a run through environment variables that no normal
// run sets. Production code meets them at two points, each one call: a worker before each
// optimizer step (HOGWILD_TEST_FAULT) and the parent between loading the two data sets
// (HOGWILD_TEST_STOP_WHILE_LOADING). Unset, each costs a branch.
#pragma once

#include <cstdint>
#include <string>

namespace torch::nn {
class Module;
}

namespace hogwild {

// HOGWILD_TEST_FAULT="WORKER:STEP:KIND" makes worker RANK's first incarnation fail before its
// STEP-th optimizer step (0-based), by KIND: kill (SIGKILL), abort, throw or exit (code 3);
// stop (SIGSTOP, so that a test can find it and signal it mid-run; SIGCONT lets it go on);
// throw_always fails every incarnation the same way (a deterministic failure); private_copy
// moves one of its parameters out of the shared segment (the mistake
// SharedParameters::check_bound exists for).
struct FaultPlan {
  int64_t worker = -1;  // -1: none
  int64_t step = 0;
  std::string kind;
};
// Throws InputError for a malformed variable.
FaultPlan fault_plan_from_environment();

// Worker `worker` (its `incarnation`-th process) is about to make step `step`: the planned fault,
// if this is where it is due. `model` is the worker's.
void inject_planned_fault(const FaultPlan& plan, int worker, int incarnation, int64_t step,
                          torch::nn::Module& model);

// HOGWILD_TEST_STOP_WHILE_LOADING=1: the process stops itself with SIGSTOP here, so that a
// test can send it a signal at a known point.
void stop_here_if_asked_while_loading();

}  // namespace hogwild
