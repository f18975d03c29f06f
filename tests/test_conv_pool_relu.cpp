#include <ATen/Parallel.h>

#include "hogwild/conv_pool_relu.h"
#include "torch_doctest.h"  // first: see there

using namespace hogwild;

namespace {

torch::Tensor aten_block(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                         int64_t conv_padding, int64_t pool_padding) {
  return torch::relu(
      torch::max_pool2d(torch::conv2d(x, w, b, 1, conv_padding), 2, 2, pool_padding));
}

// Small integers everywhere: every sum is exact in any order, so ours and ATen's must agree
// bit for bit, ties in the pool (many, here) included.
void expect_same_as_aten(const torch::Tensor& image, int64_t kernel, int64_t conv_padding,
                         int64_t pool_padding) {
  const auto w1 =
      torch::randint(-2, 3, {16, 1, kernel, kernel}).to(torch::kFloat32).requires_grad_(true);
  const auto b1 = torch::randint(-2, 3, {16}).to(torch::kFloat32).requires_grad_(true);
  const auto w2 = w1.detach().clone().requires_grad_(true);
  const auto b2 = b1.detach().clone().requires_grad_(true);
  const auto ours = conv_pool_relu(image, w1, b1, conv_padding, pool_padding);
  const auto theirs = aten_block(image, w2, b2, conv_padding, pool_padding);
  REQUIRE(ours.sizes() == theirs.sizes());
  CHECK(ours.is_contiguous(torch::MemoryFormat::ChannelsLast));
  CHECK(torch::equal(ours, theirs));
  const auto upstream = torch::randint(-3, 4, theirs.sizes()).to(torch::kFloat32);
  ours.backward(upstream);
  theirs.backward(upstream);
  CHECK(torch::equal(w1.grad(), w2.grad()));
  CHECK(torch::equal(b1.grad(), b2.grad()));
}

torch::Tensor small_integers(at::IntArrayRef shape) {
  return torch::randint(-3, 4, shape).to(torch::kFloat32);
}

}  // namespace

TEST_CASE("conv_pool_relu equals ATen's conv2d, max-pool and ReLU: values and weight gradients") {
  torch::manual_seed(5);
  SUBCASE("the model's first block: 28x28, 5x5, padding 1, pool padding 1") {
    expect_same_as_aten(small_integers({3, 1, 28, 28}), 5, 1, 1);
  }
  SUBCASE("3x3, no padding: rows that are not whole tiles, odd sizes the pool cuts short") {
    expect_same_as_aten(small_integers({2, 1, 8, 14}), 3, 0, 0);
    expect_same_as_aten(small_integers({2, 1, 8, 14}), 3, 0, 1);
  }
  SUBCASE("one pooled output; a border wider than the kernel's reach") {
    expect_same_as_aten(small_integers({1, 1, 6, 6}), 5, 0, 0);
    expect_same_as_aten(small_integers({2, 1, 4, 6}), 3, 2, 1);
  }
  SUBCASE("the batch split over two threads sums to the same gradient") {
    const int threads = at::get_num_threads();
    at::set_num_threads(2);
    expect_same_as_aten(small_integers({5, 1, 28, 28}), 5, 1, 1);
    at::set_num_threads(threads);
  }
}

TEST_CASE("conv_pool_relu on real-valued images: the same values to rounding") {
  torch::manual_seed(7);
  const auto image = torch::rand({4, 1, 28, 28});
  const auto w = torch::randn({16, 1, 5, 5}) * 0.2, b = torch::randn({16}) * 0.1;
  CHECK(torch::allclose(conv_pool_relu(image, w, b, 1, 1), aten_block(image, w, b, 1, 1), 1e-5,
                        1e-5));
}

TEST_CASE("conv_pool_relu leaves other shapes and an image that needs a gradient to ATen") {
  torch::manual_seed(6);
  const auto image = torch::randn({2, 1, 9, 9});
  SUBCASE("8 filters") {
    const auto w = torch::randn({8, 1, 3, 3}), b = torch::randn({8});
    CHECK(torch::equal(conv_pool_relu(image, w, b, 1, 1), aten_block(image, w, b, 1, 1)));
  }
  SUBCASE("the image's gradient") {
    const auto x = image.clone().requires_grad_(true);
    const auto w = torch::randn({16, 1, 3, 3}), b = torch::randn({16});
    conv_pool_relu(x, w, b, 1, 1).sum().backward();
    REQUIRE(x.grad().defined());
    const auto y = image.clone().requires_grad_(true);
    aten_block(y, w, b, 1, 1).sum().backward();
    CHECK(torch::equal(x.grad(), y.grad()));
  }
}
