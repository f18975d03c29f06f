#include "hogwild/dataset.h"

#include <torch/torch.h>

namespace hogwild {

Dataset to_dataset(const IdxSplit& split, int64_t limit) {
  const IdxImages& images = split.images;
  const int64_t n = limit > 0 ? std::min(limit, images.count) : images.count;
  const int64_t pixels_per_image = images.rows * images.cols;
  Dataset data;
  data.images = torch::empty({n, 1, images.rows, images.cols}, torch::kFloat32);
  data.labels = torch::empty({n}, torch::kInt64);
  // Plain loops, not tensor ops: the parent stays out of ATen's thread pool before fork().
  float* pixels = data.images.data_ptr<float>();
  for (int64_t i = 0; i < n * pixels_per_image; ++i) pixels[i] = float(images.pixels[i]) / 255.0f;
  int64_t* labels = data.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) labels[i] = split.labels.labels[i];
  return data;
}

Dataset load_dataset(const std::string& dir, const std::string& prefix, int64_t limit) {
  return to_dataset(read_idx_split(dir, prefix), limit);
}

}  // namespace hogwild
