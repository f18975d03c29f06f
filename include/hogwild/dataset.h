// A decoded data set split as tensors: built once in the parent, before fork, and then read
// by every worker through copy-on-write pages that are never written (one copy in memory).
#pragma once

#include <torch/types.h>

#include <string>

#include "hogwild/idx.h"

namespace hogwild {

struct Dataset {
  torch::Tensor images;  // [n, 1, rows, cols] float32, pixels scaled to [0, 1] like ToTensor()
  torch::Tensor labels;  // [n] int64
  int64_t size() const { return labels.size(0); }
};

// Converts a checked IDX split, keeping only the first `limit` samples when limit > 0.
Dataset to_dataset(const IdxSplit& split, int64_t limit = 0);

// The side of the square images the network takes (model.h).
inline constexpr int64_t kImageSide = 28;

// Reads and converts `<dir>/<prefix>-{images-idx3,labels-idx1}-ubyte[.gz]`; images of
// another size than kImageSide x kImageSide are an InputError (before any worker exists).
Dataset load_dataset(const std::string& dir, const std::string& prefix, int64_t limit = 0);

}  // namespace hogwild
