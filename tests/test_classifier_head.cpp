#include "hogwild/classifier_head.h"
#include "torch_doctest.h"  // first: see there

using namespace hogwild;

namespace {

struct Head {
  torch::Tensor fc1_w, fc1_b, fc2_w, fc2_b;
  Head(int64_t channels, int64_t hidden, int64_t classes)
      : fc1_w(torch::randn({hidden, channels}) * 0.2),
        fc1_b(torch::randn({hidden}) * 0.1),
        fc2_w(torch::randn({classes, hidden}) * 0.2),
        fc2_b(torch::randn({classes}) * 0.1) {}
  std::vector<torch::Tensor> leaves() const {
    std::vector<torch::Tensor> copies;
    for (const auto& t : {fc1_w, fc1_b, fc2_w, fc2_b}) copies.push_back(t.clone().requires_grad_());
    return copies;
  }
};

bool close(const torch::Tensor& ours, const torch::Tensor& theirs) {
  return ours.scalar_type() == theirs.scalar_type() && ours.sizes() == theirs.sizes() &&
         torch::allclose(ours.to(torch::kFloat64), theirs.to(torch::kFloat64), 1e-4, 1e-5);
}

// Logits and every gradient (input and the four weights) of classifier_head against ATen's
// composition, for the same input, mask, weights and upstream gradient. `x` fp32; with `bf16`
// the head gets it in bf16 and ATen the same values widened to fp32 (the head computes in fp32).
void expect_same_as_aten(const torch::Tensor& x_in, bool with_mask, bool bf16 = false) {
  const auto channels_last = torch::MemoryFormat::ChannelsLast;
  const Head head(x_in.size(1), 32, 10);
  const auto mask =
      with_mask
          ? (torch::rand(x_in.sizes()) < 0.5).to(torch::kFloat32).mul(2.0).contiguous(channels_last)
          : torch::Tensor();
  const auto narrow = bf16 ? x_in.to(torch::kBFloat16) : x_in;
  auto x = narrow.contiguous(channels_last).requires_grad_();
  auto y = narrow.to(torch::kFloat32).contiguous(channels_last).requires_grad_();
  auto ours_w = head.leaves();
  auto theirs_w = head.leaves();
  const auto ours = classifier_head(x, mask, ours_w[0], ours_w[1], ours_w[2], ours_w[3]);
  const auto theirs =
      classifier_head_aten(y, mask, theirs_w[0], theirs_w[1], theirs_w[2], theirs_w[3]);
  REQUIRE((ours.scalar_type() == torch::kFloat32));
  CHECK(close(ours, theirs));
  const auto upstream = torch::randn(theirs.sizes());
  ours.backward(upstream);
  theirs.backward(upstream);
  CHECK((x.grad().scalar_type() == x.scalar_type()));
  CHECK(x.grad().is_contiguous(channels_last));
  if (bf16) {  // rounded to bf16 once from an fp32 value summed in another order: 1 ulp apart
    CHECK(torch::allclose(x.grad().to(torch::kFloat64), y.grad().to(torch::kFloat64), 1e-2, 1e-5));
  } else {
    CHECK(close(x.grad(), y.grad()));
  }
  for (std::size_t i = 0; i < ours_w.size(); ++i) {
    CAPTURE(i);
    CHECK(close(ours_w[i].grad(), theirs_w[i].grad()));
  }
}

}  // namespace

TEST_CASE("classifier_head equals ATen's dropout, max-pool and linear layers, with gradients") {
  torch::manual_seed(5);
  // After pool_relu every value is at least 0: many zeros, and ties among them.
  const auto model_like = [](std::vector<int64_t> shape) {
    return torch::relu(torch::randn(shape));
  };
  SUBCASE("the model's head: 64 channels of 5x5, with and without the dropout mask") {
    expect_same_as_aten(model_like({7, 64, 5, 5}), true);
    expect_same_as_aten(model_like({7, 64, 5, 5}), false);
  }
  SUBCASE("bf16 input (the model under --precision bf16)") {
    expect_same_as_aten(model_like({5, 64, 5, 5}), true, true);
  }
  SUBCASE("ties: the first maximum in the window takes the gradient") {
    expect_same_as_aten(torch::randint(0, 3, {6, 16, 5, 5}).to(torch::kFloat32), true);
    expect_same_as_aten(torch::zeros({2, 16, 5, 5}), false);
  }
  SUBCASE("other sizes: negative inputs, a 3x4 window, 48 samples over threads") {
    expect_same_as_aten(torch::randn({48, 24, 3, 4}), true);
  }
}

TEST_CASE("classifier_head takes NCHW too, and leaves other dtypes to ATen") {
  torch::manual_seed(6);
  const Head head(8, 32, 10);
  const auto x = torch::randn({2, 8, 5, 5});  // NCHW
  const auto mask = (torch::rand(x.sizes()) < 0.5).to(torch::kFloat32).mul(2.0);
  const auto ours = classifier_head(x, mask, head.fc1_w, head.fc1_b, head.fc2_w, head.fc2_b);
  CHECK(close(ours, classifier_head_aten(x, mask, head.fc1_w, head.fc1_b, head.fc2_w, head.fc2_b)));
  const auto wide = x.to(torch::kFloat64);
  const auto w = [](const torch::Tensor& t) { return t.to(torch::kFloat64); };
  const auto aten =
      classifier_head(wide, {}, w(head.fc1_w), w(head.fc1_b), w(head.fc2_w), w(head.fc2_b));
  CHECK((aten.scalar_type() == torch::kFloat64));
}
