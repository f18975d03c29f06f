#include <doctest/doctest.h>

#include <cstddef>

#include "hogwild/error.h"
#include "hogwild/memory.h"

using namespace hogwild;

TEST_CASE("available memory is positive and bounded by the machine") {
  const std::size_t available = available_memory_bytes();
  CHECK(available > 0);
  CHECK(available < (std::size_t{1} << 50));  // a real figure, not "unlimited"
}

TEST_CASE("require_memory passes what fits and names what does not") {
  CHECK_NOTHROW(require_memory(1, "one byte", "no hint needed"));
  CHECK_THROWS_WITH_AS(require_memory(std::size_t{1} << 60, "the data set", "use less"),
                       doctest::Contains("the data set needs 1099511627776 MiB but only"), Error);
  CHECK_THROWS_WITH_AS(require_memory(std::size_t{1} << 60, "the data set", "use less"),
                       doctest::Contains("; use less"), Error);
}
