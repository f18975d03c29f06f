#include "hogwild/convolution.h"
#include "torch_doctest.h"  // first: see there

using namespace hogwild;

namespace {

struct Result {
  torch::Tensor y, grad_x, grad_weight, grad_bias;
};

// Forward and backward with `upstream` as the output's gradient; `ours` picks convolution()
// (computing in `compute`) or ATen's conv2d in fp32.
Result run(bool ours, const torch::Tensor& input, const torch::Tensor& weight_value,
           const torch::Tensor& bias_value, int64_t padding, Precision compute,
           const torch::Tensor& upstream) {
  const auto x = input.clone().requires_grad_(true);
  const auto weight = weight_value.clone().requires_grad_(true);
  const auto bias = bias_value.clone().requires_grad_(true);
  const auto y = ours ? convolution(x, weight, bias, padding, compute)
                      : torch::conv2d(x, weight, bias, /*stride=*/1, padding);
  y.backward(upstream.to(y.scalar_type()));
  return {y.detach(), x.grad(), weight.grad(), bias.grad()};
}

bool close(const torch::Tensor& a, const torch::Tensor& b, double rtol, double atol) {
  return a.sizes() == b.sizes() &&
         torch::allclose(a.to(torch::kFloat32), b.to(torch::kFloat32), rtol, atol);
}

// fp32: the same values and gradients as ATen's conv2d, up to the order of fp32 sums.
void expect_fp32_as_aten(const torch::Tensor& x, int64_t filters, int64_t kernel, int64_t padding) {
  const auto weight = torch::randn({filters, x.size(1), kernel, kernel}) * 0.2;
  const auto bias = torch::randn({filters});
  const auto out = torch::conv2d(x, weight, bias, 1, padding);
  const auto upstream = torch::randn(out.sizes());
  const auto a = run(true, x, weight, bias, padding, Precision::kFp32, upstream);
  const auto b = run(false, x, weight, bias, padding, Precision::kFp32, upstream);
  CHECK((a.y.scalar_type() == torch::kFloat32));
  CHECK(a.y.is_contiguous(torch::MemoryFormat::ChannelsLast));
  CHECK(close(a.y, b.y, 1e-4, 1e-4));
  CHECK(close(a.grad_x, b.grad_x, 1e-4, 1e-4));
  CHECK((a.grad_x.scalar_type() == torch::kFloat32));
  CHECK(close(a.grad_weight, b.grad_weight, 1e-4, 1e-3));
  CHECK(a.grad_weight.is_contiguous());
  CHECK(close(a.grad_bias, b.grad_bias, 1e-4, 1e-3));
}

}  // namespace

TEST_CASE("convolution in fp32 equals ATen's conv2d, values and gradients") {
  torch::manual_seed(5);
  const auto channels_last = torch::MemoryFormat::ChannelsLast;
  SUBCASE("the model's second convolution: 16 -> 64 channels, 5x5, 14x14") {
    expect_fp32_as_aten(torch::randn({3, 16, 14, 14}).contiguous(channels_last), 64, 5, 0);
  }
  SUBCASE("one sample; odd sizes with padding; an NCHW input") {
    expect_fp32_as_aten(torch::randn({1, 16, 14, 14}).contiguous(channels_last), 64, 5, 0);
    expect_fp32_as_aten(torch::randn({2, 5, 7, 9}).contiguous(channels_last), 6, 3, 1);
    expect_fp32_as_aten(torch::randn({2, 5, 7, 9}), 6, 3, 1);
  }
}

TEST_CASE("convolution in bf16: bf16 output, fp32 weight gradients, close to fp32 on bf16 inputs") {
  torch::manual_seed(6);
  const auto round = [](const torch::Tensor& t) {
    return t.to(torch::kBFloat16).to(torch::kFloat32);
  };
  const auto x = round(torch::randn({3, 16, 14, 14})).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto weight = round(torch::randn({64, 16, 5, 5}) * 0.1);
  const auto bias = torch::randn({64});
  const auto upstream = round(torch::randn({3, 64, 10, 10}));
  const auto reference = run(false, x, weight, bias, 0, Precision::kFp32, upstream);
  SUBCASE("from a bf16 input: every gradient but the weights' in bf16") {
    const auto a = run(true, x.to(torch::kBFloat16), weight, bias, 0, Precision::kBf16, upstream);
    CHECK((a.y.scalar_type() == torch::kBFloat16));
    CHECK(a.y.is_contiguous(torch::MemoryFormat::ChannelsLast));
    CHECK((a.grad_x.scalar_type() == torch::kBFloat16));
    // One bf16 rounding of an fp32 sum: 2^-8 relative.
    CHECK(close(a.y, reference.y, 1.0 / 128, 1e-2));
    CHECK(close(a.grad_x, reference.grad_x, 1.0 / 128, 1e-2));
    CHECK((a.grad_weight.scalar_type() == torch::kFloat32));
    CHECK(close(a.grad_weight, reference.grad_weight, 1e-3, 1e-2));
    CHECK(close(a.grad_bias, reference.grad_bias, 1e-3, 1e-2));
  }
  SUBCASE("from an fp32 input: its gradient comes back in fp32") {
    const auto a = run(true, x, weight, bias, 0, Precision::kBf16, upstream);
    CHECK((a.y.scalar_type() == torch::kBFloat16));
    CHECK((a.grad_x.scalar_type() == torch::kFloat32));
    CHECK(close(a.y, reference.y, 1.0 / 128, 1e-2));
    CHECK(close(a.grad_x, reference.grad_x, 1.0 / 128, 1e-2));
  }
}

TEST_CASE("convolution reads the weights on every call, as Hogwild's other workers write them") {
  torch::manual_seed(7);
  const auto x = torch::randn({2, 16, 14, 14}).contiguous(torch::MemoryFormat::ChannelsLast);
  auto weight = torch::randn({64, 16, 5, 5}) * 0.1;
  const auto bias = torch::randn({64});
  for (const auto compute : {Precision::kFp32, Precision::kBf16}) {
    const std::string name = precision_name(compute);
    CAPTURE(name);
    const auto before = convolution(x, weight, bias, 0, compute);
    weight.mul_(-2.0);  // in place: the same memory, new values
    const auto after = convolution(x, weight, bias, 0, compute).to(torch::kFloat32);
    CHECK(close(after, torch::conv2d(x, weight, bias), 2.0 / 128, 1e-1));
    CHECK_FALSE(close(after, before, 2.0 / 128, 1e-1));
  }
}

TEST_CASE("convolution keeps one set of primitives per shape: batches of changing size") {
  torch::manual_seed(8);
  const auto weight = torch::randn({8, 4, 3, 3});
  const auto bias = torch::randn({8});
  for (const int64_t n : {3, 2, 3, 1}) {
    CAPTURE(n);
    const auto x = torch::randn({n, 4, 6, 6});
    CHECK(close(convolution(x, weight, bias, 1, Precision::kFp32),
                torch::conv2d(x, weight, bias, 1, 1), 1e-4, 1e-4));
  }
}

TEST_CASE("convolution leaves other dtypes and weights to ATen") {
  torch::manual_seed(9);
  const auto x = torch::randn({2, 3, 6, 6}, torch::kFloat64);
  const auto weight = torch::randn({4, 3, 3, 3});
  const auto bias = torch::randn({4});
  const auto y = convolution(x, weight, bias, 1, Precision::kFp32);
  CHECK((y.scalar_type() == torch::kFloat64));
  CHECK(torch::allclose(
      y, torch::conv2d(x, weight.to(torch::kFloat64), bias.to(torch::kFloat64), 1, 1)));
  // Weights that are not plain fp32 (a transposed view).
  const auto square = torch::randn({3, 3, 3, 3});
  const auto xs = torch::randn({1, 3, 5, 5});
  const auto view = square.transpose(0, 1);
  CHECK(torch::allclose(convolution(xs, view, torch::zeros({3}), 0, Precision::kFp32),
                        torch::conv2d(xs, view, torch::zeros({3}))));
}
