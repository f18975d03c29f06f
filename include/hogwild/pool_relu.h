// relu(max_pool2d(x, 2, stride 2, padding)) as one operator with its own backward, for the
// channels-last float or bf16 activations of the model (model.cpp). ATen's max-pool writes an int64
// index per output, ReLU then reads and writes the output again, and the backward zero-fills
// the whole input gradient before scattering into it: 14 % of a training step. Here the
// forward keeps a 32-bit window position per output (none where ReLU cut it off), and the
// backward writes every input gradient once. Same values and gradients as ATen's pair for
// finite inputs, ties included (the first maximum in the window wins; bf16 compares as
// float, exactly); other dtypes and layouts go to ATen's pair.
#pragma once

#include <torch/types.h>

namespace hogwild {

torch::Tensor pool_relu(const torch::Tensor& x, int64_t padding);

}  // namespace hogwild
