#include "hogwild/pool_relu.h"
#include "torch_doctest.h"  // first: see there

using namespace hogwild;

namespace {

// Values and input gradients of pool_relu against ATen's relu(max_pool2d(...)), for the same
// input and the same upstream gradient.
void expect_same_as_aten(const torch::Tensor& input, int64_t padding) {
  const auto x = input.contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_(true);
  const auto y = input.clone().contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_(true);
  const auto ours = pool_relu(x, padding);
  const auto theirs = torch::relu(torch::max_pool2d(y, 2, 2, padding));
  REQUIRE(ours.sizes() == theirs.sizes());
  CHECK(ours.is_contiguous(torch::MemoryFormat::ChannelsLast));
  CHECK(torch::equal(ours, theirs));
  const auto upstream = torch::randn(theirs.sizes()).to(theirs.scalar_type());
  ours.backward(upstream);
  theirs.backward(upstream);
  CHECK(torch::equal(x.grad(), y.grad()));
}

}  // namespace

TEST_CASE("pool_relu equals ATen's max-pool then ReLU, values and gradients") {
  torch::manual_seed(3);
  SUBCASE("the model's first pool: 26x26, 16 channels, padding 1") {
    expect_same_as_aten(torch::randn({3, 16, 26, 26}), 1);
  }
  SUBCASE("the model's second pool: 10x10, 64 channels, no padding") {
    expect_same_as_aten(torch::randn({3, 64, 10, 10}), 0);
  }
  SUBCASE("odd sizes: windows that hang over the edge") {
    expect_same_as_aten(torch::randn({2, 5, 7, 9}), 1);
    expect_same_as_aten(torch::randn({2, 5, 7, 9}), 0);
  }
  SUBCASE("ties and zeros: the first maximum in the window takes the gradient") {
    expect_same_as_aten(torch::randint(-2, 3, {4, 8, 12, 12}).to(torch::kFloat32), 1);
    expect_same_as_aten(torch::zeros({1, 4, 6, 6}), 0);
  }
  SUBCASE("bf16 (the model's second pool under --precision bf16), ties included") {
    expect_same_as_aten(torch::randn({3, 64, 10, 10}).to(torch::kBFloat16), 0);
    expect_same_as_aten(torch::randn({2, 5, 7, 9}).to(torch::kBFloat16), 1);
    expect_same_as_aten(torch::randint(-2, 3, {4, 8, 12, 12}).to(torch::kBFloat16), 1);
  }
}

TEST_CASE("pool_relu leaves other layouts and dtypes to ATen") {
  const auto x = torch::randn({2, 3, 6, 6});  // NCHW
  CHECK(torch::equal(pool_relu(x, 1), torch::relu(torch::max_pool2d(x, 2, 2, 1))));
  const auto wide =
      torch::randn({2, 3, 6, 6}).to(torch::kFloat64).contiguous(torch::MemoryFormat::ChannelsLast);
  CHECK(torch::equal(pool_relu(wide, 0), torch::relu(torch::max_pool2d(wide, 2, 2, 0))));
}
