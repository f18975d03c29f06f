#include "hogwild/test_faults.h"

#include <fmt/format.h>
#include <torch/torch.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "hogwild/error.h"

namespace hogwild {

FaultPlan fault_plan_from_environment() {
  FaultPlan plan;
  const char* text = std::getenv("HOGWILD_TEST_FAULT");
  if (text == nullptr || *text == '\0') return plan;
  char kind[16] = {};
  long long worker = -1, step = -1;
  if (std::sscanf(text, "%lld:%lld:%15s", &worker, &step, kind) != 3 || worker < 0 || step < 0) {
    throw InputError(fmt::format("HOGWILD_TEST_FAULT='{}': expected WORKER:STEP:KIND", text));
  }
  plan = {worker, step, kind};
  if (plan.kind != "kill" && plan.kind != "abort" && plan.kind != "throw" && plan.kind != "exit" &&
      plan.kind != "throw_always" && plan.kind != "private_copy" && plan.kind != "stop") {
    throw InputError(
        fmt::format("HOGWILD_TEST_FAULT='{}': KIND is kill, abort, throw, throw_always, "
                    "private_copy, stop or exit",
                    text));
  }
  return plan;
}

void inject_planned_fault(const FaultPlan& plan, int worker, int incarnation, int64_t step,
                          torch::nn::Module& model) {
  if (plan.worker != worker || step != plan.step) return;
  if (incarnation > 0 && plan.kind != "throw_always") return;  // a replacement recovers
  if (plan.kind == "private_copy") {
    torch::NoGradGuard no_grad;
    auto p = model.parameters().front();
    p.set_data(p.clone());
    return;
  }
  if (plan.kind == "stop") {  // a test signals it at a known point, then lets it go on
    std::raise(SIGSTOP);
    return;
  }
  if (plan.kind == "kill") std::raise(SIGKILL);
  if (plan.kind == "abort") std::abort();
  if (plan.kind == "exit") ::_exit(3);
  throw std::runtime_error(
      "injected fault (HOGWILD_TEST_FAULT)\n  frame #0: a second line that must not reach the "
      "user");
}

void stop_here_if_asked_while_loading() {
  if (const char* stop = std::getenv("HOGWILD_TEST_STOP_WHILE_LOADING"); stop && *stop == '1')
    std::raise(SIGSTOP);
}

}  // namespace hogwild
