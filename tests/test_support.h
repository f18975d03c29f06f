// Helpers shared by the tests: temporary directories and small IDX files.
#pragma once

#include <sys/types.h>

#include <chrono>
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

// `relative` (a path in the source tree, e.g. "configs/smoke.toml") as an absolute path.
std::string source_path(const std::string& relative);

// A file's whole content ("" if it cannot be read).
std::string slurp(const std::string& path);

// How long a test waits for any one command or child before it calls it hung: long enough
// for the slowest run here under AddressSanitizer, short of ctest's TIMEOUT for the test.
inline constexpr std::chrono::seconds kHangLimit{240};

// Runs a shell command in a process group of its own; returns (exit code, or -1 if it did
// not exit; what it printed on stdout). A command still running after `limit` is killed with
// its whole group, and the exit code is kTimedOut: a hang fails the test instead of CI.
inline constexpr int kTimedOut = -2;
std::pair<int, std::string> run_shell(const std::string& command,
                                      std::chrono::seconds limit = kHangLimit);

// waitpid() for a child, bounded: false (the child SIGKILLed and reaped) if it has not
// changed state within `limit`. `options` as for waitpid (WUNTRACED, ...).
bool wait_child(pid_t pid, int* status, std::chrono::seconds limit = kHangLimit, int options = 0);

// Ends the test case as skipped: under ctest (HOGWILD_SKIP_EXIT_CODE set, see
// tests/CMakeLists.txt) the process exits with that code, which ctest reports as "Not Run";
// run by hand it only prints why, and the caller returns. For tests that need root or a tool.
void skip(const std::string& why);

// Names under /dev/shm that start with `prefix`.
std::vector<std::string> shm_entries(const std::string& prefix);

// Gives this test process (and what it starts from now on) an empty /dev/shm of its own: a
// private mount namespace with a fresh tmpfs there, so that a test sees every name a run
// leaves, whatever its prefix, and nothing of other processes'. Needs root; false if it could
// not (the caller then looks for the run's own prefixes). Done once per process.
bool private_dev_shm();

// The pids of a process's children, from /proc.
std::vector<int> children_of(int pid);

}  // namespace hogwild::testing
