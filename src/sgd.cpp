#include "hogwild/sgd.h"

#include <ATen/record_function.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>
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

namespace {

// m = momentum * m + g, then p -= lr * m, in one pass: ATen's mul_, add_, add_ were three
// operators per parameter and step, a fixed cost that steps of 32 samples feel
// (docs/accuracy.md, "Where sixteen workers lose"). The same roundings as those three (the
// last is a fused multiply-add in ATen too; no other contraction), so the result is
// torch::optim::SGD's bit for bit (test_sgd.cpp).
__attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=off"))) void
momentum_step(float* __restrict parameter, float* __restrict momentum, const float* __restrict grad,
              int64_t n, float momentum_factor, float minus_lr) {
  for (int64_t i = 0; i < n; ++i) {
    const float m = momentum[i] * momentum_factor + grad[i];
    momentum[i] = m;
    parameter[i] = std::fma(m, minus_lr, parameter[i]);
  }
}

bool plain_fp32(const at::Tensor& t) {
  return t.scalar_type() == at::kFloat && t.is_contiguous() && t.device().is_cpu();
}

}  // namespace

void MomentumSgd::update(std::size_t i, const at::Tensor& grad) {
  RECORD_FUNCTION("hogwild::sgd_update", std::vector<c10::IValue>());
  torch::NoGradGuard no_grad;
  at::Tensor& parameter = parameters_[i];
  at::Tensor& momentum = momentum_[i];
  if (plain_fp32(parameter) && plain_fp32(momentum) && grad.scalar_type() == at::kFloat &&
      grad.sizes() == parameter.sizes()) {
    // A gradient in another layout (ATen's convolution gives a channels-last one for a
    // channels-last input): one copy into the parameter's order.
    const at::Tensor g = grad.contiguous();
    momentum_step(parameter.data_ptr<float>(), momentum.data_ptr<float>(), g.data_ptr<float>(),
                  parameter.numel(), float(momentum_factor_), float(-lr_));
    // As the in-place add_ below would: were the parameter still needed by an operator of
    // this backward, autograd now refuses instead of silently using the new value.
    parameter.unsafeGetTensorImpl()->bump_version();
    return;
  }
  // As torch::optim::SGD: m = momentum * m + g (m = g at first: 0 * momentum + g is g
  // exactly), p -= lr * m; in place, so a parameter bound to shared memory stays bound.
  // detach() shares the version counter: were the parameter still needed by an operator of
  // this backward, autograd would refuse instead of silently using the new value.
  momentum_[i].mul_(momentum_factor_).add_(grad);
  parameters_[i].detach().add_(momentum_[i], -lr_);
}

}  // namespace hogwild
