#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "hogwild/error.h"
#include "hogwild/output_file.h"
#include "test_support.h"

using hogwild::Error;
using hogwild::InputError;
using hogwild::OutputFile;
using hogwild::same_file;
using hogwild::testing::slurp;
using hogwild::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

// The message of the exception `write` or the constructor throws, or "" if none.
template <typename E, typename F>
std::string thrown(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a new file and a regular file are replaced whole, keeping the old mode") {
  TempDir dir;
  const std::string path = dir.file("out.json");
  OutputFile fresh(path, "--metrics-out");
  CHECK(fresh.kind() == OutputFile::Kind::kReplace);
  CHECK(names_in(dir.path()).empty());  // the writability probe left nothing
  fresh.write("first");
  CHECK(slurp(path) == "first");

  ::chmod(path.c_str(), 0640);
  OutputFile(path, "--metrics-out").write("second");
  CHECK(slurp(path) == "second");
  CHECK((fs::status(path).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
  CHECK(names_in(dir.path()) == std::vector<std::string>{"out.json"});
}

TEST_CASE("a symlink stays a link: its target is replaced, also when it dangles") {
  TempDir dir;
  fs::create_directory(dir.file("real"));
  std::ofstream(dir.file("real/old.json")) << "old";
  fs::create_symlink("real/old.json", dir.file("link.json"));
  OutputFile link(dir.file("link.json"), "--metrics-out");
  CHECK(link.target() == dir.path() + "/real/old.json");
  link.write("new");
  CHECK(fs::is_symlink(dir.file("link.json")));
  CHECK(slurp(dir.file("real/old.json")) == "new");

  fs::create_symlink(dir.file("real/missing.json"), dir.file("dangling.json"));
  OutputFile(dir.file("dangling.json"), "--save-model").write("made");
  CHECK(fs::is_symlink(dir.file("dangling.json")));
  CHECK(slurp(dir.file("real/missing.json")) == "made");
  CHECK(names_in(dir.file("real")) == std::vector<std::string>{"missing.json", "old.json"});

  fs::create_symlink("loop.json", dir.file("loop.json"));
  CHECK(thrown<InputError>([&] {
          OutputFile(dir.file("loop.json"), "--metrics-out");
        }).find("too many levels of symbolic links") != std::string::npos);
}

TEST_CASE("a directory, a missing directory and a socket are refused before anything runs") {
  TempDir dir;
  CHECK(thrown<InputError>([&] { OutputFile(dir.path(), "--metrics-out"); }) ==
        "--metrics-out " + dir.path() + ": is a directory; give a file name");
  CHECK(thrown<InputError>([&] { OutputFile(dir.file("no/such/m.json"), "--save-model"); }) ==
        "--save-model " + dir.file("no/such/m.json") + ": cannot write: No such file or directory");
  CHECK(thrown<InputError>([&] {
          OutputFile("/dev/shm/", "--metrics-out");
        }).find("is a directory") != std::string::npos);
  CHECK(thrown<InputError>([&] { OutputFile("", "--metrics-out"); }).find("empty file name") !=
        std::string::npos);

  // A Unix socket bound to a name in the directory: not a file to write a model into.
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(sock >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string socket_path = dir.file("s.sock");
  REQUIRE(socket_path.size() < sizeof address.sun_path);
  std::copy(socket_path.begin(), socket_path.end(), address.sun_path);
  REQUIRE(::bind(sock, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(fs::is_socket(socket_path));
  CHECK(thrown<InputError>([&] { OutputFile(socket_path, "--save-model"); }) ==
        "--save-model " + socket_path +
            ": not a regular file, FIFO or character device; give a file name");
  ::close(sock);
  CHECK(fs::is_socket(socket_path));  // refused, not replaced
}

TEST_CASE("two outputs are one file when their paths, however written or linked, end at one file") {
  TempDir dir;
  fs::create_directory(dir.file("sub"));
  fs::create_symlink(dir.file("m.json"), dir.file("link.json"));
  const auto same = [](const std::string& a, const std::string& b) {
    return same_file(OutputFile(a, "--metrics-out"), OutputFile(b, "--save-model"));
  };
  CHECK(same(dir.file("m.json"), dir.file("m.json")));
  CHECK(same(dir.file("m.json"), dir.file("sub/../m.json")));
  CHECK(same(dir.file("m.json"), dir.file("./m.json")));
  CHECK(same(dir.file("link.json"), dir.file("m.json")));  // a dangling link to it, too
  CHECK_FALSE(same(dir.file("m.json"), dir.file("model.pt")));
  CHECK_FALSE(same(dir.file("m.json"), dir.file("sub/m.json")));
  CHECK_FALSE(same("/dev/null", "/dev/null"));  // nothing to lose
  // Relative names of a file not yet there: "m.json" has no existing part to resolve.
  const fs::path before = fs::current_path();
  fs::current_path(dir.path());
  const bool relative_same = same("new.json", "./new.json");
  const bool relative_other = same("new.json", "sub/new.json");
  fs::current_path(before);
  CHECK(relative_same);
  CHECK_FALSE(relative_other);
}

TEST_CASE("a FIFO with a reader is written, not replaced, and one without a reader is an error") {
  TempDir dir;
  const std::string fifo = dir.file("fifo.json");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  OutputFile out(fifo, "--metrics-out");
  CHECK(out.kind() == OutputFile::Kind::kDirect);
  CHECK(thrown<Error>([&] { out.write("nobody listens"); }) ==
        "--metrics-out " + fifo + ": cannot write: no process is reading it");

  // A reader that has the FIFO open (opened first, so no sleep orders the two): the small
  // write fits the pipe, and the reader gets it and then the end of file.
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(reader >= 0);
  out.write("through the fifo");
  std::string received(64, '\0');
  const ssize_t n = ::read(reader, received.data(), received.size());
  REQUIRE(n >= 0);
  received.resize(std::size_t(n));
  CHECK(received == "through the fifo");
  CHECK(::read(reader, &received[0], 1) == 0);  // the writer has closed its end
  ::close(reader);
  CHECK(fs::is_fifo(fifo));
}

TEST_CASE("a reader that goes away mid-write is an error, not a SIGPIPE") {
  TempDir dir;
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(reader >= 0);
  // The reader goes away once the writer has filled the pipe (4 MiB cannot fit: the writer is
  // then mid-write), as the reader itself sees it, not after a guessed sleep.
  std::thread closer([&] {
    int queued = 0;
    for (int i = 0; i < 20000 && queued < 4096; ++i) {  // up to 20 s; at once in practice
      ::ioctl(reader, FIONREAD, &queued);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ::close(reader);
  });
  const std::string big(4 << 20, 'x');  // far more than a pipe holds
  const std::string message = thrown<Error>([&] { OutputFile(fifo, "--metrics-out").write(big); });
  closer.join();
  CHECK(message == "--metrics-out " + fifo + ": cannot write: Broken pipe");
}

TEST_CASE("/dev/full fails with ENOSPC and stays a device, /dev/null takes everything") {
  OutputFile full("/dev/full", "--metrics-out");
  CHECK(full.kind() == OutputFile::Kind::kDirect);
  CHECK(thrown<Error>([&] { full.write("{}"); }) ==
        "--metrics-out /dev/full: cannot write: No space left on device");
  CHECK(fs::is_character_file("/dev/full"));
  OutputFile("/dev/null", "--metrics-out").write("{}");
  CHECK(fs::is_character_file("/dev/null"));
}

TEST_CASE("- and the names of standard output write to file descriptor 1") {
  for (const char* name : {"-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"}) {
    CAPTURE(name);
    CHECK(OutputFile(name, "--metrics-out").kind() == OutputFile::Kind::kStdout);
  }
  // Written through fd 1 while it points at a pipe we read.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::fflush(stdout);
  const int saved = ::dup(1);
  ::dup2(fds[1], 1);
  OutputFile("-", "--metrics-out").write("to stdout");
  ::dup2(saved, 1);
  ::close(saved);
  ::close(fds[1]);
  char buffer[64] = {};
  CHECK(::read(fds[0], buffer, sizeof buffer - 1) == 9);
  ::close(fds[0]);
  CHECK(std::string(buffer) == "to stdout");
  CHECK(fs::is_symlink("/dev/stdout"));
}
