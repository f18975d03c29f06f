#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hogwild/error.h"
#include "hogwild/idx.h"
#include "test_support.h"

using namespace hogwild;
using hogwild::testing::idx_images_bytes;
using hogwild::testing::idx_labels_bytes;
using hogwild::testing::TempDir;
using hogwild::testing::write_bytes;
using hogwild::testing::write_gzip;

namespace {

IdxImages parse_images(const std::vector<uint8_t>& bytes) {
  return parse_idx_images(bytes.data(), bytes.size(), "images.idx");
}
IdxLabels parse_labels(const std::vector<uint8_t>& bytes) {
  return parse_idx_labels(bytes.data(), bytes.size(), "labels.idx");
}

}  // namespace

TEST_CASE("a good image file parses, raw and gzip-compressed") {
  TempDir dir;
  const auto bytes = idx_images_bytes(3, 4, 5);
  write_bytes(dir.file("raw"), bytes);
  write_gzip(dir.file("packed.gz"), bytes);
  for (const auto& name : {"raw", "packed.gz"}) {
    CAPTURE(name);
    const IdxImages images = read_idx_images(dir.file(name));
    CHECK(images.count == 3);
    CHECK(images.rows == 4);
    CHECK(images.cols == 5);
    REQUIRE(images.pixels.size() == 60);
    CHECK(images.pixels[0] == 0);
    CHECK(images.pixels[59] == uint8_t(59 * 7));
  }
}

TEST_CASE("a good label file parses, raw and gzip-compressed") {
  TempDir dir;
  const auto bytes = idx_labels_bytes({0, 9, 3, 3});
  write_bytes(dir.file("raw"), bytes);
  write_gzip(dir.file("packed.gz"), bytes);
  for (const auto& name : {"raw", "packed.gz"}) {
    CHECK(read_idx_labels(dir.file(name)).labels == std::vector<uint8_t>{0, 9, 3, 3});
  }
}

TEST_CASE("corrupt headers are reported with the file name") {
  CHECK_THROWS_WITH_AS(parse_images({}),
                       "images.idx: file is 0 bytes, too short for an IDX header (empty file)",
                       InputError);
  CHECK_THROWS_WITH_AS(
      parse_images(idx_images_bytes(1, 2, 2, 0x00000804)),
      doctest::Contains("images.idx: bad magic number 0x00000804, expected 0x00000803"),
      InputError);
  CHECK_THROWS_WITH_AS(parse_images(idx_labels_bytes({1, 2})),
                       doctest::Contains("this is a label file, not an image file"), InputError);
  CHECK_THROWS_WITH_AS(parse_labels(idx_images_bytes(1, 2, 2)),
                       doctest::Contains("this is an image file, not a label file"), InputError);
  auto header_only = idx_images_bytes(1, 2, 2);
  header_only.resize(10);
  CHECK_THROWS_WITH_AS(parse_images(header_only), doctest::Contains("truncated header: 10 bytes"),
                       InputError);
  CHECK_THROWS_WITH_AS(parse_images(idx_images_bytes(0, 28, 28)), doctest::Contains("0 images"),
                       InputError);
  CHECK_THROWS_WITH_AS(parse_images(idx_images_bytes(1, 0, 28)),
                       doctest::Contains("image size 0x28"), InputError);
  CHECK_THROWS_WITH_AS(parse_images(idx_images_bytes(1, 28, 5000)),
                       doctest::Contains("outside 1..4096"), InputError);
  CHECK_THROWS_WITH_AS(parse_labels(idx_labels_bytes({})), doctest::Contains("0 labels"),
                       InputError);
}

TEST_CASE("truncated and overlong bodies are reported") {
  auto images = idx_images_bytes(3, 4, 5);
  images.pop_back();
  CHECK_THROWS_WITH_AS(parse_images(images),
                       "images.idx: truncated: header promises 60 data bytes, file has 59",
                       InputError);
  images.push_back(1);
  images.push_back(2);
  CHECK_THROWS_WITH_AS(parse_images(images), doctest::Contains("1 unexpected bytes after"),
                       InputError);
  auto labels = idx_labels_bytes({1, 2, 3});
  labels.pop_back();
  CHECK_THROWS_WITH_AS(parse_labels(labels), doctest::Contains("truncated"), InputError);
}

TEST_CASE("labels outside 0-9 are rejected with their index") {
  CHECK_THROWS_WITH_AS(parse_labels(idx_labels_bytes({1, 2, 10, 3})),
                       "labels.idx: label 10 at index 2 is outside 0-9", InputError);
}

TEST_CASE("damaged gzip data is reported") {
  TempDir dir;
  std::vector<uint8_t> bytes = idx_images_bytes(50, 28, 28);
  write_gzip(dir.file("good.gz"), bytes);
  std::vector<uint8_t> packed = read_maybe_gzipped(dir.file("good.gz"), kMaxIdxBytes);
  REQUIRE(packed == bytes);

  // Read the compressed bytes themselves to damage them.
  std::vector<uint8_t> compressed;
  {
    FILE* f = std::fopen(dir.file("good.gz").c_str(), "rb");
    REQUIRE(f != nullptr);
    int c;
    while ((c = std::fgetc(f)) != EOF) compressed.push_back(uint8_t(c));
    std::fclose(f);
  }
  SUBCASE("cut short") {
    auto cut = compressed;
    cut.resize(cut.size() / 2);
    write_bytes(dir.file("cut.gz"), cut);
    CHECK_THROWS_WITH_AS(read_idx_images(dir.file("cut.gz")),
                         doctest::Contains("gzip data is damaged"), InputError);
  }
  SUBCASE("checksum wrong") {
    auto bad = compressed;
    bad[bad.size() - 6] ^= 0xff;  // inside the CRC-32 trailer
    write_bytes(dir.file("crc.gz"), bad);
    CHECK_THROWS_WITH_AS(read_idx_images(dir.file("crc.gz")),
                         doctest::Contains("gzip data is damaged"), InputError);
  }
}

TEST_CASE("files that cannot be read are reported by name") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(read_idx_images(dir.file("missing")),
                       doctest::Contains("missing: No such file or directory"), InputError);
  CHECK_THROWS_WITH_AS(read_idx_images(dir.path()), doctest::Contains("not a regular file"),
                       InputError);
  write_bytes(dir.file("empty"), {});
  CHECK_THROWS_WITH_AS(read_idx_labels(dir.file("empty")), doctest::Contains("empty file"),
                       InputError);
  if (::geteuid() != 0) {  // root reads anything
    write_bytes(dir.file("locked"), idx_labels_bytes({1}));
    ::chmod(dir.file("locked").c_str(), 0);
    CHECK_THROWS_WITH_AS(read_idx_labels(dir.file("locked")),
                         doctest::Contains("Permission denied"), InputError);
  }
}

TEST_CASE("a split finds raw or .gz files and checks that images and labels agree") {
  TempDir dir;
  write_gzip(dir.file("train-images-idx3-ubyte.gz"), idx_images_bytes(4, 28, 28));
  write_bytes(dir.file("train-labels-idx1-ubyte"), idx_labels_bytes({1, 2, 3, 4}));
  const IdxSplit split = read_idx_split(dir.path(), "train");
  CHECK(split.images.count == 4);
  CHECK(split.labels.labels.size() == 4);

  write_bytes(dir.file("t10k-images-idx3-ubyte"), idx_images_bytes(4, 28, 28));
  write_bytes(dir.file("t10k-labels-idx1-ubyte"), idx_labels_bytes({1, 2, 3}));
  CHECK_THROWS_WITH_AS(read_idx_split(dir.path(), "t10k"), doctest::Contains("holds 4 images but"),
                       InputError);

  TempDir empty;
  CHECK_THROWS_WITH_AS(
      read_idx_split(empty.path(), "train"),
      doctest::Contains("neither train-images-idx3-ubyte nor train-images-idx3-ubyte.gz found"),
      InputError);
}

TEST_CASE("a file larger than the limit is refused") {
  TempDir dir;
  write_bytes(dir.file("big"), std::vector<uint8_t>(4096, 0));
  CHECK_THROWS_WITH_AS(read_maybe_gzipped(dir.file("big"), 1024), doctest::Contains("larger than"),
                       InputError);
}
