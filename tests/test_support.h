// Helpers shared by the tests: temporary directories and small IDX files.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hogwild::testing {

// A fresh directory under /tmp, removed with everything in it when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::vector<uint8_t> idx_images_bytes(uint32_t count, uint32_t rows, uint32_t cols,
                                      uint32_t magic = 0x00000803);
std::vector<uint8_t> idx_labels_bytes(const std::vector<uint8_t>& labels,
                                      uint32_t magic = 0x00000801);

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes);

// A file's whole content ("" if it cannot be read).
std::string slurp(const std::string& path);

// Runs a shell command; returns (exit code, or -1 if it did not exit; what it printed).
std::pair<int, std::string> run_shell(const std::string& command);

// Names under /dev/shm that start with `prefix`.
std::vector<std::string> shm_entries(const std::string& prefix);

}  // namespace hogwild::testing
