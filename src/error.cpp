#include "hogwild/error.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstring>

namespace hogwild {

std::string system_error_text(const std::string& what, int errnum) {
  return what + ": " + std::strerror(errnum);
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

int run_tool(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const InputError& e) {
    fmt::print(stderr, "{}: error: {}\n", program, first_line(e.what()));
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", program, first_line(e.what()));
    return 1;
  }
}

}  // namespace hogwild
