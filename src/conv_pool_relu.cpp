#include "hogwild/conv_pool_relu.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "hogwild/max_pool_window.h"

namespace hogwild {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

constexpr int64_t kChannels = 16;
// One pixel's channels (or one tap's weights): one register with AVX-512, two with AVX2.
// may_alias and aligned(4): read from and written to float and int32 arrays.
typedef float Channels
    __attribute__((vector_size(kChannels * sizeof(float)), aligned(4), may_alias));
typedef int32_t Positions
    __attribute__((vector_size(kChannels * sizeof(int32_t)), aligned(4), may_alias));
constexpr int64_t kTile = 8;  // convolution outputs summed at once in the forward

struct Geometry {
  int64_t n, h, w, kernel, conv_padding, pool_padding;
  int64_t ch, cw;  // the convolution's output
  int64_t oh, ow;  // the pool's output
  Geometry(const torch::Tensor& x, int64_t k, int64_t cp, int64_t pp)
      : n(x.size(0)),
        h(x.size(2)),
        w(x.size(3)),
        kernel(k),
        conv_padding(cp),
        pool_padding(pp),
        ch(h + 2 * cp - k + 1),
        cw(w + 2 * cp - k + 1),
        oh(pooled_size(ch, pp)),
        ow(pooled_size(cw, pp)) {}
  // The zero-padded image: rows long enough for whole tiles past the last output.
  int64_t padded_w() const { return (cw + kTile - 1) / kTile * kTile + kernel - 1; }
  int64_t padded_h() const { return h + 2 * conv_padding; }
  // Window position k (0..3, row-major) of pooled output (py, px) in the convolution's
  // output; outside it where the window hangs over the edge.
  int64_t conv_y(int64_t py, int k) const { return window_y(py, pool_padding, k); }
  int64_t conv_x(int64_t px, int k) const { return window_x(px, pool_padding, k); }
  bool inside(int64_t y, int64_t x) const { return y >= 0 && y < ch && x >= 0 && x < cw; }
};

// Image `n` with its zero border, into `padded` (padded_h x padded_w floats).
void pad_image(const float* x, const Geometry& g, int64_t n, float* padded) {
  const int64_t pw = g.padded_w();
  std::fill(padded, padded + g.padded_h() * pw, 0.0f);
  for (int64_t y = 0; y < g.h; ++y) {
    std::memcpy(padded + (y + g.conv_padding) * pw + g.conv_padding, x + (n * g.h + y) * g.w,
                std::size_t(g.w) * sizeof(float));
  }
}

// taps[k][c] = weight[c][0][k]: a tap's 16 channels side by side.
std::vector<float> taps_by_channel(const torch::Tensor& weight, int64_t taps) {
  const float* w = weight.data_ptr<float>();
  std::vector<float> t(std::size_t(taps * kChannels));
  for (int64_t c = 0; c < kChannels; ++c) {
    for (int64_t k = 0; k < taps; ++k) t[std::size_t(k * kChannels + c)] = w[c * taps + k];
  }
  return t;
}

// The kernels: compiled for AVX-512, AVX2 and plain x86-64, picked at load time; without
// GCC's predictive commoning, which kept the last pixel's inputs in spilled registers
// instead of loading them again from L1 (40 more instructions per pixel).
#define HOGWILD_CONV_KERNEL                                                             \
  __attribute__((target_clones("avx512f", "avx2", "default"), optimize("no-predictive-" \
                                                                       "commoning")))

// One row of convolution outputs, kTile pixels at a time (the tile's sums stay in
// registers); the last tile reads the padded row's spare zeros and stores only the pixels
// that exist.
template <int K>
HOGWILD_CONV_KERNEL void conv_row(const float* padded, int64_t pw, int64_t cw, const float* taps,
                                  const float* bias, float* out) {
  const Channels b = *reinterpret_cast<const Channels*>(bias);
  for (int64_t x0 = 0; x0 < cw; x0 += kTile) {
    Channels sum[kTile];
#pragma GCC unroll 8
    for (int j = 0; j < kTile; ++j) sum[j] = b;
    for (int ky = 0; ky < K; ++ky) {
      const float* row = padded + ky * pw + x0;
#pragma GCC unroll 5
      for (int kx = 0; kx < K; ++kx) {
        const Channels w = *reinterpret_cast<const Channels*>(taps + (ky * K + kx) * kChannels);
#pragma GCC unroll 8
        for (int j = 0; j < kTile; ++j) sum[j] += row[j + kx] * w;
      }
    }
    Channels* to = reinterpret_cast<Channels*>(out + x0 * kChannels);
    if (x0 + kTile <= cw) {
#pragma GCC unroll 8
      for (int j = 0; j < kTile; ++j) to[j] = sum[j];
    } else {
      for (int64_t j = 0; j < cw - x0; ++j) to[j] = sum[j];
    }
  }
}

// One row of pooled outputs from two convolution rows (`top`, `bottom`: cw + 2 pixels each,
// the first and last -inf, so that window columns -1 and cw read -inf), by the tie rule of
// max_pool_window.h.
HOGWILD_CONV_KERNEL void pool_row(const float* top, const float* bottom, int64_t ow,
                                  int64_t pool_padding, float* out, int32_t* where) {
  const Channels zero = {};
  for (int64_t px = 0; px < ow; ++px) {
    const int64_t at = (window_x(px, pool_padding, 0) + 1) * kChannels;  // +1: the -inf pixel
    const Channels v0 = *reinterpret_cast<const Channels*>(top + at);
    const Channels v1 = *reinterpret_cast<const Channels*>(top + at + kChannels);
    const Channels v2 = *reinterpret_cast<const Channels*>(bottom + at);
    const Channels v3 = *reinterpret_cast<const Channels*>(bottom + at + kChannels);
    const Positions second = v1 > v0, fourth = v3 > v2;  // -1 where true
    const Channels m01 = second ? v1 : v0, m23 = fourth ? v3 : v2;
    const Positions lower = m23 > m01;
    const Channels best = lower ? m23 : m01;
    Positions k;
    position_of_maximum(second, fourth, lower, k);
    const Positions positive = best > zero;
    *reinterpret_cast<Channels*>(out + px * kChannels) = positive ? best : zero;
    *reinterpret_cast<Positions*>(where + px * kChannels) = positive ? k : -1;
  }
}

// Adds image n's weight and bias gradients to sums[0 .. K*K) (taps) and sums[K*K] (bias).
// The convolution's gradient at window position k is the pooled gradient where the window's
// maximum was at k, else 0: rebuilt in a register, never stored. Every tap's sum stays in a
// register over the whole image (K*K + 4 registers for K = 5).
template <int K>
HOGWILD_CONV_KERNEL void weight_grad_image(const float* padded, const Geometry& g,
                                           const float* grad_out, const int32_t* where,
                                           float* sums) {
  const int64_t pw = g.padded_w();
  Channels tap[K * K + 1];
#pragma GCC unroll 26
  for (int k = 0; k <= K * K; ++k) tap[k] = reinterpret_cast<const Channels*>(sums)[k];
  const Channels zero = {};
  for (int64_t py = 0; py < g.oh; ++py) {
    for (int64_t px = 0; px < g.ow; ++px) {
      const int64_t o = (py * g.ow + px) * kChannels;
      const Channels grad = *reinterpret_cast<const Channels*>(grad_out + o);
      const Positions max_at = *reinterpret_cast<const Positions*>(where + o);
      for (int k = 0; k < 4; ++k) {
        const int64_t y = g.conv_y(py, k), x = g.conv_x(px, k);
        if (!g.inside(y, x)) continue;
        const Channels gk = max_at == k ? grad : zero;
        const float* window = padded + y * pw + x;
        tap[K * K] += gk;
#pragma GCC unroll 5
        for (int ky = 0; ky < K; ++ky) {
#pragma GCC unroll 5
          for (int kx = 0; kx < K; ++kx) tap[ky * K + kx] += window[ky * pw + kx] * gk;
        }
      }
    }
  }
#pragma GCC unroll 26
  for (int k = 0; k <= K * K; ++k) reinterpret_cast<Channels*>(sums)[k] = tap[k];
}

template <int K>
void forward_kernel(const float* x, const float* taps, const float* bias, float* out,
                    int32_t* where, const Geometry& g) {
  at::parallel_for(0, g.n, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> padded(std::size_t(g.padded_h() * g.padded_w()));
    // Two convolution rows, each with a -inf pixel on either side (pool_row).
    const int64_t row = (g.cw + 2) * kChannels;
    std::vector<float> rows(std::size_t(2 * row), -std::numeric_limits<float>::infinity());
    for (int64_t n = begin; n < end; ++n) {
      pad_image(x, g, n, padded.data());
      for (int64_t py = 0; py < g.oh; ++py) {
        for (int r = 0; r < 2; ++r) {
          const int64_t y = g.conv_y(py, 2 * r);
          float* to = rows.data() + r * row;
          if (y >= 0 && y < g.ch) {
            conv_row<K>(padded.data() + y * g.padded_w(), g.padded_w(), g.cw, taps, bias,
                        to + kChannels);
          } else {
            std::fill(to, to + row, -std::numeric_limits<float>::infinity());
          }
        }
        const int64_t o = ((n * g.oh + py) * g.ow) * kChannels;
        pool_row(rows.data(), rows.data() + row, g.ow, g.pool_padding, out + o, where + o);
      }
    }
  });
}

// Returns sums[tap][c] and, after the K*K taps, the bias's sums[c]. Each thread sums its
// own share of the batch; the shares are added in a fixed order.
template <int K>
std::vector<float> weight_grad_kernel(const float* x, const float* grad_out, const int32_t* where,
                                      const Geometry& g) {
  const int64_t row = (K * K + 1) * kChannels;
  const int64_t shares = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), g.n));
  std::vector<float> partial(std::size_t(shares * row), 0.0f);
  at::parallel_for(0, shares, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> padded(std::size_t(g.padded_h() * g.padded_w()));
    for (int64_t s = begin; s < end; ++s) {
      for (int64_t n = g.n * s / shares; n < g.n * (s + 1) / shares; ++n) {
        pad_image(x, g, n, padded.data());
        const int64_t o = n * g.oh * g.ow * kChannels;
        weight_grad_image<K>(padded.data(), g, grad_out + o, where + o, partial.data() + s * row);
      }
    }
  });
  for (int64_t s = 1; s < shares; ++s) {
    for (int64_t i = 0; i < row; ++i) partial[std::size_t(i)] += partial[std::size_t(s * row + i)];
  }
  partial.resize(std::size_t(row));
  return partial;
}

struct ConvPoolRelu : torch::autograd::Function<ConvPoolRelu> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               int64_t conv_padding, int64_t pool_padding) {
    RECORD_FUNCTION("hogwild::conv_pool_relu", std::vector<c10::IValue>());
    const auto image = x.contiguous();
    const int64_t kernel = weight.size(2);
    const Geometry g(image, kernel, conv_padding, pool_padding);
    const auto channels_last = torch::MemoryFormat::ChannelsLast;
    auto out =
        torch::empty({g.n, kChannels, g.oh, g.ow}, image.options().memory_format(channels_last));
    auto where = torch::empty({g.n, kChannels, g.oh, g.ow},
                              image.options().dtype(torch::kInt32).memory_format(channels_last));
    const auto taps = taps_by_channel(weight.contiguous(), kernel * kernel);
    const auto bias_values = bias.contiguous();
    const auto kernel_for = kernel == 5 ? forward_kernel<5> : forward_kernel<3>;
    kernel_for(image.data_ptr<float>(), taps.data(), bias_values.data_ptr<float>(),
               out.data_ptr<float>(), where.data_ptr<int32_t>(), g);
    ctx->save_for_backward({image, where});
    ctx->saved_data["kernel"] = kernel;
    ctx->saved_data["conv_padding"] = conv_padding;
    ctx->saved_data["pool_padding"] = pool_padding;
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    RECORD_FUNCTION("hogwild::conv_pool_relu_backward", std::vector<c10::IValue>());
    const auto saved = ctx->get_saved_variables();
    const auto& image = saved[0];
    const auto& where = saved[1];
    const int64_t kernel = ctx->saved_data["kernel"].toInt();
    const Geometry g(image, kernel, ctx->saved_data["conv_padding"].toInt(),
                     ctx->saved_data["pool_padding"].toInt());
    const auto grad_out = grads[0].contiguous(torch::MemoryFormat::ChannelsLast);
    const auto kernel_for = kernel == 5 ? weight_grad_kernel<5> : weight_grad_kernel<3>;
    const auto sums = kernel_for(image.data_ptr<float>(), grad_out.data_ptr<float>(),
                                 where.data_ptr<int32_t>(), g);
    const int64_t taps = kernel * kernel;
    auto grad_weight = torch::empty({kChannels, 1, kernel, kernel}, image.options());
    auto grad_bias = torch::empty({kChannels}, image.options());
    float* gw = grad_weight.data_ptr<float>();
    float* gb = grad_bias.data_ptr<float>();
    for (int64_t c = 0; c < kChannels; ++c) {
      for (int64_t k = 0; k < taps; ++k) gw[c * taps + k] = sums[std::size_t(k * kChannels + c)];
      gb[c] = sums[std::size_t(taps * kChannels + c)];
    }
    return {torch::Tensor(), grad_weight, grad_bias, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor conv_pool_relu(const torch::Tensor& x, const torch::Tensor& weight,
                             const torch::Tensor& bias, int64_t conv_padding,
                             int64_t pool_padding) {
  const auto f32 = torch::kFloat32;
  const bool image_ok =
      x.dim() == 4 && x.size(1) == 1 && x.scalar_type() == f32 && x.is_cpu() && !x.requires_grad();
  const bool weight_ok = weight.dim() == 4 && weight.size(0) == kChannels && weight.size(1) == 1 &&
                         weight.size(2) == weight.size(3) &&
                         (weight.size(2) == 3 || weight.size(2) == 5) &&
                         weight.scalar_type() == f32 && weight.is_cpu() && bias.defined() &&
                         bias.numel() == kChannels && bias.scalar_type() == f32 && bias.is_cpu();
  const bool ours = image_ok && weight_ok && conv_padding >= 0 && pool_padding >= 0 &&
                    pool_padding <= 1 &&
                    x.size(2) + 2 * conv_padding - weight.size(2) + 1 + 2 * pool_padding >= 2 &&
                    x.size(3) + 2 * conv_padding - weight.size(3) + 1 + 2 * pool_padding >= 2 &&
                    x.size(2) + 2 * conv_padding >= weight.size(2) &&
                    x.size(3) + 2 * conv_padding >= weight.size(3);
  if (!ours) {
    return torch::relu(
        torch::max_pool2d(torch::conv2d(x, weight, bias, 1, conv_padding), 2, 2, pool_padding));
  }
  return ConvPoolRelu::apply(x, weight, bias, conv_padding, pool_padding);
}

}  // namespace hogwild
