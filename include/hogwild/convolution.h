// A 2-D convolution (stride 1, the same zero padding on every side, no groups) with its own
// backward, on oneDNN primitives that are built once per shape and kept: the model's second
// convolution (model.cpp), in fp32 or with bf16 arithmetic.
//
// Why: ATen reaches the same oneDNN kernels through ideep, which builds its primitive
// descriptors anew on every call, and under bf16 autocast casts the weights and bias and
// copies the input first: ~200 us a step whatever the batch, 6 us a sample at the 32
// samples per worker of the many-workers floor (docs/training-step.md). Here each call
// only reorders the weights (fp32, plain, possibly in the shared segment and written by
// other workers: read anew on every call, forward and backward) into the primitives'
// layout and runs the kernels.
//
// x [n, C, H, W] (fp32 or bf16; made channels-last), weight [K, C, R, S] and bias [K] fp32
// contiguous. The output [n, K, H + 2p - R + 1, W + 2p - S + 1] is channels-last in the
// compute type (bf16 or fp32); the gradient of x in x's own type, of weight and bias fp32.
// Other dtypes and layouts go to ATen (torch::conv2d, computing in x's type).
#pragma once

#include <torch/types.h>

#include "hogwild/precision.h"

namespace hogwild {

torch::Tensor convolution(const torch::Tensor& x, const torch::Tensor& weight,
                          const torch::Tensor& bias, int64_t padding, Precision compute);

}  // namespace hogwild
