// hogwild_step: the training step alone, for measuring it. One process trains the real step
// (trainer.h's train_epoch, with the real dropout and SGD) on MNIST for a number of steps and
// prints samples/s (the median of 5 timed parts); --profile adds where the time goes, per
// phase of the step and per operator (RecordFunction callbacks of our own). No shared memory,
// no workers: the step's speed, not Hogwild's.
#include <ATen/record_function.h>
#include <fmt/format.h>
#include <torch/torch.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>

#include "hogwild/config.h"
#include "hogwild/dataset.h"
#include "hogwild/dropout.h"
#include "hogwild/error.h"
#include "hogwild/memory.h"
#include "hogwild/model.h"
#include "hogwild/precision.h"
#include "hogwild/tool_flags.h"
#include "hogwild/trainer.h"

namespace {

// A light profiler: RecordFunction callbacks that take a clock reading at each operator's
// start and end. LibTorch's own profilers record much more per operator and, here, made
// the step 1.5x (Kineto) to 2.7x (legacy) slower, most of it in fill_ and
// threshold_backward: they measured themselves. Single-threaded steps only (--threads 1).
struct Profile {
  double total_us = 0;                  // every top-level range
  std::map<std::string, double> phase;  // inclusive time of the top-level ranges
  std::map<std::string, double> self;   // self time per operator
  double convolution_us = 0;            // inclusive time of the outermost convolution ops
};

// conv_pool_relu (the first block, conv_pool_relu.h) counts whole: its pool and ReLU are
// a few compares per convolution output, and cannot be timed apart.
bool is_convolution(const std::string& name) {
  return name.find("onvolution") != std::string::npos || name.find("conv2d") != std::string::npos ||
         name.find("conv_pool_relu") != std::string::npos;
}

struct OpenRange : at::ObserverContext {
  std::chrono::steady_clock::time_point started;
  double child_us = 0;
  bool inside_convolution = false;
};

Profile g_profile;
std::vector<OpenRange*> g_open;  // the ranges entered and not yet left, innermost last

std::unique_ptr<at::ObserverContext> on_enter(const at::RecordFunction& fn) {
  auto range = std::make_unique<OpenRange>();
  range->inside_convolution = !g_open.empty() && g_open.back()->inside_convolution;
  if (is_convolution(fn.name())) range->inside_convolution = true;
  g_open.push_back(range.get());
  range->started = std::chrono::steady_clock::now();
  return range;
}

void on_leave(const at::RecordFunction& fn, at::ObserverContext* context) {
  const auto now = std::chrono::steady_clock::now();
  auto* range = static_cast<OpenRange*>(context);
  if (g_open.empty() || g_open.back() != range) return;  // not ours to pair
  g_open.pop_back();
  const double us = std::chrono::duration<double, std::micro>(now - range->started).count();
  const std::string name = fn.name();
  g_profile.self[name] += us - range->child_us;
  const bool outermost_convolution =
      is_convolution(name) && (g_open.empty() || !g_open.back()->inside_convolution);
  if (outermost_convolution) g_profile.convolution_us += us;
  if (g_open.empty()) {
    g_profile.phase[name] += us;
    g_profile.total_us += us;
  } else {
    g_open.back()->child_us += us;
  }
}

void print_profile(const Profile& p, int64_t samples) {
  const auto share = [&](double us) { return 100.0 * us / p.total_us; };
  fmt::print("\nphase of the step (inclusive)      share   us/sample\n");
  std::vector<std::pair<double, std::string>> phases;
  for (const auto& [name, us] : p.phase) phases.emplace_back(us, name);
  std::sort(phases.rbegin(), phases.rend());
  for (const auto& [us, name] : phases) {
    fmt::print("  {:<32} {:5.1f} %  {:8.2f}\n", name, share(us), us / double(samples));
  }
  fmt::print("\noperator (self time)               share   us/sample\n");
  std::vector<std::pair<double, std::string>> ops;
  for (const auto& [name, us] : p.self) ops.emplace_back(us, name);
  std::sort(ops.rbegin(), ops.rend());
  // The 14 largest, and every operator of ours below them (the SGD update, say), so that
  // where our own code's time goes never hides in "the rest".
  double shown = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (i >= 14 && ops[i].second.rfind("hogwild::", 0) != 0) continue;
    fmt::print("  {:<32} {:5.1f} %  {:8.2f}\n", ops[i].second, share(ops[i].first),
               ops[i].first / double(samples));
    shown += ops[i].first;
  }
  fmt::print("  {:<32} {:5.1f} %\n", "(the rest)", share(p.total_us - shown));
  fmt::print("\nconvolutions, forward and backward: {:.1f} % of the step\n",
             share(p.convolution_us));
  fmt::print(
      "(hogwild::conv_pool_relu counted whole: the first convolution with its pool and ReLU)\n");
}

// What the command line asks for.
struct StepOptions {
  hogwild::Config config;  // dataset, data_dir and precision set; the rest the defaults
  int64_t batch = 128, steps = 200, threads = 1;
  bool profile = false, augment = false;
};

// Parses the flags; false for --help (printed).
bool parse_flags(int argc, char** argv, StepOptions& o) {
  std::string precision = "fp32", dataset = "mnist";
  CLI::App app{
      "Times the training step alone (one process, no shared memory), optionally "
      "with a per-operator profile.",
      "hogwild_step"};
  app.add_option("--batch", o.batch, "samples per step")->capture_default_str();
  app.add_option("--steps", o.steps, "timed steps (after 20 to warm up)")->capture_default_str();
  app.add_option("--threads", o.threads, "intra-op threads")->capture_default_str();
  app.add_option("--precision", precision, "fp32, bf16 or auto (as hogwild_train)")
      ->capture_default_str();
  app.add_option("--dataset", dataset, "mnist or fashion-mnist")->capture_default_str();
  app.add_option("--data-dir", o.config.data_dir,
                 "the IDX files' directory (default: data/<dataset> "
                 "of the source tree)");
  app.add_flag("--profile", o.profile, "also print where the time goes, per phase and operator");
  app.add_flag("--augment", o.augment, "shift each image as hogwild_train --augment does");
  if (!hogwild::parse_tool_flags(app, argc, argv)) return false;
  if (o.batch < 1 || o.steps < 5 || o.threads < 1) {
    throw hogwild::InputError("--batch and --threads must be at least 1, --steps at least 5");
  }
  if (o.profile && o.threads != 1)
    throw hogwild::InputError("--profile times one thread: add --threads 1");
  hogwild::set_key(o.config, "dataset", dataset);
  hogwild::set_key(o.config, "precision", precision);
  return true;
}

int run(int argc, char** argv) {
  StepOptions o;
  if (!parse_flags(argc, argv, o)) return 0;  // --help
  hogwild::Config& config = o.config;
  const int64_t batch = o.batch, steps = o.steps;
  const hogwild::PrecisionChoice chosen = hogwild::choose_precision(config.precision);
  at::set_num_threads(int(o.threads));
  hogwild::keep_large_allocations_in_heap();  // as hogwild_train does
  config.train_limit = std::min<int64_t>(60000, std::max<int64_t>(batch * (steps + 20), 10000));
  const hogwild::Dataset data =
      hogwild::load_dataset(hogwild::resolved_data_dir(config), "train", config.train_limit);

  torch::manual_seed(1);
  hogwild::MnistNet model;
  model->set_precision(chosen.precision);
  hogwild::MomentumSgd optimizer(model->parameters(), 0.01, 0.9,
                                 hogwild::UpdateTiming::kDuringBackward);
  std::vector<int64_t> order(std::size_t(data.size()));
  std::iota(order.begin(), order.end(), 0);
  const hogwild::AugmentPolicy policy =  // the default's shift, as the dropout below
      hogwild::augment_policy(o.augment, int(config.augment_shift), /*flips=*/false);
  const auto draws = [&](int64_t epoch) {
    return hogwild::EpochDraws{uint64_t(epoch), policy, hogwild::augment_key(1, epoch),
                               config.dropout};  // the default's p: hogwild_train's step
  };
  int64_t next = 0;
  const auto take = [&](int64_t count) {  // `count` steps' worth of indices, cycling
    std::vector<int64_t> indices(std::size_t(count * batch));
    for (auto& i : indices) i = order[std::size_t(next++ % data.size())];
    return indices;
  };
  hogwild::train_epoch(model, optimizer, data, take(20), batch, draws(1));  // warm-up

  std::vector<double> rates;
  const int64_t part = steps / 5;
  at::CallbackHandle callbacks = 0;
  if (o.profile) {
    callbacks = at::addGlobalCallback(at::RecordFunctionCallback(on_enter, on_leave));
  }
  for (int r = 0; r < 5; ++r) {
    const auto indices = take(part);
    const auto started = std::chrono::steady_clock::now();
    hogwild::train_epoch(model, optimizer, data, indices, batch, draws(r + 2));
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    rates.push_back(double(part * batch) / took.count());
  }
  std::sort(rates.begin(), rates.end());
  fmt::print("cpu: {} ({}), {} cores\n", hogwild::cpu_model_name(), hogwild::cpu_isa_summary(),
             std::max<long>(1, ::sysconf(_SC_NPROCESSORS_ONLN)));
  fmt::print(
      "step: batch {}, {} thread{}, {} ({}){}: {:.0f} samples/s (median of 5 x {} steps; "
      "{:.0f} to {:.0f})\n",
      batch, o.threads, o.threads == 1 ? "" : "s", hogwild::precision_name(chosen.precision),
      chosen.why, o.augment ? ", augmented" : "", rates[2], part, rates[0], rates[4]);
  if (o.profile) {
    at::removeCallback(callbacks);
    print_profile(g_profile, 5 * part * batch);
    fmt::print("(profiled: the samples/s above include the profiler's own cost)\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return hogwild::run_tool("hogwild_step", [&] { return run(argc, argv); });
}
