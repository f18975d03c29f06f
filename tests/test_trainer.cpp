#include <unistd.h>

#include "hogwild/config.h"
#include "hogwild/dataset.h"
#include "hogwild/dropout.h"
#include "hogwild/model.h"
#include "hogwild/partition.h"
#include "hogwild/shared_parameters.h"
#include "hogwild/trainer.h"
#include "hogwild/worker.h"
#include "test_support.h"
#include "torch_doctest.h"  // first: see there

using namespace hogwild;

namespace {

// A separable toy problem in MNIST's shape: label 1 has a bright centred square, label 0 a
// faint one (position would not do: the network's last global max-pool discards it).
Dataset toy_dataset(int64_t n) {
  IdxSplit split;
  split.images.count = n;
  split.images.rows = 28;
  split.images.cols = 28;
  split.images.pixels.assign(std::size_t(n) * 784, 0);
  for (int64_t i = 0; i < n; ++i) {
    const int label = int(i % 2);
    split.labels.labels.push_back(uint8_t(label));
    for (int r = 8; r < 20; ++r) {
      for (int c = 8; c < 20; ++c) split.images.pixels[i * 784 + r * 28 + c] = label ? 250 : 30;
    }
  }
  return to_dataset(split);
}

std::vector<torch::Tensor> snapshot(MnistNet& model) {
  std::vector<torch::Tensor> copies;
  for (const auto& p : model->parameters()) copies.push_back(p.detach().clone());
  return copies;
}

bool same_tensors(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return true;
}

// The parameters after train_replica with `options` on replica 0 of 1, from seed 7.
std::vector<torch::Tensor> trained(const Dataset& data, const TrainOptions& options) {
  torch::manual_seed(7);
  MnistNet model;
  const StridedPartition partition(data.size(), /*replicas=*/1, /*seed=*/1);
  train_replica(model, data, partition, options, /*replica=*/0,
                [](int64_t, const Totals&, double) {});
  return snapshot(model);
}

// Two epochs of four steps: enough for runs that draw differently to part.
TrainOptions short_run() {
  TrainOptions options;
  options.epochs = 2;
  options.batch_size = 25;
  options.lr = 0.05;
  return options;
}

}  // namespace

TEST_CASE("the model maps a batch of 1x28x28 images to 10 logits") {
  torch::manual_seed(0);
  MnistNet model;
  CHECK(model->forward(torch::rand({3, 1, 28, 28})).sizes() == torch::IntArrayRef({3, 10}));
  int64_t count = 0;
  for (const auto& p : model->parameters()) count += p.numel();
  CHECK(count == 16 * 25 + 16 + 64 * 16 * 25 + 64 + 64 * 32 + 32 + 32 * 10 + 10);
}

TEST_CASE("IDX bytes become [0, 1] floats and int64 labels, optionally limited") {
  IdxSplit split;
  split.images = {3, 2, 2, {0, 255, 51, 102, 0, 0, 0, 0, 255, 255, 255, 255}};
  split.labels.labels = {7, 0, 9};
  const Dataset all = to_dataset(split);
  CHECK(all.images.sizes() == torch::IntArrayRef({3, 1, 2, 2}));
  CHECK(all.images[0][0][0][1].item<float>() == 1.0f);
  CHECK(all.images[0][0][1][0].item<float>() == doctest::Approx(0.2));
  CHECK(all.labels[2].item<int64_t>() == 9);
  CHECK(to_dataset(split, 2).size() == 2);
}

TEST_CASE("training on a partition lowers the loss and evaluation counts every sample") {
  torch::manual_seed(1);
  const Dataset data = toy_dataset(400);
  MnistNet model;
  const Totals before = evaluate(model, data, 128);
  CHECK(before.samples == 400);

  const StridedPartition partition(data.size(), /*replicas=*/2, /*seed=*/1);
  TrainOptions options;
  options.epochs = 6;
  options.batch_size = 20;
  options.lr = 0.05;
  std::vector<Totals> epochs;
  train_replica(model, data, partition, options, /*replica=*/0,
                [&](int64_t epoch, const Totals& totals, double seconds) {
                  CHECK(epoch == int64_t(epochs.size()) + 1);
                  CHECK(seconds > 0);
                  CHECK(totals.samples == 200);
                  epochs.push_back(totals);
                });
  REQUIRE(epochs.size() == 6);
  CHECK(epochs.back().mean_loss() < epochs.front().mean_loss());
  const Totals after = evaluate(model, data, 128);
  CHECK(after.mean_loss() < before.mean_loss());
  CHECK(after.accuracy() > 90.0);  // chance is 50%
}

TEST_CASE("each epoch trains with its own step size from lr_by_epoch") {
  torch::manual_seed(1);
  const Dataset data = toy_dataset(100);
  MnistNet model;
  const StridedPartition partition(data.size(), /*replicas=*/1, /*seed=*/1);
  TrainOptions options;
  options.epochs = 2;
  options.batch_size = 25;
  options.lr = 0.05;                  // would move the parameters...
  options.lr_by_epoch = {0.0, 0.05};  // ...but epoch 1 has step size 0
  std::vector<torch::Tensor> after_first;
  const auto start = snapshot(model);
  train_replica(model, data, partition, options, /*replica=*/0,
                [&](int64_t epoch, const Totals&, double) {
                  if (epoch == 1) {
                    CHECK(same_tensors(snapshot(model), start));
                    after_first = snapshot(model);
                  }
                });
  REQUIRE(after_first.size() == start.size());
  CHECK_FALSE(same_tensors(snapshot(model), after_first));  // epoch 2 stepped
}

TEST_CASE("bf16 steps train fp32 parameters that stay in the shared segment") {
  torch::manual_seed(1);
  const Dataset data = toy_dataset(400);
  MnistNet model;
  SharedParameters shared(*model, "hogwild-test-" + std::to_string(::getpid()));
  const Totals before = evaluate(model, data, 128);
  model->set_precision(Precision::kBf16);
  const StridedPartition partition(data.size(), /*replicas=*/1, /*seed=*/1);
  TrainOptions options;
  options.epochs = 4;
  options.batch_size = 20;
  options.lr = 0.05;
  train_replica(model, data, partition, options, /*replica=*/0,
                [](int64_t, const Totals&, double) {});
  CHECK_NOTHROW(shared.check_bound(*model, "test"));  // updated in place, in fp32
  for (const auto& p : model->parameters()) CHECK((p.scalar_type() == torch::kFloat32));
  model->set_precision(Precision::kFp32);
  CHECK(evaluate(model, data, 128).mean_loss() < before.mean_loss());
}

TEST_CASE(
    "the model's forward and gradients are the seed's formulation, in another order and layout") {
  // The seed's order and ATen's NCHW operators: conv, ReLU, max-pool; dropout as a mask.
  const auto reference = [](MnistNet& m, const torch::Tensor& x, const torch::Tensor& mask) {
    auto p = m->named_parameters();
    auto h = torch::max_pool2d(
        torch::relu(torch::conv2d(x, p["conv1.weight"], p["conv1.bias"], 1, 1)), 2, 2, 1);
    h = torch::max_pool2d(torch::relu(torch::conv2d(h, p["conv2.weight"], p["conv2.bias"])), 2, 2);
    h = torch::max_pool2d(h * mask, 5, 1).flatten(1);
    h = torch::relu(torch::linear(h, p["fc1.weight"], p["fc1.bias"]));
    return torch::linear(h, p["fc2.weight"], p["fc2.bias"]);
  };
  torch::manual_seed(5);
  MnistNet model;
  model->train();
  const auto x = torch::rand({8, 1, 28, 28});
  const auto mask = torch::full({8, 64, 5, 5}, 2.0f);  // every unit kept: the layouts agree
  const auto labels = torch::randint(0, 10, {8});
  std::vector<torch::Tensor> grads;
  for (int pass = 0; pass < 2; ++pass) {
    model->zero_grad();
    const auto logits = pass == 0 ? model->forward(x, mask) : reference(model, x, mask);
    torch::nn::functional::cross_entropy(logits, labels).backward();
    for (const auto& p : model->parameters()) grads.push_back(p.grad().clone());
  }
  const std::size_t n = model->parameters().size();
  for (std::size_t i = 0; i < n; ++i) {
    CAPTURE(i);
    CHECK(torch::allclose(grads[i], grads[n + i], /*rtol=*/1e-4, /*atol=*/1e-6));
  }
  CHECK(torch::allclose(model->forward(x, mask), reference(model, x, mask), 1e-5, 1e-6));
}

TEST_CASE("a before_update hook is refused with an optimizer that updates during the backward") {
  const Dataset data = toy_dataset(8);
  MnistNet model;
  MomentumSgd sgd(model->parameters(), 0.05, 0.9, UpdateTiming::kDuringBackward);
  StepHooks hooks;
  hooks.before_update = [] {};
  const std::vector<int64_t> indices = {0, 1, 2, 3};
  CHECK_THROWS_WITH_AS(train_epoch(model, sgd, data, indices, 4, EpochDraws{1, {}, 0}, hooks),
                       doctest::Contains("needs UpdateTiming::kAfterBackward"), std::logic_error);
}

TEST_CASE("a bf16 step computes in bf16 (its rounding shows) with fp32 gradients and parameters") {
  torch::manual_seed(3);
  MnistNet model;
  SharedParameters shared(*model, "hogwild-test-" + std::to_string(::getpid()));
  model->train();
  const auto x = torch::rand({32, 1, 28, 28});
  const auto mask = torch::full({32, 64, 5, 5}, 2.0f);
  const auto labels = torch::randint(0, 10, {32});
  struct Step {
    torch::Tensor logits;
    std::vector<torch::Tensor> grads;
    std::string last_op;
  };
  const auto step = [&](Precision precision) {
    model->set_precision(precision);
    model->zero_grad();
    Step s;
    const auto logits = model->forward(x, mask);
    s.last_op = logits.grad_fn()->name();
    torch::nn::functional::cross_entropy(logits, labels).backward();
    s.logits = logits.detach().clone();
    for (const auto& p : model->parameters()) {
      CHECK((p.scalar_type() == torch::kFloat32));
      CHECK((p.grad().scalar_type() == torch::kFloat32));
      s.grads.push_back(p.grad().clone());
    }
    return s;
  };
  const auto relative = [](const torch::Tensor& a, const torch::Tensor& b) {
    return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
  };
  const Step fp32 = step(Precision::kFp32);
  const Step bf16 = step(Precision::kBf16);
  const Step fp32_again = step(Precision::kFp32);
  CHECK(relative(fp32_again.logits, fp32.logits) < 1e-6);  // fp32 repeats itself
  // bf16 keeps 8 bits of mantissa (2^-9 = 0.2 % per rounding): the logits differ from fp32
  // by about that, far more than fp32's own noise and far less than another function would.
  const double logits_gap = relative(bf16.logits, fp32.logits);
  MESSAGE("bf16 against fp32: logits differ by " << logits_gap);
  CHECK(logits_gap > 1e-4);
  CHECK(logits_gap < 5e-2);
  // Both end in the classifier head (classifier_head.h), which computes in fp32: the gap
  // comes from the bf16 second convolution before it.
  CHECK(bf16.last_op.find("ClassifierHead") != std::string::npos);
  CHECK(fp32.last_op == bf16.last_op);
  for (std::size_t i = 0; i < fp32.grads.size(); ++i) {
    CAPTURE(i);
    const double gap = relative(bf16.grads[i], fp32.grads[i]);
    CHECK(gap > 1e-4);
    CHECK(gap < 0.2);
  }
  CHECK_NOTHROW(shared.check_bound(*model, "test"));
}

TEST_CASE("the warm-up ramps each step's size linearly from warmup.start to lr over its epochs") {
  const Dataset data = toy_dataset(100);
  const StridedPartition partition(data.size(), /*replicas=*/1, /*seed=*/1);
  TrainOptions options;
  options.epochs = 2;
  options.batch_size = 25;  // 4 steps an epoch
  options.lr = 0.05;
  options.warmup = {/*epochs=*/1, /*start=*/0.25};

  // The reference: the same steps through train_epoch, each step size set by hand:
  // 0.25, 0.4375, 0.625, 0.8125 of lr in epoch 1, then lr.
  torch::manual_seed(7);
  MnistNet model;
  MomentumSgd sgd(model->parameters(), options.lr, options.momentum, UpdateTiming::kDuringBackward);
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    StepHooks hooks;
    hooks.before_step = [&](int64_t step) {
      sgd.set_lr(epoch == 0 ? options.lr * (0.25 + 0.75 * double(step) / 4.0) : options.lr);
    };
    int64_t steps = 0;
    train_epoch(model, sgd, data, partition.indices(0, epoch), options.batch_size,
                EpochDraws{dropout_key(options.seed, epoch), {}, 0}, hooks, &steps);
  }
  const auto by_hand = snapshot(model);
  CHECK(same_tensors(trained(data, options), by_hand));
  TrainOptions no_warmup = options;
  no_warmup.warmup = {};
  CHECK_FALSE(same_tensors(trained(data, no_warmup), by_hand));

  // Starting at 0, the first step moves nothing; the second does.
  options.epochs = 1;
  options.warmup.start = 0;
  torch::manual_seed(7);
  MnistNet ramped;
  const auto start = snapshot(ramped);
  StepHooks hooks;
  std::vector<bool> moved;  // before steps 1, 2, 3
  hooks.before_step = [&](int64_t step) {
    if (step > 0) moved.push_back(!same_tensors(snapshot(ramped), start));
  };
  train_replica(
      ramped, data, partition, options, 0, [](int64_t, const Totals&, double) {}, hooks);
  CHECK(moved == std::vector<bool>{false, true, true});
}

TEST_CASE("--augment changes what a run learns, and the same seed repeats it exactly") {
  const Dataset data = toy_dataset(100);
  TrainOptions options = short_run();
  const auto plain = trained(data, options);
  options.augment = augment_policy(true, 2, /*flips=*/true);
  const auto augmented = trained(data, options);
  CHECK_FALSE(same_tensors(augmented, plain));
  CHECK(same_tensors(trained(data, options), augmented));
  options.seed = 2;  // another seed, other shifts (and dropout masks)
  CHECK_FALSE(same_tensors(trained(data, options), augmented));
}

TEST_CASE("--dropout changes what a run learns, and the same p repeats it exactly") {
  const Dataset data = toy_dataset(100);
  TrainOptions options = short_run();
  const auto seeds = trained(data, options);  // p = 0.5
  options.dropout = 0.25;
  const auto quarter = trained(data, options);
  CHECK_FALSE(same_tensors(quarter, seeds));
  CHECK(same_tensors(trained(data, options), quarter));
  options.dropout = 0.0;
  CHECK_FALSE(same_tensors(trained(data, options), quarter));
  CHECK_FALSE(same_tensors(trained(data, options), seeds));

  Config config;  // and a worker takes the configuration's p
  config.dropout = 0.25;
  CHECK(train_options(config, choose_hyperparameters(config)).dropout == 0.25);
}

TEST_CASE("a worker shifts images only with --augment, and flips them only with --augment-flips") {
  Config config;
  const Hyperparameters hyper = choose_hyperparameters(config);
  CHECK_FALSE(train_options(config, hyper).augment.active());
  config.augment = true;
  CHECK(train_options(config, hyper).augment.max_shift == 1);  // --augment-shift's default
  config.augment_shift = 3;
  CHECK(train_options(config, hyper).augment.max_shift == 3);
  CHECK_FALSE(train_options(config, hyper).augment.flips);
  config.dataset = DatasetKind::kFashionMnist;
  CHECK_FALSE(train_options(config, hyper).augment.flips);  // flips cost accuracy: off
  config.augment_flips = true;
  CHECK(train_options(config, hyper).augment.flips);
}
