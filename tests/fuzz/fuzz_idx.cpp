// libFuzzer target for the IDX parser: any input must either parse or be refused with an
// InputError; anything else (a crash, a sanitizer report, another exception) is a bug.
#include <cstddef>
#include <cstdint>

#include "hogwild/error.h"
#include "hogwild/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    const hogwild::IdxImages images = hogwild::parse_idx_images(data, size, "fuzz-input");
    if (images.pixels.size() != std::size_t(images.count * images.rows * images.cols))
      __builtin_trap();
  } catch (const hogwild::InputError&) {
  }
  try {
    const hogwild::IdxLabels labels = hogwild::parse_idx_labels(data, size, "fuzz-input");
    for (uint8_t label : labels.labels) {
      if (label > 9) __builtin_trap();
    }
  } catch (const hogwild::InputError&) {
  }
  return 0;
}
