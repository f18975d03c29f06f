// --sync grads: before every optimizer step, each parameter's gradient becomes the mean of
// the MPI ranks' gradients, so that every rank takes the same step from the same parameters
// (K ranks with batch b step like one process with batch K*b). One collective per step: the
// gradients are packed into one buffer, summed over the ranks, divided, and unpacked.
#pragma once

#include <torch/types.h>

#include <vector>

#include "hogwild/mpi_world.h"

namespace hogwild {

class GradientAverage {
 public:
  // `parameters`: the model's, in the same order on every rank; each needs a gradient when
  // the average runs.
  GradientAverage(std::vector<torch::Tensor> parameters, MpiWorld& world);
  void operator()();
  std::size_t floats() const { return flat_.size(); }

 private:
  std::vector<torch::Tensor> parameters_;
  MpiWorld* world_;
  std::vector<float> flat_;
};

}  // namespace hogwild
