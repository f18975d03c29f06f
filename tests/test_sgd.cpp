#include <torch/torch.h>

#include <memory>
#include <vector>

#include "hogwild/error.h"
#include "hogwild/model.h"
#include "hogwild/sgd.h"
#include "torch_doctest.h"  // first: see there

using namespace hogwild;

namespace {

// Identity forward; its backward records the value of `watched` at the moment it runs.
struct RecordsInBackward : torch::autograd::Function<RecordsInBackward> {
  static inline const torch::Tensor* watched = nullptr;
  static inline float seen = 0;
  static torch::Tensor forward(torch::autograd::AutogradContext*, const torch::Tensor& x) {
    return x.clone();
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext*,
                                               torch::autograd::tensor_list g) {
    seen = watched->item<float>();
    return {g[0]};
  }
};

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> out;
  for (const auto& p : parameters) out.push_back(p.detach().clone());
  return out;
}

bool all_equal(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return a.size() == b.size();
}

}  // namespace

TEST_CASE("both update timings step the network exactly as torch::optim::SGD") {
  torch::manual_seed(3);
  const auto x = torch::rand({6, 1, 28, 28});
  const auto labels = torch::randint(0, 10, {6});
  const auto mask = torch::full({6, 64, 5, 5}, 2.0f);
  const auto fresh = [] {
    torch::manual_seed(7);
    MnistNet m;
    m->train();
    return m;
  };
  MnistNet reference = fresh(), during = fresh(), after = fresh();
  torch::optim::SGD sgd(reference->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  MomentumSgd ours_during(during->parameters(), 0.05, 0.9, UpdateTiming::kDuringBackward);
  MomentumSgd ours_after(after->parameters(), 0.05, 0.9, UpdateTiming::kAfterBackward);
  for (int step = 0; step < 4; ++step) {
    CAPTURE(step);
    sgd.zero_grad();
    torch::nn::functional::cross_entropy(reference->forward(x, mask), labels).backward();
    sgd.step();

    ours_during.zero_grad();
    const auto before = copies(during->parameters());
    torch::nn::functional::cross_entropy(during->forward(x, mask), labels).backward();
    CHECK_FALSE(all_equal(before, copies(during->parameters())));  // written in the backward
    ours_during.step();                                            // nothing left to do

    ours_after.zero_grad();
    const auto before_step = copies(after->parameters());
    torch::nn::functional::cross_entropy(after->forward(x, mask), labels).backward();
    CHECK(all_equal(before_step, copies(after->parameters())));  // not yet
    ours_after.step();

    CHECK(all_equal(copies(reference->parameters()), copies(during->parameters())));
    CHECK(all_equal(copies(reference->parameters()), copies(after->parameters())));
  }
}

TEST_CASE(
    "kDuringBackward writes a parameter while the layers before it still run their backward") {
  // y = sum(probe(a) * w): the probe's backward runs after w's gradient is complete.
  const auto a = torch::full({1}, 2.0f).requires_grad_();
  const auto w = torch::full({1}, 1.0f).requires_grad_();
  RecordsInBackward::watched = &w;
  for (const auto timing : {UpdateTiming::kDuringBackward, UpdateTiming::kAfterBackward}) {
    CAPTURE(int(timing));
    {
      torch::NoGradGuard no_grad;
      a.fill_(2.0f);
      w.fill_(1.0f);
    }
    MomentumSgd sgd({a, w}, /*lr=*/0.25, /*momentum=*/0.0, timing);
    sgd.zero_grad();
    (RecordsInBackward::apply(a) * w).sum().backward();  // dy/dw = a = 2
    const float expected_seen =
        timing == UpdateTiming::kDuringBackward ? 1.0f - 0.25f * 2.0f : 1.0f;
    CHECK(RecordsInBackward::seen == expected_seen);
    sgd.step();
    CHECK(w.item<float>() == 0.5f);
    CHECK(a.item<float>() == 2.0f - 0.25f * 1.0f);  // dy/da = w as the forward read it
  }
}

TEST_CASE(
    "momentum accumulates, clear_momentum starts it afresh, and a destroyed optimizer updates "
    "nothing") {
  const auto p = torch::full({1}, 1.0f).requires_grad_();
  const auto step = [&] { (3.0f * p).sum().backward(); };  // gradient 3
  {
    MomentumSgd sgd({p}, /*lr=*/0.1, /*momentum=*/0.9, UpdateTiming::kDuringBackward);
    step();  // m = 3, p = 1 - 0.3
    CHECK(p.item<float>() == doctest::Approx(0.7));
    step();  // m = 0.9 * 3 + 3 = 5.7, p = 0.7 - 0.57
    CHECK(p.item<float>() == doctest::Approx(0.13));
    sgd.clear_momentum();
    sgd.set_lr(0.01);
    step();  // m = 3, p = 0.13 - 0.03
    CHECK(p.item<float>() == doctest::Approx(0.10));
  }
  step();  // no optimizer: the gradient accumulates, the parameter stays
  CHECK(p.item<float>() == doctest::Approx(0.10));
}

TEST_CASE("MomentumSgd refuses a negative step size and a momentum of 1 or more") {
  const auto p = torch::zeros({1}).requires_grad_();
  CHECK_THROWS_WITH_AS(MomentumSgd({p}, -0.1, 0.9, UpdateTiming::kAfterBackward),
                       doctest::Contains("invalid lr = -0.1"), InputError);
  CHECK_THROWS_WITH_AS(MomentumSgd({p}, 0.1, 1.0, UpdateTiming::kAfterBackward),
                       doctest::Contains("invalid momentum = 1: must be in [0, 1)"), InputError);
  MomentumSgd sgd({p}, 0.1, 0.0, UpdateTiming::kAfterBackward);
  CHECK_THROWS_AS(sgd.set_lr(-1.0), InputError);
  CHECK(sgd.lr() == 0.1);
}
