// Every local worker's momentum buffers in a shared segment of their own: one slot per
// worker, laid out as the parameters are. A worker's optimizer updates its slot in place, so
// the parent can put a checkpoint's buffers there before the workers start (--resume) and
// read them back when it saves one, as it reads the parameters. Torch-free: plain floats.
#pragma once

#include <cstddef>
#include <vector>

#include "hogwild/shared_parameters.h"

namespace hogwild {

class MomentumStore {
 public:
  // `layout`: the parameters' slots (SharedParameters::layout()), `slot_bytes`: their segment's
  // size.
  MomentumStore(const std::vector<ParameterSlot>& layout, std::size_t slot_bytes, int workers);

  int workers() const { return workers_; }
  // Floats of one worker's buffers: every parameter's, no padding.
  std::size_t floats_per_worker() const;
  // Where worker `worker`'s buffer of parameter `parameter` (layout order) starts.
  float* buffer(int worker, std::size_t parameter) const;
  // One worker's buffers, flat, in layout order (RunState::momentum's form).
  std::vector<float> read(int worker) const;
  // Throws InputError when `flat` is not floats_per_worker() long.
  void write(int worker, const std::vector<float>& flat);
  void clear(int worker);

 private:
  std::vector<ParameterSlot> layout_;
  std::size_t slot_bytes_;
  int workers_;
  SharedSegment segment_;
};

}  // namespace hogwild
