// The model's head after its second block, as one operator with its own backward:
//   x [n, C, H, W] channels-last (fp32, or bf16 under --precision bf16), times the dropout
//   mask (same shape, fp32; undefined: no dropout), max over all H x W positions -> [n, C],
//   fc1 (C -> J) and ReLU -> [n, J], fc2 (J -> K) -> logits [n, K], fp32.
//
// Why: ATen runs these as some 40 operators forward and backward (dropout's multiply,
// max-pool with int64 indices, flatten, two linear layers under bf16 autocast with their casts,
// ReLU, the transposes and matrix products of the backward), each a few microseconds of
// dispatch for a few thousand multiply-adds per sample: 12 % of a bf16 step at 32 samples
// per worker, where the floor of the many-workers rule puts every worker (docs/accuracy.md).
// Here the head computes in fp32 whatever x's dtype (its FLOPs are 0.1 % of the model's), and
// keeps the pooled values, the ReLU output and a window position per (sample, channel) for
// the backward, which writes every input gradient once. Values and gradients equal ATen's
// composition up to the order of fp32 sums; the maximum's ties go to the first position
// in the window, as ATen's. An NCHW input or mask is made channels-last first (a copy);
// other dtypes and shapes go to ATen's composition.
#pragma once

#include <torch/types.h>

namespace hogwild {

torch::Tensor classifier_head(const torch::Tensor& x, const torch::Tensor& dropout_mask,
                              const torch::Tensor& fc1_weight, const torch::Tensor& fc1_bias,
                              const torch::Tensor& fc2_weight, const torch::Tensor& fc2_bias);

// The same as ATen's operators (the reference the tests compare against).
torch::Tensor classifier_head_aten(const torch::Tensor& x, const torch::Tensor& dropout_mask,
                                   const torch::Tensor& fc1_weight, const torch::Tensor& fc1_bias,
                                   const torch::Tensor& fc2_weight, const torch::Tensor& fc2_bias);

}  // namespace hogwild
