// The seed's `Mnist` network. Shapes for a 1x28x28 input:
//   conv1  1->16, 5x5, padding 1       16x26x26   (28 - 5 + 2*1)/1 + 1 = 26
//   relu, max-pool 2, stride 2, pad 1  16x14x14   (26 - 2 + 2*1)/2 + 1 = 14
//   conv2 16->64, 5x5                  64x10x10   (14 - 5)/1 + 1 = 10
//   relu, max-pool 2, stride 2         64x5x5     (10 - 2)/2 + 1 = 5
//   dropout p (--dropout, seed's 0.5)  64x5x5
//   max-pool 5, stride 1               64x1x1     (5 - 5)/1 + 1 = 1
//   flatten                            64
//   fc1 64->32, relu                   32
//   fc2 32->10                         10 logits (cross-entropy loss)
// 28,490 parameters; about 5.7 MFLOP forward and 16.4 MFLOP per training sample.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "hogwild/precision.h"

namespace hogwild {

class MnistNetImpl : public torch::nn::Module {
 public:
  MnistNetImpl();
  // In training, `dropout_mask` ([n, 64, 5, 5] of 0 and 2, dropout.h) replaces ATen's own
  // dropout draw; undefined, ATen's dropout is used (nothing is dropped in eval mode).
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& dropout_mask = {});
  // bf16: the second convolution and its pool in bf16 (convolution.h, pool_relu.h); the
  // first block (conv_pool_relu.h), the classifier head (classifier_head.h: dropout, last
  // pool, linear layers) and the logits in fp32; the parameters stay fp32.
  void set_precision(Precision precision) { precision_ = precision; }
  Precision precision() const { return precision_; }

 private:
  Precision precision_ = Precision::kFp32;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::Conv2d conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Linear fc2_{nullptr};
};
TORCH_MODULE(MnistNet);

// Units the dropout layer sees per sample (64 x 5 x 5).
inline constexpr int64_t kDropoutUnits = 64 * 5 * 5;

// Copies every parameter of `from` into the same-shaped parameter of `to`, in place (so a
// model bound to shared memory stays bound).
void copy_parameters(torch::nn::Module& from, torch::nn::Module& to);

}  // namespace hogwild
