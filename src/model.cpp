#include "hogwild/model.h"

#include <torch/torch.h>

#include "hogwild/classifier_head.h"
#include "hogwild/conv_pool_relu.h"
#include "hogwild/convolution.h"
#include "hogwild/dropout.h"
#include "hogwild/pool_relu.h"

namespace hogwild {

namespace nn = torch::nn;

MnistNetImpl::MnistNetImpl()
    : conv1_(register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 16, 5).padding(1)))),
      conv2_(register_module("conv2", nn::Conv2d(nn::Conv2dOptions(16, 64, 5)))),
      fc1_(register_module("fc1", nn::Linear(64, 32))),
      fc2_(register_module("fc2", nn::Linear(32, 10))) {}

torch::Tensor MnistNetImpl::forward(torch::Tensor x, const torch::Tensor& dropout_mask) {
  // Channels-last activations: oneDNN's convolutions and ATen's max-pool are fastest with
  // channels innermost (the NCHW max-pool alone took 27 % of a step). One input channel
  // means NCHW and NHWC are the same bytes: these strides, a view, make every layer from
  // here on choose channels-last (x.contiguous(ChannelsLast) would keep NCHW's strides).
  // The weights stay as they are: they live in the shared segment (shared_parameters.h).
  if (x.size(1) == 1 && x.is_contiguous()) {
    x = x.as_strided(x.sizes(), {x.stride(0), 1, x.stride(2), x.stride(3)});
  }
  // Max-pool before ReLU: they commute (ReLU is monotone; the padding is -inf), the
  // gradients are the same, and ReLU then runs on a quarter of the values. The first block
  // runs as one operator of ours (conv_pool_relu.h: its 26x26 activation never leaves L1),
  // in fp32; the second convolution on oneDNN directly (convolution.h), in bf16 under
  // --precision bf16, and its pool and ReLU as another (pool_relu.h), in its type.
  x = conv_pool_relu(x, conv1_->weight, conv1_->bias, /*conv_padding=*/1, /*pool_padding=*/1);
  x = pool_relu(convolution(x, conv2_->weight, conv2_->bias, /*padding=*/0, precision_),
                /*padding=*/0);
  // Dropout, the last max-pool and the two linear layers as one operator of ours
  // (classifier_head.h), in fp32 whatever x's type; without a mask, ATen's dropout at the
  // seed's p (the trainer passes its own masks, drawn with --dropout's p).
  torch::Tensor mask;
  if (is_training() && dropout_mask.defined()) {
    mask = dropout_mask;
  } else {
    x = torch::dropout(x, kSeedDropout, /*train=*/is_training());
  }
  return classifier_head(x, mask, fc1_->weight, fc1_->bias, fc2_->weight, fc2_->bias);
}

void copy_parameters(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  const auto source = from.parameters();
  auto target = to.parameters();
  TORCH_CHECK(source.size() == target.size(), "copy_parameters: models differ");
  for (std::size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
}

}  // namespace hogwild
