#include "hogwild/idx.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <memory>

#include "hogwild/error.h"

namespace hogwild {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned byte, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned byte, 1 dimension
constexpr int64_t kMaxSide = 4096;

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Checks the magic number and returns the header's dimension sizes.
std::vector<int64_t> parse_header(const uint8_t* data, std::size_t size, const std::string& name,
                                  uint32_t expected_magic, const char* kind) {
  const std::size_t dims = expected_magic & 0xff;
  const std::size_t header_bytes = 4 + 4 * dims;
  if (size < 4) {
    throw InputError(fmt::format("{}: file is {} bytes, too short for an IDX header{}", name, size,
                                 size == 0 ? " (empty file)" : ""));
  }
  const uint32_t magic = read_be32(data);
  if (magic != expected_magic) {
    std::string hint;
    if (data[0] == 0x1f && data[1] == 0x8b)
      hint = "; it looks gzip-compressed but did not decompress";
    else if (magic == kImagesMagic)
      hint = "; this is an image file, not a label file";
    else if (magic == kLabelsMagic)
      hint = "; this is a label file, not an image file";
    throw InputError(
        fmt::format("{}: bad magic number 0x{:08x}, expected 0x{:08x} for an IDX {} file{}", name,
                    magic, expected_magic, kind, hint));
  }
  if (size < header_bytes) {
    throw InputError(fmt::format("{}: truncated header: {} bytes, an IDX {} header has {}", name,
                                 size, kind, header_bytes));
  }
  std::vector<int64_t> sizes;
  for (std::size_t d = 0; d < dims; ++d) sizes.push_back(read_be32(data + 4 + 4 * d));
  return sizes;
}

void check_body_size(std::size_t size, std::size_t header_bytes, uint64_t expected_body,
                     const std::string& name) {
  const uint64_t body = size - header_bytes;
  if (body < expected_body) {
    throw InputError(fmt::format("{}: truncated: header promises {} data bytes, file has {}", name,
                                 expected_body, body));
  }
  if (body > expected_body) {
    throw InputError(
        fmt::format("{}: {} unexpected bytes after the {} data bytes the header promises", name,
                    body - expected_body, expected_body));
  }
}

}  // namespace

IdxImages parse_idx_images(const uint8_t* data, std::size_t size, const std::string& name) {
  const auto dims = parse_header(data, size, name, kImagesMagic, "image");
  IdxImages images;
  images.count = dims[0];
  images.rows = dims[1];
  images.cols = dims[2];
  if (images.count == 0) throw InputError(fmt::format("{}: header says 0 images", name));
  if (images.rows < 1 || images.rows > kMaxSide || images.cols < 1 || images.cols > kMaxSide) {
    throw InputError(fmt::format("{}: image size {}x{} in the header is outside 1..{}", name,
                                 images.rows, images.cols, kMaxSide));
  }
  const uint64_t body = uint64_t(images.count) * uint64_t(images.rows) * uint64_t(images.cols);
  check_body_size(size, 16, body, name);
  images.pixels.assign(data + 16, data + size);
  return images;
}

IdxLabels parse_idx_labels(const uint8_t* data, std::size_t size, const std::string& name) {
  const auto dims = parse_header(data, size, name, kLabelsMagic, "label");
  if (dims[0] == 0) throw InputError(fmt::format("{}: header says 0 labels", name));
  check_body_size(size, 8, uint64_t(dims[0]), name);
  IdxLabels labels;
  labels.labels.assign(data + 8, data + size);
  for (std::size_t i = 0; i < labels.labels.size(); ++i) {
    if (labels.labels[i] > 9) {
      throw InputError(
          fmt::format("{}: label {} at index {} is outside 0-9", name, int(labels.labels[i]), i));
    }
  }
  return labels;
}

std::vector<uint8_t> read_maybe_gzipped(const std::string& path, std::size_t max_bytes) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    throw InputError(system_error_text(path, errno));
  }
  if (!S_ISREG(info.st_mode)) throw InputError(fmt::format("{}: not a regular file", path));
  // gzread passes files that are not gzip through unchanged, so one path reads both.
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  if (!file) throw InputError(system_error_text(path, errno ? errno : ENOMEM));
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> chunk(1 << 20);
  for (;;) {
    const int n = gzread(file.get(), chunk.data(), unsigned(chunk.size()));
    if (n < 0) {
      int code = 0;
      const char* message = gzerror(file.get(), &code);
      if (code == Z_ERRNO) throw InputError(system_error_text(path, errno));
      throw InputError(fmt::format("{}: gzip data is damaged: {}", path, message));
    }
    if (n == 0) break;
    if (bytes.size() + std::size_t(n) > max_bytes) {
      throw InputError(
          fmt::format("{}: larger than {} bytes once decompressed; not an MNIST-style "
                      "IDX file?",
                      path, max_bytes));
    }
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + n);
  }
  // A gzip stream cut short reads as a clean end of file; gzerror still reports it.
  int code = 0;
  const char* message = gzerror(file.get(), &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    throw InputError(fmt::format("{}: gzip data is damaged: {}", path, message));
  }
  return bytes;
}

IdxImages read_idx_images(const std::string& path) {
  const auto bytes = read_maybe_gzipped(path);
  return parse_idx_images(bytes.data(), bytes.size(), path);
}

IdxLabels read_idx_labels(const std::string& path) {
  const auto bytes = read_maybe_gzipped(path);
  return parse_idx_labels(bytes.data(), bytes.size(), path);
}

std::string find_idx_file(const std::string& dir, const std::string& base) {
  const std::string raw = dir + "/" + base;
  const std::string gz = raw + ".gz";
  struct stat info {};
  if (::stat(raw.c_str(), &info) == 0) return raw;
  if (::stat(gz.c_str(), &info) == 0) return gz;
  throw InputError(
      fmt::format("{}: neither {} nor {}.gz found (run 'make setup', or point "
                  "--data-dir at the IDX files)",
                  dir, base, base));
}

IdxSplit read_idx_split(const std::string& dir, const std::string& prefix) {
  const std::string images_path = find_idx_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_idx_file(dir, prefix + "-labels-idx1-ubyte");
  IdxSplit split{read_idx_images(images_path), read_idx_labels(labels_path)};
  if (int64_t(split.labels.labels.size()) != split.images.count) {
    throw InputError(
        fmt::format("{} holds {} images but {} holds {} labels; the files do not "
                    "belong together",
                    images_path, split.images.count, labels_path, split.labels.labels.size()));
  }
  return split;
}

}  // namespace hogwild
