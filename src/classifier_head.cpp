#include "hogwild/classifier_head.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace hogwild {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

struct Shape {
  int64_t n, channels, positions, hidden, classes;
};

// x's channel row at one position, times the mask's: the dropout multiply (the mask is 0 or
// 2: exact in fp32 and bf16 alike, so this equals ATen's x * mask).
template <typename T>
inline float masked(const T* x, const float* mask, int64_t i) {
  return mask != nullptr ? float(x[i]) * mask[i] : float(x[i]);
}

// Per sample: the maximum over the positions of each channel, and where it was. The first
// maximum wins and a NaN replaces it, as in ATen's max-pool. Channels innermost, so the
// compares are vectors.
template <typename T>
__attribute__((target_clones("avx512f", "avx2", "default"))) void pool_sample(
    const T* __restrict__ x, const float* __restrict__ mask, int64_t positions, int64_t channels,
    float* __restrict__ best, int32_t* __restrict__ where) {
  for (int64_t c = 0; c < channels; ++c) {
    best[c] = masked(x, mask, c);
    where[c] = 0;
  }
  for (int64_t p = 1; p < positions; ++p) {
    for (int64_t c = 0; c < channels; ++c) {
      const float v = masked(x, mask, p * channels + c);
      const bool better = v > best[c] || v != v;
      best[c] = better ? v : best[c];
      where[c] = better ? int32_t(p) : where[c];
    }
  }
}

// out[o] += sum over i of w_t[i][o] * in[i], w_t being the layer's weight transposed
// ([inputs][outputs]): the inner loop runs over the outputs, a vector without reassociating
// any sum.
__attribute__((target_clones("avx512f", "avx2", "default"))) void add_product(
    const float* __restrict__ w_t, const float* __restrict__ in, int64_t inputs, int64_t outputs,
    float* __restrict__ out) {
  for (int64_t i = 0; i < inputs; ++i) {
    for (int64_t o = 0; o < outputs; ++o) out[o] += w_t[i * outputs + o] * in[i];
  }
}

// grad[r][c] += a[r] * b[c]: a weight's gradient, one sample's outer product at a time.
__attribute__((target_clones("avx512f", "avx2", "default"))) void add_outer(
    const float* __restrict__ a, const float* __restrict__ b, int64_t rows, int64_t columns,
    float* __restrict__ grad) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < columns; ++c) grad[r * columns + c] += a[r] * b[c];
  }
}

// One sample's input gradient: zero but where each channel's maximum was. Zero is all zero
// bits in fp32 and bf16 alike; only the 64 maxima are converted (bf16 rounded to nearest even).
template <typename T>
void scatter_sample(const float* __restrict__ grad_pooled, const int32_t* __restrict__ where,
                    const float* __restrict__ mask, int64_t positions, int64_t channels,
                    T* __restrict__ grad_x) {
  std::memset(static_cast<void*>(grad_x), 0, std::size_t(positions * channels) * sizeof(T));
  for (int64_t c = 0; c < channels; ++c) {
    const int64_t i = int64_t(where[c]) * channels + c;
    grad_x[i] = T(mask != nullptr ? grad_pooled[c] * mask[i] : grad_pooled[c]);
  }
}

// No mask is an empty tensor inside the autograd function (1.13's apply() refuses undefined
// inputs).
const float* mask_data(const torch::Tensor& mask) {
  return mask.numel() > 0 ? mask.data_ptr<float>() : nullptr;
}

// The pooled values, each linear layer's output (ReLU applied to the first) for all samples.
template <typename T>
void forward_kernel(const T* x, const float* mask, const Shape& s, const torch::Tensor& fc1_w,
                    const float* fc1_b, const torch::Tensor& fc2_w, const float* fc2_b,
                    float* pooled, int32_t* where, float* hidden, float* logits) {
  const auto w1_t = fc1_w.t().contiguous();  // [channels][hidden]
  const auto w2_t = fc2_w.t().contiguous();  // [hidden][classes]
  const float* w1 = w1_t.data_ptr<float>();
  const float* w2 = w2_t.data_ptr<float>();
  const int64_t per_sample = s.positions * s.channels;
  at::parallel_for(0, s.n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float* p = pooled + i * s.channels;
      pool_sample(x + i * per_sample, mask != nullptr ? mask + i * per_sample : nullptr,
                  s.positions, s.channels, p, where + i * s.channels);
      float* h = hidden + i * s.hidden;
      std::copy(fc1_b, fc1_b + s.hidden, h);
      add_product(w1, p, s.channels, s.hidden, h);
      for (int64_t j = 0; j < s.hidden; ++j) h[j] = std::max(h[j], 0.0f);
      float* out = logits + i * s.classes;
      std::copy(fc2_b, fc2_b + s.classes, out);
      add_product(w2, h, s.hidden, s.classes, out);
    }
  });
}

// fp32 weights of matching shapes, a 4-d fp32 or bf16 input and an fp32 mask of its shape.
bool ours(const torch::Tensor& x, const torch::Tensor& mask, const torch::Tensor& fc1_w,
          const torch::Tensor& fc1_b, const torch::Tensor& fc2_w, const torch::Tensor& fc2_b) {
  const auto is_fp32 = [](const torch::Tensor& t) {
    return t.is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous();
  };
  return x.dim() == 4 && x.is_cpu() &&
         (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16) &&
         x.numel() > 0 &&
         (!mask.defined() ||
          (mask.is_cpu() && mask.scalar_type() == torch::kFloat32 && mask.sizes() == x.sizes())) &&
         is_fp32(fc1_w) && is_fp32(fc1_b) && is_fp32(fc2_w) && is_fp32(fc2_b) && fc1_w.dim() == 2 &&
         fc1_w.size(1) == x.size(1) && fc1_b.dim() == 1 && fc1_b.size(0) == fc1_w.size(0) &&
         fc2_w.dim() == 2 && fc2_w.size(1) == fc1_w.size(0) && fc2_b.dim() == 1 &&
         fc2_b.size(0) == fc2_w.size(0);
}

struct ClassifierHead : torch::autograd::Function<ClassifierHead> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& mask, const torch::Tensor& fc1_w,
                               const torch::Tensor& fc1_b, const torch::Tensor& fc2_w,
                               const torch::Tensor& fc2_b) {
    RECORD_FUNCTION("hogwild::classifier_head", std::vector<c10::IValue>());
    const Shape s{x.size(0), x.size(1), x.size(2) * x.size(3), fc1_w.size(0), fc2_w.size(0)};
    const auto fp32 = x.options().dtype(torch::kFloat32);
    auto pooled = torch::empty({s.n, s.channels}, fp32);
    auto where = torch::empty({s.n, s.channels}, fp32.dtype(torch::kInt32));
    auto hidden = torch::empty({s.n, s.hidden}, fp32);
    auto logits = torch::empty({s.n, s.classes}, fp32);
    const auto run = [&](const auto* data) {
      forward_kernel(data, mask_data(mask), s, fc1_w, fc1_b.data_ptr<float>(), fc2_w,
                     fc2_b.data_ptr<float>(), pooled.data_ptr<float>(), where.data_ptr<int32_t>(),
                     hidden.data_ptr<float>(), logits.data_ptr<float>());
    };
    if (x.scalar_type() == torch::kFloat32) {
      run(x.data_ptr<float>());
    } else {
      run(x.data_ptr<at::BFloat16>());
    }
    ctx->save_for_backward({pooled, where, hidden, mask, fc1_w, fc2_w});
    ctx->saved_data["shape"] = x.sizes().vec();
    ctx->saved_data["bf16"] = x.scalar_type() == torch::kBFloat16;
    return logits;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    RECORD_FUNCTION("hogwild::classifier_head_backward", std::vector<c10::IValue>());
    const auto saved = ctx->get_saved_variables();
    const auto &pooled = saved[0], &where = saved[1], &hidden = saved[2], &mask = saved[3];
    const auto &fc1_w = saved[4], &fc2_w = saved[5];
    const auto shape = ctx->saved_data["shape"].toIntVector();
    const Shape s{shape[0], shape[1], shape[2] * shape[3], fc1_w.size(0), fc2_w.size(0)};
    const auto grad_logits = grads[0].to(torch::kFloat32).contiguous();
    const auto fp32 = pooled.options();
    auto grad_w1 = torch::zeros({s.hidden, s.channels}, fp32);
    auto grad_b1 = torch::zeros({s.hidden}, fp32);
    auto grad_w2 = torch::zeros({s.classes, s.hidden}, fp32);
    auto grad_b2 = torch::zeros({s.classes}, fp32);
    auto grad_pooled = torch::zeros({s.n, s.channels}, fp32);
    const float* g = grad_logits.data_ptr<float>();
    const float* p = pooled.data_ptr<float>();
    const float* h = hidden.data_ptr<float>();
    const float* w1 = fc1_w.data_ptr<float>();  // [hidden][channels]: the transpose of forward's
    const float* w2 = fc2_w.data_ptr<float>();
    float* gp = grad_pooled.data_ptr<float>();
    float* gw1 = grad_w1.data_ptr<float>();
    float* gb1 = grad_b1.data_ptr<float>();
    float* gw2 = grad_w2.data_ptr<float>();
    float* gb2 = grad_b2.data_ptr<float>();
    std::vector<float> grad_hidden(std::size_t(s.hidden));
    // One sample at a time (a few thousand multiply-adds each): the weight gradients are
    // sums over the batch, kept in one thread.
    for (int64_t i = 0; i < s.n; ++i) {
      const float* gi = g + i * s.classes;
      const float* hi = h + i * s.hidden;
      for (int64_t k = 0; k < s.classes; ++k) gb2[k] += gi[k];
      add_outer(gi, hi, s.classes, s.hidden, gw2);
      std::fill(grad_hidden.begin(), grad_hidden.end(), 0.0f);
      add_product(w2, gi, s.classes, s.hidden, grad_hidden.data());
      for (int64_t j = 0; j < s.hidden; ++j) {
        grad_hidden[std::size_t(j)] = hi[j] > 0.0f ? grad_hidden[std::size_t(j)] : 0.0f;
        gb1[j] += grad_hidden[std::size_t(j)];
      }
      add_outer(grad_hidden.data(), p + i * s.channels, s.hidden, s.channels, gw1);
      add_product(w1, grad_hidden.data(), s.hidden, s.channels, gp + i * s.channels);
    }
    const bool bf16 = ctx->saved_data["bf16"].toBool();
    auto grad_x = torch::empty(shape, fp32.dtype(bf16 ? torch::kBFloat16 : torch::kFloat32)
                                          .memory_format(torch::MemoryFormat::ChannelsLast));
    const float* m = mask_data(mask);
    const int32_t* maximum_at = where.data_ptr<int32_t>();
    const int64_t per_sample = s.positions * s.channels;
    const auto scatter = [&](auto* out) {
      at::parallel_for(0, s.n, 16, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          scatter_sample(gp + i * s.channels, maximum_at + i * s.channels,
                         m != nullptr ? m + i * per_sample : nullptr, s.positions, s.channels,
                         out + i * per_sample);
        }
      });
    };
    if (bf16) {
      scatter(grad_x.data_ptr<at::BFloat16>());
    } else {
      scatter(grad_x.data_ptr<float>());
    }
    return {grad_x, torch::Tensor(), grad_w1, grad_b1, grad_w2, grad_b2};
  }
};

}  // namespace

torch::Tensor classifier_head_aten(const torch::Tensor& x, const torch::Tensor& dropout_mask,
                                   const torch::Tensor& fc1_weight, const torch::Tensor& fc1_bias,
                                   const torch::Tensor& fc2_weight, const torch::Tensor& fc2_bias) {
  auto y = dropout_mask.defined() ? x * dropout_mask.to(x.scalar_type()) : x;
  y = torch::max_pool2d(y, {x.size(2), x.size(3)}, /*stride=*/1).flatten(/*start_dim=*/1);
  y = torch::relu(torch::linear(y, fc1_weight, fc1_bias));
  return torch::linear(y, fc2_weight, fc2_bias);
}

torch::Tensor classifier_head(const torch::Tensor& x, const torch::Tensor& dropout_mask,
                              const torch::Tensor& fc1_weight, const torch::Tensor& fc1_bias,
                              const torch::Tensor& fc2_weight, const torch::Tensor& fc2_bias) {
  if (!ours(x, dropout_mask, fc1_weight, fc1_bias, fc2_weight, fc2_bias)) {
    return classifier_head_aten(x, dropout_mask, fc1_weight, fc1_bias, fc2_weight, fc2_bias);
  }
  // Channels-last, as the model's activations and masks already are (a copy otherwise).
  const auto channels_last = torch::MemoryFormat::ChannelsLast;
  const auto mask =
      dropout_mask.defined() ? dropout_mask.contiguous(channels_last) : torch::empty({0});
  return ClassifierHead::apply(x.contiguous(channels_last), mask, fc1_weight, fc1_bias, fc2_weight,
                               fc2_bias);
}

}  // namespace hogwild
