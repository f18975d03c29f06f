#include "hogwild/dataset.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <new>

#include "hogwild/error.h"
#include "hogwild/memory.h"

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
  const std::string where = fmt::format("{}/{}-*", dir, prefix);
  const std::string hint = "load fewer images with --train-limit / --test-limit, or free memory";
  try {
    const IdxSplit split = read_idx_split(dir, prefix);
    const IdxImages& images = split.images;
    if (images.rows != kImageSide || images.cols != kImageSide) {
      throw InputError(fmt::format("{}: images are {}x{}, the network needs {}x{}",
                                   find_idx_file(dir, prefix + "-images-idx3-ubyte"), images.rows,
                                   images.cols, kImageSide, kImageSide));
    }
    const int64_t n = limit > 0 ? std::min(limit, images.count) : images.count;
    const std::size_t bytes =
        std::size_t(n) * std::size_t(images.rows * images.cols) * sizeof(float) +
        std::size_t(n) * sizeof(int64_t);
    require_memory(
        bytes,
        fmt::format("{} ({} images of {}x{} as float32)", where, n, images.rows, images.cols),
        hint);
    return to_dataset(split, limit);
  } catch (const std::bad_alloc&) {
    throw Error(fmt::format("{}: out of memory while loading; {}", where, hint));
  }
}

}  // namespace hogwild
