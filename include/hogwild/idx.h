// Reader for the IDX format of MNIST-style data sets (raw or gzip-compressed).
// Pure bytes in, checked arrays out: no torch, so it is quick to build and easy to fuzz.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hogwild {

// IDX unsigned-byte images: magic 0x00000803, then count, rows, cols (big-endian uint32).
struct IdxImages {
  int64_t count = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, row-major
};

// IDX unsigned-byte labels: magic 0x00000801, then count; each label must be 0..9.
struct IdxLabels {
  std::vector<uint8_t> labels;
};

// Largest decompressed IDX file accepted (guards against absurd headers and gzip bombs).
inline constexpr std::size_t kMaxIdxBytes = std::size_t{1} << 30;

// Parse from memory. `name` is used in error messages. Throws InputError.
IdxImages parse_idx_images(const uint8_t* data, std::size_t size, const std::string& name);
IdxLabels parse_idx_labels(const uint8_t* data, std::size_t size, const std::string& name);

// Whole file contents, gunzipped when the file is gzip-compressed. Throws InputError.
std::vector<uint8_t> read_maybe_gzipped(const std::string& path,
                                        std::size_t max_bytes = kMaxIdxBytes);

IdxImages read_idx_images(const std::string& path);
IdxLabels read_idx_labels(const std::string& path);

// `dir/base` if it exists, else `dir/base.gz`; throws InputError naming both when neither does.
std::string find_idx_file(const std::string& dir, const std::string& base);

// One split of a data set: images and labels read and checked against each other.
struct IdxSplit {
  IdxImages images;
  IdxLabels labels;
};

// Reads `<dir>/<prefix>-images-idx3-ubyte[.gz]` and `<dir>/<prefix>-labels-idx1-ubyte[.gz]`
// (prefix "train" or "t10k") and checks that their counts agree.
IdxSplit read_idx_split(const std::string& dir, const std::string& prefix);

}  // namespace hogwild
