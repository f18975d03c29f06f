#include "hogwild/gradient_average.h"

#include <algorithm>

#include "hogwild/sync.h"

namespace hogwild {

GradientAverage::GradientAverage(std::vector<torch::Tensor> parameters, MpiWorld& world)
    : parameters_(std::move(parameters)), world_(&world) {
  std::size_t count = 0;
  for (const auto& p : parameters_) count += std::size_t(p.numel());
  flat_.resize(count);
}

void GradientAverage::operator()() {
  std::size_t offset = 0;
  for (const auto& p : parameters_) {
    const auto grad = p.grad().contiguous();
    std::copy_n(grad.data_ptr<float>(), grad.numel(), flat_.data() + offset);
    offset += std::size_t(grad.numel());
  }
  world_->allreduce_sum(flat_.data(), flat_.size());
  divide_in_place(flat_.data(), flat_.size(), world_->size());
  offset = 0;
  for (const auto& p : parameters_) {
    auto grad = p.grad();
    std::copy_n(flat_.data() + offset, grad.numel(), grad.data_ptr<float>());
    offset += std::size_t(grad.numel());
  }
}

}  // namespace hogwild
