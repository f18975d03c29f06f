#include "hogwild/pool_relu.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "hogwild/max_pool_window.h"

namespace hogwild {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

constexpr int32_t kNoGradient = -1;  // the output was cut to 0 by ReLU (or is NaN)

struct Geometry {
  int64_t n, c, h, w, padding, oh, ow;
  Geometry(at::IntArrayRef shape, int64_t pad)
      : n(shape[0]),
        c(shape[1]),
        h(shape[2]),
        w(shape[3]),
        padding(pad),
        oh(pooled_size(h, pad)),
        ow(pooled_size(w, pad)) {}
  // The windows cover every input position (they never overlap): the backward need not
  // zero-fill first.
  bool covers_input() const { return 2 * oh - padding >= h && 2 * ow - padding >= w; }
};

// bf16 is the top half of a float: widened exactly, and a maximum of widened values narrows
// back exactly. T is float, or bf16's bits in uint16_t.
inline float widen(float v) { return v; }
inline float widen(uint16_t b) {
  const uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

template <typename T>
T narrow_exact(float f) {
  if constexpr (std::is_same_v<T, float>) {
    return f;
  } else {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    return uint16_t(bits >> 16);
  }
}

// The inner loops over channels, for one output position: `in_k` is window position k's
// channel row (a row of -inf where the window hangs over the edge). Compiled for AVX-512,
// AVX2 and plain x86-64, picked at load time; selects, not branches, and 32-bit positions,
// so that every lane is a float or an int32 and the loops vectorize. NaNs are not singled
// out (ATen's max-pool propagates them): a NaN here means the loss is NaN too, which stops
// the run (trainer.h).
template <typename T>
__attribute__((target_clones("avx512f", "avx2", "default"))) void pool_relu_row(
    const T* __restrict__ in0, const T* __restrict__ in1, const T* __restrict__ in2,
    const T* __restrict__ in3, int64_t channels, T* __restrict__ out, int32_t* __restrict__ where) {
  for (int64_t c = 0; c < channels; ++c) {
    const float v0 = widen(in0[c]), v1 = widen(in1[c]), v2 = widen(in2[c]), v3 = widen(in3[c]);
    // Masks and std::max rather than ?: keep GCC's vectorizer happy; std::max(a, b) is b
    // only where b > a, as the tie rule wants (max_pool_window.h).
    const int32_t second = -int32_t(v1 > v0), fourth = -int32_t(v3 > v2);
    const float m01 = std::max(v0, v1), m23 = std::max(v2, v3);
    const int32_t lower = -int32_t(m23 > m01);
    const float best = std::max(m01, m23);
    int32_t at;
    position_of_maximum(second, fourth, lower, at);
    const int32_t positive = int32_t(best > 0.0f);
    out[c] = narrow_exact<T>(std::max(best, 0.0f));
    where[c] = (at + 1) * positive - 1;  // -1 (kNoGradient) where ReLU cut the output to 0
  }
}

// g where the window's maximum was at `k`, else 0. bf16's bits are masked as int32 lanes, as
// wide as `where`'s: GCC compiled 16-bit selects against 32-bit compares to branches (10 us
// per sample); its zero is all zero bits too.
inline float gradient_if(bool at_k, float g) { return at_k ? g : 0.0f; }
inline uint16_t gradient_if(bool at_k, uint16_t g) { return uint16_t(int32_t(g) & -int32_t(at_k)); }

template <typename T>
__attribute__((target_clones("avx512f", "avx2", "default"))) void unpool_row(
    const T* __restrict__ grad_out, const int32_t* __restrict__ where, int64_t channels,
    T* __restrict__ gi0, T* __restrict__ gi1, T* __restrict__ gi2, T* __restrict__ gi3) {
  for (int64_t c = 0; c < channels; ++c) {
    const T g = grad_out[c];
    const int32_t k = where[c];
    gi0[c] = gradient_if(k == 0, g);
    gi1[c] = gradient_if(k == 1, g);
    gi2[c] = gradient_if(k == 2, g);
    gi3[c] = gradient_if(k == 3, g);
  }
}

// Points rows[k] at window position k's channel row of image n (NHWC, `base`), or at
// `outside` where the window of output (oy, ox) hangs over the edge.
template <typename T>
void window_rows(T* base, T* outside, const Geometry& g, int64_t n, int64_t oy, int64_t ox,
                 T* rows[4]) {
  for (int64_t k = 0; k < 4; ++k) {
    const int64_t iy = window_y(oy, g.padding, int(k)), ix = window_x(ox, g.padding, int(k));
    const bool inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
    rows[k] = inside ? base + ((n * g.h + iy) * g.w + ix) * g.c : outside;
  }
}

// -inf, the padding's value, as T's bits.
template <typename T>
T minus_infinity() {
  return narrow_exact<T>(-std::numeric_limits<float>::infinity());
}

template <typename T>
void forward_kernel(const T* x, T* out, int32_t* where, const Geometry& g) {
  at::parallel_for(0, g.n, 1, [&](int64_t begin, int64_t end) {
    const std::vector<T> outside(std::size_t(g.c), minus_infinity<T>());
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const T* in[4];
          window_rows(x, outside.data(), g, n, oy, ox, in);
          const int64_t o = ((n * g.oh + oy) * g.ow + ox) * g.c;
          pool_relu_row(in[0], in[1], in[2], in[3], g.c, out + o, where + o);
        }
      }
    }
  });
}

template <typename T>
void backward_kernel(const T* grad_out, const int32_t* where, T* grad_in, const Geometry& g) {
  at::parallel_for(0, g.n, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> outside(std::size_t(g.c));  // writes for positions over the edge
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          T* gi[4];
          window_rows(grad_in, outside.data(), g, n, oy, ox, gi);
          const int64_t o = ((n * g.oh + oy) * g.ow + ox) * g.c;
          unpool_row(grad_out + o, where + o, g.c, gi[0], gi[1], gi[2], gi[3]);
        }
      }
    }
  });
}

uint16_t* bf16_bits(const torch::Tensor& t) {
  return reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>());
}

struct PoolRelu : torch::autograd::Function<PoolRelu> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, int64_t padding) {
    const Geometry g(x.sizes(), padding);
    const auto channels_last = torch::MemoryFormat::ChannelsLast;
    auto out = torch::empty({g.n, g.c, g.oh, g.ow}, x.options().memory_format(channels_last));
    auto where = torch::empty({g.n, g.c, g.oh, g.ow},
                              x.options().dtype(torch::kInt32).memory_format(channels_last));
    RECORD_FUNCTION("hogwild::pool_relu", std::vector<c10::IValue>());
    if (x.scalar_type() == torch::kFloat32) {
      forward_kernel(x.data_ptr<float>(), out.data_ptr<float>(), where.data_ptr<int32_t>(), g);
    } else {
      forward_kernel(bf16_bits(x), bf16_bits(out), where.data_ptr<int32_t>(), g);
    }
    ctx->save_for_backward({where});
    ctx->saved_data["shape"] = x.sizes().vec();
    ctx->saved_data["padding"] = padding;
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto where = ctx->get_saved_variables()[0];
    const auto shape = ctx->saved_data["shape"].toIntVector();
    const auto channels_last = torch::MemoryFormat::ChannelsLast;
    const auto grad_out = grads[0].contiguous(channels_last);
    const Geometry g(shape, ctx->saved_data["padding"].toInt());
    // (torch::zeros would ignore the memory format.)
    auto grad_in = torch::empty(shape, grad_out.options().memory_format(channels_last));
    if (!g.covers_input()) grad_in.zero_();
    if (grad_out.scalar_type() == torch::kFloat32) {
      backward_kernel(grad_out.data_ptr<float>(), where.data_ptr<int32_t>(),
                      grad_in.data_ptr<float>(), g);
    } else {
      backward_kernel(bf16_bits(grad_out), where.data_ptr<int32_t>(), bf16_bits(grad_in), g);
    }
    return {grad_in, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor pool_relu(const torch::Tensor& x, int64_t padding) {
  const auto dtype = x.scalar_type();
  const bool ours = x.dim() == 4 && (dtype == torch::kFloat32 || dtype == torch::kBFloat16) &&
                    x.is_cpu() && x.is_contiguous(torch::MemoryFormat::ChannelsLast) &&
                    padding >= 0 && padding <= 1 && x.size(2) + 2 * padding >= 2 &&
                    x.size(3) + 2 * padding >= 2;
  if (!ours) return torch::relu(torch::max_pool2d(x, 2, 2, padding));
  return PoolRelu::apply(x, padding);
}

}  // namespace hogwild
