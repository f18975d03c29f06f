// Writing a result file (--metrics-out, --save-model, checkpoints) without harming what is
// already there. A regular file, or a new one, is replaced atomically: a temporary file in
// the directory of the real target (symlinks followed, so a link stays a link), fsync, rename.
// A FIFO or a character device (/dev/null, /dev/full, a terminal) is written directly, and
// "-" or /dev/stdout means standard output. Anything else (a directory, a socket, a block
// device) is refused before training starts. No torch here.
#pragma once

#include <string>
#include <string_view>

namespace hogwild {

class OutputFile {
 public:
  enum class Kind {
    kReplace,  // a regular file or a new one: temporary file + rename
    kDirect,   // a FIFO or a character device: opened and written as it is
    kStdout,   // "-", /dev/stdout, /dev/fd/1, /proc/self/fd/1
  };

  // Resolves `path` and checks that it can be written, now rather than after training.
  // `flag` names the option in messages ("--metrics-out"). Throws InputError naming the
  // flag, the path and the reason: a directory, a missing or read-only directory, a socket.
  OutputFile(std::string path, std::string flag);

  const std::string& path() const { return path_; }
  // Where the bytes go: the end of the symlink chain ("" for standard output).
  const std::string& target() const { return target_; }
  Kind kind() const { return kind_; }

  // Writes `bytes` as the file's whole content. Throws Error naming the file and the reason
  // (ENOSPC, EIO, a closed pipe) if any part fails; a regular file is then left untouched.
  void write(std::string_view bytes) const;

 private:
  std::string path_;
  std::string flag_;
  std::string target_;
  Kind kind_ = Kind::kReplace;
};

// True for "-" and the names of standard output.
bool names_stdout(const std::string& path);

// True when two outputs would replace the same file (the same path however written, or
// through a symlink): the second write would destroy the first. Devices and FIFOs (two
// /dev/null) are not files to lose, and standard output is handled by its own rules.
bool same_file(const OutputFile& a, const OutputFile& b);

}  // namespace hogwild
