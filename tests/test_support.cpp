#include "test_support.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace hogwild::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "hogwild-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ignored);
  fs::remove_all(path_, ignored);
}

namespace {
void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift : {24, 16, 8, 0}) out.push_back(uint8_t(v >> shift));
}
}  // namespace

std::vector<uint8_t> idx_images_bytes(uint32_t count, uint32_t rows, uint32_t cols,
                                      uint32_t magic) {
  std::vector<uint8_t> out;
  put_be32(out, magic);
  put_be32(out, count);
  put_be32(out, rows);
  put_be32(out, cols);
  for (uint64_t i = 0; i < uint64_t(count) * rows * cols; ++i) out.push_back(uint8_t(i * 7));
  return out;
}

std::vector<uint8_t> idx_labels_bytes(const std::vector<uint8_t>& labels, uint32_t magic) {
  std::vector<uint8_t> out;
  put_be32(out, magic);
  put_be32(out, uint32_t(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("cannot gzopen " + path);
  if (!bytes.empty()) gzwrite(file, bytes.data(), unsigned(bytes.size()));
  if (gzclose(file) != Z_OK) throw std::runtime_error("cannot write " + path);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::pair<int, std::string> run_shell(const std::string& command, std::chrono::seconds limit) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed: " + command);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed: " + command);
  if (pid == 0) {
    ::setpgid(0, 0);  // the command and everything it starts: one group to kill on a hang
    ::dup2(fds[1], 1);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no race with the child's own call
  ::close(fds[1]);
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool timed_out = false;
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, int(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the command and whatever it left running closed stdout
    text.append(buffer, std::size_t(n));
  }
  ::close(fds[0]);
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    MESSAGE("command timed out after " << limit.count() << " s and was killed: " << command);
    return {kTimedOut, text};
  }
  int status = 0;
  if (!wait_child(pid, &status,
                  std::chrono::duration_cast<std::chrono::seconds>(
                      deadline - std::chrono::steady_clock::now()) +
                      std::chrono::seconds(1))) {
    ::kill(-pid, SIGKILL);
    MESSAGE("command timed out and was killed: " << command);
    return {kTimedOut, text};
  }
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

bool wait_child(pid_t pid, int* status, std::chrono::seconds limit, int options) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const pid_t r = ::waitpid(pid, status, options | WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) return false;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, status, 0) < 0 && errno == EINTR) {
      }
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void skip(const std::string& why) {
  if (const char* code = std::getenv("HOGWILD_SKIP_EXIT_CODE"); code != nullptr && *code != '\0') {
    std::printf("skipped: %s\n", why.c_str());
    std::fflush(nullptr);
    std::_Exit(std::atoi(code));
  }
  MESSAGE("skipped: " << why);
}

std::vector<std::string> shm_entries(const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator("/dev/shm")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0) names.push_back(name);
  }
  return names;
}

bool private_dev_shm() {
  static const bool done = [] {
    if (::geteuid() != 0) return false;
    // The calling thread's view, inherited by every process it forks.
    if (::unshare(CLONE_NEWNS) != 0) return false;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
    return ::mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=64m,mode=1777") == 0;
  }();
  return done;
}

std::vector<int> children_of(int pid) {
  std::vector<int> pids;
  std::istringstream in(slurp(fmt::format("/proc/{}/task/{}/children", pid, pid)));
  for (int child; in >> child;) pids.push_back(child);
  return pids;
}

std::string source_path(const std::string& relative) {
  return std::string(HOGWILD_SOURCE_DIR) + "/" + relative;
}

}  // namespace hogwild::testing
