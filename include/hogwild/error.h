// Exception types. Every error the user can cause is an InputError (exit code 2);
// anything else that stops a run (fork failed, a worker died) is a plain Error (exit code 1).
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

namespace hogwild {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad flags, bad config files, missing or corrupt data files.
class InputError : public Error {
 public:
  using Error::Error;
};

// A failure that trying again would repeat (a diverged loss, say): a worker that fails
// with one is not restarted.
class FatalError : public Error {
 public:
  using Error::Error;
};

// An MPI job's input error that every rank found at the same point, so that all of them can
// stop together (MPI_Finalize); rank 0 throws it with the message for the user.
class JobInputError : public InputError {
 public:
  using InputError::InputError;
};

// The same error on the other ranks: rank 0 tells the user.
class ReportedByRankZero : public JobInputError {
 public:
  using JobInputError::JobInputError;
};

// "<what>: <strerror(errno)>" for failed system calls.
std::string system_error_text(const std::string& what, int errnum);

// The first line of an error message: what main() prints (LibTorch's span many lines).
std::string first_line(const std::string& text);

// A tool's main(): runs `body`; an InputError becomes exit code 2, any other exception exit
// code 1, each told as one line on stderr, "PROGRAM: error: MESSAGE".
int run_tool(const char* program, const std::function<int()>& body);

}  // namespace hogwild
