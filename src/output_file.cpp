#include "hogwild/output_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "hogwild/error.h"

namespace hogwild {
namespace {

constexpr int kMaxSymlinkHops = 40;  // as the kernel's ELOOP limit

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// A closed pipe must be an error to report, not a SIGPIPE that kills the parent.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPIPE, &ignore, &saved_);
  }
  ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &saved_, nullptr); }
  IgnoreSigpipe(const IgnoreSigpipe&) = delete;
  IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

 private:
  struct sigaction saved_ {};
};

// 0 or the errno of the first failure.
int write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    bytes.remove_prefix(std::size_t(n));
  }
  return 0;
}

mode_t current_umask() {
  const mode_t mask = ::umask(022);
  ::umask(mask);
  return mask;
}

}  // namespace

bool names_stdout(const std::string& path) {
  return path == "-" || path == "/dev/stdout" || path == "/dev/fd/1" || path == "/proc/self/fd/1";
}

namespace {

// Where a path leads once its symlinks are followed.
struct Destination {
  enum class Ends { kStdout, kOpenFile, kPath } ends = Ends::kPath;
  std::string path;     // kPath: the end of the chain (to create when !exists)
  bool exists = false;  // kPath: something is there (not a symlink)
  struct stat info {};  // kPath and exists: what it is
};

// Follows `path`'s symlinks by hand: a dangling link names the file to create, and the link
// itself must survive the rename. Standard output and an open file of this process (a pipe, a
// log: /proc/..., /dev/fd/...) end the walk where they appear. `refuse(why)` makes the error.
template <class Refuse>
Destination follow_links(const std::string& path, const Refuse& refuse) {
  Destination end;
  if (names_stdout(path)) {
    end.ends = Destination::Ends::kStdout;
    return end;
  }
  if (path.rfind("/proc/", 0) == 0 || path.rfind("/dev/fd/", 0) == 0) {
    end.ends = Destination::Ends::kOpenFile;
    return end;
  }
  end.path = path;
  for (int hop = 0;; ++hop) {
    if (hop == kMaxSymlinkHops) throw refuse("too many levels of symbolic links");
    if (::lstat(end.path.c_str(), &end.info) != 0) {
      if (errno != ENOENT) throw refuse(std::strerror(errno));
      return end;  // a new file (its directory is checked by the caller)
    }
    if (!S_ISLNK(end.info.st_mode)) {
      end.exists = true;
      return end;
    }
    char link[PATH_MAX];
    const ssize_t n = ::readlink(end.path.c_str(), link, sizeof link - 1);
    if (n < 0) throw refuse(std::strerror(errno));
    const std::string next(link, std::size_t(n));
    if (names_stdout(next)) {
      end.ends = Destination::Ends::kStdout;
      return end;
    }
    if (next.rfind("/proc/", 0) == 0) {  // /dev/stderr and the like: an open file, as it is
      struct stat info {};
      if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) throw refuse("is a directory");
      end.ends = Destination::Ends::kOpenFile;
      return end;
    }
    end.path = next.front() == '/' ? next : directory_of(end.path) + "/" + next;
  }
}

}  // namespace

OutputFile::OutputFile(std::string path, std::string flag)
    : path_(std::move(path)), flag_(std::move(flag)) {
  const auto refuse = [&](const std::string& why) {
    return InputError(fmt::format("{} {}: {}", flag_, path_, why));
  };
  if (path_.empty()) throw refuse("empty file name");
  const Destination end = follow_links(path_, refuse);
  if (end.ends == Destination::Ends::kStdout) {
    kind_ = Kind::kStdout;
    return;
  }
  if (end.ends == Destination::Ends::kOpenFile) {
    kind_ = Kind::kDirect;
    target_ = path_;
    return;
  }
  target_ = end.path;
  const mode_t mode = end.info.st_mode;
  if (end.exists && S_ISDIR(mode)) throw refuse("is a directory; give a file name");
  if (end.exists && (S_ISFIFO(mode) || S_ISCHR(mode))) {
    kind_ = Kind::kDirect;
    if (::access(target_.c_str(), W_OK) != 0)
      throw refuse(fmt::format("cannot write: {}", std::strerror(errno)));
    return;
  }
  if (end.exists && !S_ISREG(mode)) {
    throw refuse("not a regular file, FIFO or character device; give a file name");
  }
  kind_ = Kind::kReplace;
  // The rename needs a temporary file beside the target: try making one now.
  std::string probe = target_ + ".probe-XXXXXX";
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) throw refuse(fmt::format("cannot write: {}", std::strerror(errno)));
  ::close(fd);
  ::unlink(probe.c_str());
}

void OutputFile::write(std::string_view bytes) const {
  const IgnoreSigpipe ignore_sigpipe;
  const auto failed = [&](int code) {
    return Error(fmt::format("{} {}: cannot write: {}", flag_, path_, std::strerror(code)));
  };
  if (kind_ == Kind::kStdout) {
    std::fflush(stdout);
    if (const int code = write_all(STDOUT_FILENO, bytes)) throw failed(code);
    return;
  }
  if (kind_ == Kind::kDirect) {
    // O_APPEND: a log that /dev/stderr leads to keeps what it holds. O_NONBLOCK: a FIFO
    // that nobody reads is an error (ENXIO), not a wait without end; then writes block.
    const int fd = ::open(target_.c_str(), O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && errno == ENXIO) {
      throw Error(fmt::format("{} {}: cannot write: no process is reading it", flag_, path_));
    }
    if (fd < 0) throw failed(errno);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    int code = write_all(fd, bytes);
    if (::close(fd) != 0 && code == 0 && errno != EINTR) code = errno;
    if (code != 0) throw failed(code);
    return;
  }
  std::string temporary = target_ + ".tmp-XXXXXX";
  const int fd = ::mkstemp(temporary.data());
  if (fd < 0) throw failed(errno);
  struct stat old {};
  const mode_t mode =
      ::stat(target_.c_str(), &old) == 0 ? (old.st_mode & 07777) : (0666 & ~current_umask());
  int code = ::fchmod(fd, mode) == 0 ? 0 : errno;
  if (code == 0) code = write_all(fd, bytes);
  if (code == 0 && ::fsync(fd) != 0) code = errno;  // ENOSPC and EIO may surface only here
  if (::close(fd) != 0 && code == 0) code = errno;
  if (code == 0 && ::rename(temporary.c_str(), target_.c_str()) != 0) code = errno;
  if (code != 0) {
    ::unlink(temporary.c_str());
    throw failed(code);
  }
}

bool same_file(const OutputFile& a, const OutputFile& b) {
  if (a.kind() != OutputFile::Kind::kReplace || b.kind() != OutputFile::Kind::kReplace)
    return false;
  // Absolute first: weakly_canonical leaves a relative name with no existing part ("m.json")
  // relative, while "./m.json" resolves to an absolute path.
  std::error_code ignored;
  const auto resolved = [&ignored](const std::string& path) {
    return std::filesystem::weakly_canonical(std::filesystem::absolute(path, ignored), ignored);
  };
  return resolved(a.target()) == resolved(b.target());
}

}  // namespace hogwild
