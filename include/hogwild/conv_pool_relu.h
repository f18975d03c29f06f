// relu(max_pool2d(conv2d(x, weight, bias, stride 1, conv_padding), 2, stride 2, pool_padding))
// as one operator, for the model's first block: a one-channel float image, 16 filters, a
// square 3x3 or 5x5 kernel; channels-last output.
//
// Why: oneDNN runs a one-channel convolution at a third of the second one's speed (little to
// vectorize over: ~18 us per sample forward and backward, for 3 % of the FLOPs), and the
// 26x26x16 activation between the convolution and the pool (5.5 MB at batch 128, twice that
// with its gradient) goes through memory four times. Here one pixel's 16 channels are one
// vector: the forward computes two convolution rows into L1, pools them and stores only the
// pooled 14x14x16 and a 32-bit window position per output (pool_relu.h's rule: the first
// maximum in the window wins); the backward rebuilds the convolution's gradient from those in
// registers and keeps every tap's sum in a register across the batch. The image's own
// gradient is not needed and not computed: an image that requires grad goes to ATen, as do
// other shapes and dtypes. It computes in fp32 under --precision bf16 too (the block is 3 % of
// the model's FLOPs; its output is cast to bf16 for the second convolution).
#pragma once

#include <torch/types.h>

namespace hogwild {

torch::Tensor conv_pool_relu(const torch::Tensor& x, const torch::Tensor& weight,
                             const torch::Tensor& bias, int64_t conv_padding, int64_t pool_padding);

}  // namespace hogwild
