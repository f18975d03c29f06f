#include "hogwild/sync.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "hogwild/error.h"

namespace hogwild {

std::string SyncPlan::text() const {
  switch (mode) {
    case Mode::kEpoch:
      return "epoch";
    case Mode::kSteps:
      return fmt::format("steps:{}", every_steps);
    case Mode::kGrads:
      return "grads";
  }
  return "?";
}

SyncPlan parse_sync(const std::string& text) {
  SyncPlan plan;
  if (text == "epoch") return plan;
  if (text == "grads") {
    plan.mode = SyncPlan::Mode::kGrads;
    return plan;
  }
  if (text.rfind("steps:", 0) == 0) {
    const std::string number = text.substr(6);
    char* end = nullptr;
    errno = 0;
    const long long steps = std::strtoll(number.c_str(), &end, 10);
    if (!number.empty() && *end == '\0' && errno == 0 && steps >= 1 && steps <= 1000000) {
      plan.mode = SyncPlan::Mode::kSteps;
      plan.every_steps = steps;
      return plan;
    }
  }
  throw InputError(
      fmt::format("invalid sync = '{}': must be epoch, steps:S (S from 1 to 1000000 "
                  "steps of each worker) or grads (--sync / config key 'sync')",
                  text));
}

std::vector<SyncEvent> sync_schedule(const SyncPlan& plan, int64_t steps_per_epoch,
                                     int64_t epochs) {
  std::vector<SyncEvent> events;
  int64_t next_average = plan.mode == SyncPlan::Mode::kSteps ? plan.every_steps : 0;
  for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
    const int64_t end = epoch * steps_per_epoch;
    while (next_average > 0 && next_average <= end) {
      events.push_back({SyncEvent::Kind::kAverage, 0, next_average});
      next_average += plan.every_steps;
    }
    events.push_back({SyncEvent::Kind::kEpochEnd, epoch, end});
  }
  return events;
}

DeltaAverage::DeltaAverage(const float* params, std::size_t count)
    : anchor_(params, params + count), own_(count), shared_(count) {}

std::vector<float>& DeltaAverage::local_change(const float* params) {
  for (std::size_t i = 0; i < anchor_.size(); ++i) {
    own_[i] = params[i] - anchor_[i];
    shared_[i] = own_[i];
  }
  return shared_;
}

void DeltaAverage::apply(float* params, int ranks) {
  const float scale = 1.0f / float(ranks);
  for (std::size_t i = 0; i < anchor_.size(); ++i) {
    const float mean = shared_[i] * scale;
    params[i] += mean - own_[i];
    anchor_[i] += mean;
  }
}

void divide_in_place(float* values, std::size_t count, int ranks) {
  const float scale = 1.0f / float(ranks);
  for (std::size_t i = 0; i < count; ++i) values[i] *= scale;
}

uint64_t checksum(const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t hash = 0xcbf29ce484222325ull;
  std::size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    hash = (hash ^ word) * 0x100000001b3ull;
  }
  for (; i < bytes; ++i) hash = (hash ^ p[i]) * 0x100000001b3ull;
  return hash ^ bytes;
}

}  // namespace hogwild
