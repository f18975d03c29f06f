#include "hogwild/momentum_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "hogwild/error.h"

namespace hogwild {

MomentumStore::MomentumStore(const std::vector<ParameterSlot>& layout, std::size_t slot_bytes,
                             int workers)
    : layout_(layout),
      slot_bytes_(slot_bytes),
      workers_(workers),
      segment_(std::max<std::size_t>(slot_bytes * std::size_t(workers), kCacheLine),
               "hogwild-momentum") {
  segment_.unlink();  // forked workers keep the mapping; nothing is left in /dev/shm
  std::memset(segment_.data(), 0, segment_.size());
}

std::size_t MomentumStore::floats_per_worker() const {
  std::size_t floats = 0;
  for (const auto& slot : layout_) floats += slot.bytes / sizeof(float);
  return floats;
}

float* MomentumStore::buffer(int worker, std::size_t parameter) const {
  char* base = static_cast<char*>(segment_.data()) + std::size_t(worker) * slot_bytes_;
  return reinterpret_cast<float*>(base + layout_.at(parameter).offset);
}

std::vector<float> MomentumStore::read(int worker) const {
  std::vector<float> flat;
  flat.reserve(floats_per_worker());
  for (std::size_t i = 0; i < layout_.size(); ++i) {
    const float* from = buffer(worker, i);
    flat.insert(flat.end(), from, from + layout_[i].bytes / sizeof(float));
  }
  return flat;
}

void MomentumStore::write(int worker, const std::vector<float>& flat) {
  if (flat.size() != floats_per_worker()) {
    throw InputError(
        fmt::format("a saved momentum buffer holds {} values, this network has {} parameters",
                    flat.size(), floats_per_worker()));
  }
  std::size_t at = 0;
  for (std::size_t i = 0; i < layout_.size(); ++i) {
    std::memcpy(buffer(worker, i), flat.data() + at, layout_[i].bytes);
    at += layout_[i].bytes / sizeof(float);
  }
}

void MomentumStore::clear(int worker) {
  std::memset(static_cast<char*>(segment_.data()) + std::size_t(worker) * slot_bytes_, 0,
              slot_bytes_);
}

}  // namespace hogwild
