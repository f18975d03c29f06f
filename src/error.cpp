#include "hogwild/error.h"

#include <cstring>

namespace hogwild {

std::string system_error_text(const std::string& what, int errnum) {
  return what + ": " + std::strerror(errnum);
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace hogwild
