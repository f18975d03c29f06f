#include "hogwild/sgd.h"

#include <ATen/record_function.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <stdexcept>

#include "hogwild/error.h"

namespace hogwild {

MomentumSgd::MomentumSgd(std::vector<at::Tensor> parameters, double lr, double momentum,
                         UpdateTiming timing, std::vector<at::Tensor> buffers)
    : parameters_(std::move(parameters)),
      momentum_(std::move(buffers)),
      lr_(0.0),
      momentum_factor_(momentum),
      timing_(timing) {
  set_lr(lr);
  if (!(momentum >= 0.0 && momentum < 1.0)) {
    throw InputError(fmt::format("invalid momentum = {}: must be in [0, 1)", momentum));
  }
  if (momentum_.empty()) {
    for (const auto& p : parameters_) momentum_.push_back(torch::zeros_like(p));
  }
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    if (i >= momentum_.size() || momentum_[i].sizes() != parameters_[i].sizes() ||
        momentum_[i].scalar_type() != parameters_[i].scalar_type() ||
        !momentum_[i].is_contiguous()) {
      throw std::logic_error(
          "MomentumSgd: the momentum buffers must match the parameters one for one");
    }
  }
  if (timing_ != UpdateTiming::kDuringBackward) return;
  // A leaf's hook sees its gradient once, summed over every use, before autograd stores it in
  // .grad; every operator that reads the parameter in the backward has run by then.
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    hooks_.push_back(
        parameters_[i].register_hook([this, i](const at::Tensor& grad) { update(i, grad); }));
  }
}

MomentumSgd::~MomentumSgd() {
  for (std::size_t i = 0; i < hooks_.size(); ++i) parameters_[i].remove_hook(hooks_[i]);
}

void MomentumSgd::set_lr(double lr) {
  if (!(lr >= 0.0))
    throw InputError(fmt::format("invalid lr = {}: the step size must be at least 0", lr));
  lr_ = lr;
}

void MomentumSgd::clear_momentum() {
  for (auto& m : momentum_) m.zero_();
}

void MomentumSgd::zero_grad() {
  for (auto& p : parameters_) p.mutable_grad().reset();
}

void MomentumSgd::step() {
  if (timing_ != UpdateTiming::kAfterBackward) return;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    if (parameters_[i].grad().defined()) update(i, parameters_[i].grad());
  }
}

void MomentumSgd::update(std::size_t i, const at::Tensor& grad) {
  RECORD_FUNCTION("hogwild::sgd_update", std::vector<c10::IValue>());
  torch::NoGradGuard no_grad;
  // As torch::optim::SGD: m = momentum * m + g (m = g at first: 0 * momentum + g is g
  // exactly), p -= lr * m; in place, so a parameter bound to shared memory stays bound.
  // detach() shares the version counter: were the parameter still needed by an operator of
  // this backward, autograd would refuse instead of silently using the new value.
  momentum_[i].mul_(momentum_factor_).add_(grad);
  parameters_[i].detach().add_(momentum_[i], -lr_);
}

}  // namespace hogwild
