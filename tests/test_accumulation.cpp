// Every update lands where it should: the real hogwild_train (its workers on the shared
// segment, its MPI averages, its restarts) against updates computed here, batch by batch.
//
// The runs take steps so small that the model barely moves. Then, to first order, the
// parameters change by -lr times the sum of every batch's gradient at the starting
// parameters theta0, whatever order the racing workers took their steps in; the second-order
// rest and Hogwild's element-wise races stay below 1 % of the change (measured: README of
// tests, kTolerance). A worker whose writes are lost or private, a slice trained by two
// workers, a broadcast instead of a mean, a partial --resume or a restart that starts from
// anything but the shared parameters each miss by a large share of the change. Each worker's
// (or rank's) reported loss is also the loss of its own slice at theta0: it names the slice.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "hogwild/checkpoint.h"
#include "hogwild/dataset.h"
#include "hogwild/dropout.h"
#include "hogwild/model.h"
#include "hogwild/partition.h"
#include "hogwild/trainer.h"
#include "test_support.h"
#include "torch_doctest.h"  // first: see there

using namespace hogwild;
using hogwild::testing::run_shell;
using hogwild::testing::slurp;
using hogwild::testing::source_path;
using hogwild::testing::TempDir;

namespace {

constexpr int64_t kSeed = 3;
constexpr double kDropout = 0.5;  // the runs' and the masks drawn here
// Largest relative miss of any parameter tensor: ||actual change - expected|| / ||expected||.
// The runs here miss by 0.3-1 % (at lr 3e-5 mostly the second-order rest; much smaller steps
// lose more to fp32 rounding); the breaks above miss by 50 % and more.
constexpr double kTolerance = 0.02;

// What a run trains: the first `train_size` MNIST images, `epochs` epochs of steps on
// `batch` samples with step size `lr`, no momentum, the seed recipe (every worker the same).
struct Shape {
  int64_t train_size = 400;
  int64_t batch = 25;
  int64_t epochs = 1;
  double lr = 3e-5;
};

const Dataset& mnist_train(int64_t limit) {
  static const Dataset data = load_dataset(source_path("data/mnist"), "train", 4000);
  REQUIRE(limit <= data.size());
  return data;
}

// theta0: a model trained a little (so that the samples' losses and gradients differ from
// slice to slice), saved for --resume.
std::vector<torch::Tensor> make_theta0(const std::string& path) {
  torch::manual_seed(11);
  MnistNet model;
  const Dataset& data = mnist_train(2000);
  const StridedPartition all(2000, 1, 5);
  TrainOptions options;
  options.epochs = 1;
  options.batch_size = 50;
  options.lr = 0.05;
  train_replica(model, data, all, options, 0, [](int64_t, const Totals&, double) {});
  save_parameters(*model, path);
  std::vector<torch::Tensor> theta;
  for (const auto& p : model->parameters()) theta.push_back(p.detach().clone());
  return theta;
}

std::vector<torch::Tensor> load(const std::string& path) {
  MnistNet model;
  load_parameters(*model, path);
  std::vector<torch::Tensor> theta;
  for (const auto& p : model->parameters()) theta.push_back(p.detach().clone());
  return theta;
}

using Tensors = std::vector<torch::Tensor>;

Tensors zeros_like(const Tensors& like) {
  Tensors out;
  for (const auto& t : like) out.push_back(torch::zeros_like(t));
  return out;
}

void add(Tensors& to, const Tensors& what, double scale = 1.0) {
  for (std::size_t i = 0; i < to.size(); ++i) to[i] += what[i] * scale;
}

// One slot's epoch at theta0: each batch's gradient of its mean loss, and the loss sum.
struct Slice {
  std::vector<Tensors> batches;
  double loss_sum = 0;
  int64_t samples = 0;
  Tensors sum() const {
    Tensors total = zeros_like(batches.front());
    for (const auto& b : batches) add(total, b);
    return total;
  }
  Tensors prefix(std::size_t steps) const {
    Tensors total = zeros_like(batches.front());
    for (std::size_t s = 0; s < steps; ++s) add(total, batches[s]);
    return total;
  }
  double mean_loss() const { return loss_sum / double(samples); }
};

// The batches replica `slot` of `replicas` takes in `epoch`, as the trainer takes them (the
// partition, the batch size, the samples' dropout masks), each at theta0.
Slice slice_at(const std::string& theta0, const Shape& shape, int64_t replicas, int64_t slot,
               int64_t epoch) {
  MnistNet model;
  load_parameters(*model, theta0);
  model->train();
  const Dataset& data = mnist_train(shape.train_size);
  const StridedPartition partition(shape.train_size, replicas, uint64_t(kSeed));
  const std::vector<int64_t> rows = partition.indices(slot, epoch);
  Slice slice;
  for (std::size_t start = 0; start < rows.size(); start += std::size_t(shape.batch)) {
    const int64_t n = std::min<int64_t>(shape.batch, int64_t(rows.size() - start));
    const auto index =
        torch::from_blob(const_cast<int64_t*>(rows.data() + start), {n}, torch::kInt64).clone();
    const auto images = data.images.index_select(0, index);
    const auto labels = data.labels.index_select(0, index);
    auto mask = torch::empty(
        {n, 64, 5, 5},
        torch::TensorOptions(torch::kFloat32).memory_format(torch::MemoryFormat::ChannelsLast));
    fill_dropout_mask(mask.data_ptr<float>(), rows.data() + start, n, kDropoutUnits,
                      dropout_key(uint64_t(kSeed), epoch), kDropout);
    model->zero_grad();
    const auto loss = torch::nn::functional::cross_entropy(model->forward(images, mask), labels);
    loss.backward();
    Tensors grads;
    for (const auto& p : model->parameters()) grads.push_back(p.grad().clone());
    slice.batches.push_back(grads);
    slice.loss_sum += loss.item<double>() * double(n);
    slice.samples += n;
  }
  return slice;
}

// The largest relative miss over the tensors: ||actual_i - expected_i|| / ||expected_i||.
double worst_miss(const Tensors& actual, const Tensors& expected) {
  double worst = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double scale = expected[i].norm().item<double>();
    worst = std::max(worst, (actual[i] - expected[i]).norm().item<double>() / scale);
  }
  return worst;
}

Tensors change(const Tensors& after, const Tensors& before) {
  Tensors out;
  for (std::size_t i = 0; i < after.size(); ++i) out.push_back(after[i] - before[i]);
  return out;
}

// In fp32, as the expected sums are (auto would pick bf16 on a CPU with bf16 dot products).
std::string train_args(const std::string& dir, const Shape& shape, const std::string& extra) {
  return fmt::format(
      "{} --config {} --recipe seed --batch-size {} --lr {} --momentum 0 --epochs {} "
      "--train-limit {} --test-limit 100 --threads 1 --seed {} --init-from {}/theta0.pt "
      "--save-model {}/out.pt --metrics-out {}/m.json --precision fp32 --dropout {} {}",
      HOGWILD_TRAIN_BIN, source_path("configs/smoke.toml"), shape.batch, shape.lr, shape.epochs,
      shape.train_size, kSeed, dir, dir, dir, kDropout, extra);
}

std::string mpirun(int ranks) {
  return fmt::format(
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun "
      "--oversubscribe --bind-to none -np {} ",
      ranks);
}

// The loss a worker (`key` "worker") or an MPI rank (all its workers together: "rank")
// reported for `epoch`.
double reported_loss(const nlohmann::json& doc, int64_t who, int64_t epoch,
                     const char* key = "worker") {
  for (const auto& e : doc["epochs"]) {
    if (e[key] == who && e["epoch"] == epoch) return e["loss"];
  }
  FAIL("no epoch ", epoch, " of ", key, " ", who, " in the metrics");
  return 0;
}

}  // namespace

TEST_CASE(
    "2 Hogwild workers: the segment moves by the sum of both workers' updates, each on its own "
    "slice") {
  TempDir dir;
  const Tensors theta0 = make_theta0(dir.file("theta0.pt"));
  const Shape shape;
  const auto [code, text] = run_shell(train_args(dir.path(), shape, "--procs 2") + " 2>&1");
  INFO("output: " << text);
  REQUIRE(code == 0);
  const Slice s0 = slice_at(dir.file("theta0.pt"), shape, 2, 0, 0);
  const Slice s1 = slice_at(dir.file("theta0.pt"), shape, 2, 1, 0);
  Tensors expected = zeros_like(theta0);
  add(expected, s0.sum(), -shape.lr);
  add(expected, s1.sum(), -shape.lr);
  const Tensors actual = change(load(dir.file("out.pt")), theta0);
  const double miss = worst_miss(actual, expected);
  MESSAGE("largest relative miss of a tensor: " << miss);
  CHECK(miss < kTolerance);
  // The check can tell: either worker's updates alone miss by far more.
  Tensors only_one = zeros_like(theta0);
  add(only_one, s0.sum(), -shape.lr);
  CHECK(worst_miss(only_one, expected) > 10 * kTolerance);

  // Each worker reported its own slice's loss (at theta0, to well within the slices' gap).
  const auto doc = nlohmann::json::parse(slurp(dir.file("m.json")));
  MESSAGE("slice losses at theta0: " << s0.mean_loss() << ", " << s1.mean_loss() << "; reported "
                                     << reported_loss(doc, 0, 1) << ", "
                                     << reported_loss(doc, 1, 1));
  CHECK(std::abs(s0.mean_loss() - s1.mean_loss()) > 0.005 * s0.mean_loss());
  CHECK(reported_loss(doc, 0, 1) == doctest::Approx(s0.mean_loss()).epsilon(0.001));
  CHECK(reported_loss(doc, 1, 1) == doctest::Approx(s1.mean_loss()).epsilon(0.001));
}

TEST_CASE(
    "mpirun 2 ranks x 2 workers: the job's model is the mean of the ranks', each worker on its "
    "slot of 4") {
  TempDir dir;
  const Tensors theta0 = make_theta0(dir.file("theta0.pt"));
  const Shape shape;
  std::vector<Slice> slots;
  for (int64_t slot = 0; slot < 4; ++slot)
    slots.push_back(slice_at(dir.file("theta0.pt"), shape, 4, slot, 0));
  // Rank k holds theta0 - lr * (its two workers' sums); the mean of the two ranks:
  Tensors expected = zeros_like(theta0);
  for (const auto& s : slots) add(expected, s.sum(), -shape.lr / 2);
  // A broadcast of rank 0's model instead of the mean would give its workers' sum alone.
  Tensors broadcast = zeros_like(theta0);
  add(broadcast, slots[0].sum(), -shape.lr);
  add(broadcast, slots[1].sum(), -shape.lr);
  REQUIRE(worst_miss(broadcast, expected) > 10 * kTolerance);

  for (const std::string sync : {"epoch", "steps:3"}) {
    CAPTURE(sync);
    const auto [code, text] =
        run_shell(mpirun(2) + train_args(dir.path(), shape, "--procs 2 --sync " + sync) + " 2>&1");
    INFO("output: " << text);
    REQUIRE(code == 0);
    const double miss = worst_miss(change(load(dir.file("out.pt")), theta0), expected);
    MESSAGE("--sync " << sync << ": largest relative miss of a tensor: " << miss);
    CHECK(miss < kTolerance);
    // Rank k's loss is that of slots 2k and 2k + 1 together.
    const auto doc = nlohmann::json::parse(slurp(dir.file("m.json")));
    for (int64_t rank = 0; rank < 2; ++rank) {
      const Slice& a = slots[std::size_t(2 * rank)];
      const Slice& b = slots[std::size_t(2 * rank + 1)];
      CAPTURE(rank);
      CHECK(reported_loss(doc, rank, 1, "rank") ==
            doctest::Approx((a.loss_sum + b.loss_sum) / double(a.samples + b.samples))
                .epsilon(0.001));
    }
  }
}

TEST_CASE(
    "a worker killed from outside is replaced from the shared parameters, at its unfinished "
    "epoch") {
  TempDir dir;
  const Tensors theta0 = make_theta0(dir.file("theta0.pt"));
  // Large batches: few steps (a small change, so the first-order rule holds), slow ones (the
  // kill lands mid-epoch).
  Shape shape;
  shape.train_size = 4000;
  shape.batch = 200;
  shape.epochs = 2;
  shape.lr = 2e-5;
  // Worker 1 stops itself before its 12th step (the second of epoch 2); the script finds it
  // stopped, lets it go on and SIGKILLs it 20 ms later: mid-epoch, at any point of a step, with
  // 8 steps of margin. (Waiting for a log line instead raced: under load both epochs could pass
  // between two polls, and CI once killed nothing.)
  constexpr int64_t killed = 1;
  constexpr int64_t epoch = 1;  // 0-based: the epoch it had not finished
  std::ofstream(dir.file("run.sh")) << "HOGWILD_TEST_FAULT=" << killed << ":11:stop exec "
                                    << train_args(dir.path(), shape, "--procs 2 --max-restarts 1")
                                    << " >" << dir.file("out") << " 2>&1\n";
  const auto [code, text] = run_shell(fmt::format(
      "cd {0} || exit 1; (sh run.sh & echo $! > pid; wait $!; echo \"exit $?\" > done) & "
      "for i in $(seq 3000); do "
      "worker=$(ps -o pid=,stat= --ppid \"$(cat pid 2>/dev/null)\" 2>/dev/null | "
      "awk '$2 ~ /^T/ {{print $1}}'); [ -n \"$worker\" ] && break; sleep 0.01; done; "
      "kill -CONT \"$worker\"; sleep 0.02; kill -9 \"$worker\" && echo \"killed: $worker\"; "
      "for i in $(seq 3000); do [ -f done ] && break; sleep 0.1; done; cat done",
      dir.path()));
  const std::string out = slurp(dir.file("out"));
  INFO("script: " << text);
  INFO("output: " << out);
  REQUIRE(code == 0);
  REQUIRE(text.find("killed: ") != std::string::npos);
  REQUIRE(text.find("exit 0") != std::string::npos);
  // The worker killed had finished epoch 1: its replacement must start at epoch 2.
  CHECK(out.find(fmt::format(
            "worker {} failed (signal 9 (SIGKILL)); restarting it at epoch 2 (restart 1 of 1)",
            killed)) != std::string::npos);

  // Every slot's every epoch once, and the part of the killed epoch that landed before the
  // kill: some number of whole steps, and perhaps part of the next. A step's layers land one
  // by one, so each tensor may have one step more than another; and SIGKILL can land while
  // the update writes a tensor, so its elements may differ by that one step too (seen: 2 of
  // 6 runs missed by 2.7 % when the next step's elements were not allowed).
  Tensors base = zeros_like(theta0);
  Slice lost;
  for (int64_t e = 0; e < shape.epochs; ++e) {
    for (int64_t slot = 0; slot < 2; ++slot) {
      Slice s = slice_at(dir.file("theta0.pt"), shape, 2, slot, e);
      add(base, s.sum(), -shape.lr);
      if (slot == killed && e == epoch) lost = std::move(s);
    }
  }
  const Tensors actual = change(load(dir.file("out.pt")), theta0);
  double worst = 0;
  std::size_t landed_min = lost.batches.size(), landed_max = 0;
  for (std::size_t i = 0; i < theta0.size(); ++i) {
    std::vector<double> misses;  // by the number of steps landed
    for (std::size_t steps = 0; steps <= lost.batches.size(); ++steps) {
      const auto before = base[i] - shape.lr * lost.prefix(steps)[i];
      // Each element with or without the next step, whichever it is nearer (no next step
      // after the last).
      const auto after = steps < lost.batches.size()
                             ? torch::Tensor(base[i] - shape.lr * lost.prefix(steps + 1)[i])
                             : before;
      const auto expected =
          torch::where((actual[i] - before).abs() <= (actual[i] - after).abs(), before, after);
      misses.push_back((actual[i] - expected).norm().item<double>() / before.norm().item<double>());
    }
    // Candidates s and s + 1 both fit a tensor that took s + 1 steps whole (each allows the
    // next step): their misses tie up to the races' noise (0.0065 against 0.0077 seen),
    // which must not pick the larger ("1-3 landed" in 3 of 4 runs). So: the fewest steps
    // within a quarter of the tolerance of the best; a step more or less than the truth
    // misses by 0.017 or more.
    const double best = *std::min_element(misses.begin(), misses.end());
    std::size_t best_steps = 0;
    while (misses[best_steps] > best + kTolerance / 4) ++best_steps;
    worst = std::max(worst, best);
    landed_min = std::min(landed_min, best_steps);
    landed_max = std::max(landed_max, best_steps);
  }
  MESSAGE("largest relative miss of a tensor: " << worst << " with " << landed_min << "-"
                                                << landed_max << " of the killed epoch's "
                                                << lost.batches.size() << " steps landed");
  CHECK(worst < kTolerance);
  CHECK(landed_max - landed_min <= 1);
  // The replacement trained its epoch whole, on its own slice.
  const auto doc = nlohmann::json::parse(slurp(dir.file("m.json")));
  int64_t reports = 0;
  for (const auto& e : doc["epochs"]) reports += e["worker"] == killed;
  CHECK(reports == shape.epochs);
  CHECK(reported_loss(doc, killed, epoch + 1) == doctest::Approx(lost.mean_loss()).epsilon(0.002));
}
