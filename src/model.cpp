#include "hogwild/model.h"

#include <torch/torch.h>

namespace hogwild {

namespace nn = torch::nn;

MnistNetImpl::MnistNetImpl()
    : conv1_(register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 16, 5).padding(1)))),
      conv2_(register_module("conv2", nn::Conv2d(nn::Conv2dOptions(16, 64, 5)))),
      fc1_(register_module("fc1", nn::Linear(64, 32))),
      fc2_(register_module("fc2", nn::Linear(32, 10))) {}

torch::Tensor MnistNetImpl::forward(torch::Tensor x, const torch::Tensor& dropout_mask) {
  x = torch::max_pool2d(torch::relu(conv1_->forward(x)), /*kernel_size=*/2, /*stride=*/2,
                        /*padding=*/1);
  x = torch::max_pool2d(torch::relu(conv2_->forward(x)), /*kernel_size=*/2, /*stride=*/2);
  if (is_training() && dropout_mask.defined()) {
    x = x * dropout_mask;
  } else {
    x = torch::dropout(x, /*p=*/0.5, /*train=*/is_training());
  }
  x = torch::max_pool2d(x, /*kernel_size=*/5, /*stride=*/1);
  x = x.flatten(/*start_dim=*/1);
  x = torch::relu(fc1_->forward(x));
  return fc2_->forward(x);
}

void copy_parameters(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  const auto source = from.parameters();
  auto target = to.parameters();
  TORCH_CHECK(source.size() == target.size(), "copy_parameters: models differ");
  for (std::size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
}

}  // namespace hogwild
