#include "hogwild/error.h"

#include <cstring>

namespace hogwild {

std::string system_error_text(const std::string& what, int errnum) {
  return what + ": " + std::strerror(errnum);
}

}  // namespace hogwild
