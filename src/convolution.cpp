#include "hogwild/convolution.h"

#include <ATen/record_function.h>
#include <torch/torch.h>

#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>

namespace hogwild {
namespace {

using dnnl::memory;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;
using Tag = memory::format_tag;
using Type = memory::data_type;

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

struct Shape {
  int64_t n, channels, h, w, filters, r, s, padding;
  bool bf16;
  memory::dims src() const { return {n, channels, h, w}; }
  memory::dims weights() const { return {filters, channels, r, s}; }
  memory::dims dst() const {
    return {n, filters, h + 2 * padding - r + 1, w + 2 * padding - s + 1};
  }
  Type type() const { return bf16 ? Type::bf16 : Type::f32; }
  auto key() const { return std::tie(n, channels, h, w, filters, r, s, padding, bf16); }
  bool operator<(const Shape& o) const { return key() < o.key(); }
};

// One shape's primitives and the weights in their layouts. The weight reorders read the
// caller's fp32 plain weights through `user_weights`, whose data handle is set per call.
struct Primitives {
  explicit Primitives(const Shape& shape) {
    const auto& engine = cpu_engine();
    const memory::dims stride{1, 1}, pad{shape.padding, shape.padding};
    const memory::desc src(shape.src(), shape.type(), Tag::nhwc);
    const memory::desc dst(shape.dst(), shape.type(), Tag::nhwc);
    const memory::desc any_weights(shape.weights(), shape.type(), Tag::any);
    const memory::desc bias({shape.filters}, Type::f32, Tag::a);
    const memory::desc plain_weights(shape.weights(), Type::f32, Tag::oihw);
    const dnnl::convolution_forward::primitive_desc forward_pd(
        {dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src, any_weights,
         bias, dst, stride, pad, pad},
        engine);
    const dnnl::convolution_backward_data::primitive_desc data_pd(
        {dnnl::algorithm::convolution_direct, src, any_weights, dst, stride, pad, pad}, engine,
        forward_pd);
    // The weight gradient in fp32 whatever the compute type (it feeds the fp32 update).
    const dnnl::convolution_backward_weights::primitive_desc weights_pd(
        {dnnl::algorithm::convolution_direct, src,
         memory::desc(shape.weights(), Type::f32, Tag::any), bias, dst, stride, pad, pad},
        engine, forward_pd);
    forward = dnnl::convolution_forward(forward_pd);
    backward_data = dnnl::convolution_backward_data(data_pd);
    backward_weights = dnnl::convolution_backward_weights(weights_pd);
    user_weights = memory(plain_weights, engine, DNNL_MEMORY_NONE);
    forward_weights = memory(forward_pd.weights_desc(), engine);
    data_weights = memory(data_pd.weights_desc(), engine);
    weights_gradient = memory(weights_pd.diff_weights_desc(), engine);
    to_forward = dnnl::reorder(user_weights, forward_weights);
    to_data = dnnl::reorder(user_weights, data_weights);
    from_gradient = dnnl::reorder(weights_gradient, user_weights);
    src_memory = memory(src, engine, DNNL_MEMORY_NONE);
    dst_memory = memory(dst, engine, DNNL_MEMORY_NONE);
    bias_memory = memory(bias, engine, DNNL_MEMORY_NONE);
  }

  dnnl::convolution_forward forward;
  dnnl::convolution_backward_data backward_data;
  dnnl::convolution_backward_weights backward_weights;
  memory user_weights, forward_weights, data_weights, weights_gradient;
  dnnl::reorder to_forward, to_data, from_gradient;
  memory src_memory, dst_memory, bias_memory;  // data handles set per call
};

// Per process (a worker is one); a step needs at most two shapes (the full batch and the
// epoch's last, shorter one) and evaluation one more.
Primitives& primitives_for(const Shape& shape) {
  thread_local std::map<Shape, std::unique_ptr<Primitives>> cache;
  auto& slot = cache[shape];
  if (!slot) slot = std::make_unique<Primitives>(shape);
  return *slot;
}

void* data(const torch::Tensor& t) { return t.data_ptr(); }

Shape shape_of(const torch::Tensor& x, const torch::Tensor& weight, int64_t padding, bool bf16) {
  return {x.size(0),      x.size(1),      x.size(2), x.size(3), weight.size(0),
          weight.size(2), weight.size(3), padding,   bf16};
}

struct Convolution : torch::autograd::Function<Convolution> {
  // `x` is already in the compute type and channels-last.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               int64_t padding, bool bf16) {
    RECORD_FUNCTION("hogwild::convolution", std::vector<c10::IValue>());
    const Shape shape = shape_of(x, weight, padding, bf16);
    auto& p = primitives_for(shape);
    const auto out_shape = shape.dst();
    auto y = torch::empty(out_shape, x.options().memory_format(torch::MemoryFormat::ChannelsLast));
    auto& stream = cpu_stream();
    p.user_weights.set_data_handle(data(weight));
    p.to_forward.execute(stream, p.user_weights, p.forward_weights);
    p.src_memory.set_data_handle(data(x));
    p.bias_memory.set_data_handle(data(bias));
    p.dst_memory.set_data_handle(data(y));
    p.forward.execute(stream, {{DNNL_ARG_SRC, p.src_memory},
                               {DNNL_ARG_WEIGHTS, p.forward_weights},
                               {DNNL_ARG_BIAS, p.bias_memory},
                               {DNNL_ARG_DST, p.dst_memory}});
    stream.wait();
    ctx->save_for_backward({x, weight});
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["bf16"] = bf16;
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    RECORD_FUNCTION("hogwild::convolution_backward", std::vector<c10::IValue>());
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1];
    const bool bf16 = ctx->saved_data["bf16"].toBool();
    const Shape shape = shape_of(x, weight, ctx->saved_data["padding"].toInt(), bf16);
    auto& p = primitives_for(shape);
    const auto grad_y = grads[0].to(x.scalar_type()).contiguous(torch::MemoryFormat::ChannelsLast);
    auto grad_x = torch::empty_like(x, torch::MemoryFormat::ChannelsLast);
    const auto fp32 = weight.options();
    auto grad_weight = torch::empty(weight.sizes(), fp32);
    auto grad_bias = torch::empty({shape.filters}, fp32);
    auto& stream = cpu_stream();
    p.user_weights.set_data_handle(data(weight));
    p.to_data.execute(stream, p.user_weights, p.data_weights);
    p.src_memory.set_data_handle(data(grad_x));
    p.dst_memory.set_data_handle(data(grad_y));
    p.backward_data.execute(stream, {{DNNL_ARG_DIFF_DST, p.dst_memory},
                                     {DNNL_ARG_WEIGHTS, p.data_weights},
                                     {DNNL_ARG_DIFF_SRC, p.src_memory}});
    p.src_memory.set_data_handle(data(x));
    p.bias_memory.set_data_handle(data(grad_bias));
    p.backward_weights.execute(stream, {{DNNL_ARG_DIFF_DST, p.dst_memory},
                                        {DNNL_ARG_SRC, p.src_memory},
                                        {DNNL_ARG_DIFF_WEIGHTS, p.weights_gradient},
                                        {DNNL_ARG_DIFF_BIAS, p.bias_memory}});
    p.user_weights.set_data_handle(data(grad_weight));
    p.from_gradient.execute(stream, p.weights_gradient, p.user_weights);
    stream.wait();
    return {grad_x, grad_weight, grad_bias, torch::Tensor(), torch::Tensor()};
  }
};

bool ours(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
          int64_t padding) {
  const auto fp32_contiguous = [](const torch::Tensor& t) {
    return t.defined() && t.scalar_type() == torch::kFloat32 && t.is_contiguous() && t.is_cpu();
  };
  const bool x_type = x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16;
  return x.dim() == 4 && x.is_cpu() && x_type && fp32_contiguous(weight) && fp32_contiguous(bias) &&
         weight.dim() == 4 && weight.size(1) == x.size(1) && bias.dim() == 1 &&
         bias.size(0) == weight.size(0) && padding >= 0 && x.size(0) > 0 &&
         x.size(2) + 2 * padding >= weight.size(2) && x.size(3) + 2 * padding >= weight.size(3);
}

}  // namespace

torch::Tensor convolution(const torch::Tensor& x, const torch::Tensor& weight,
                          const torch::Tensor& bias, int64_t padding, Precision compute) {
  const bool bf16 = compute == Precision::kBf16;
  if (!ours(x, weight, bias, padding)) {
    const auto type = x.scalar_type();
    return torch::conv2d(x, weight.to(type), bias.to(type), /*stride=*/1, padding);
  }
  const auto compute_type = bf16 ? torch::kBFloat16 : torch::kFloat32;
  const auto input = x.to(compute_type).contiguous(torch::MemoryFormat::ChannelsLast);
  // The cast (an ATen operator, so autograd casts the gradient back to x's type) and the
  // layout are no-ops for the model's activations.
  return Convolution::apply(input, weight, bias, padding, bf16);
}

}  // namespace hogwild
