#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "hogwild/error.h"
#include "hogwild/sync.h"

using namespace hogwild;

TEST_CASE("--sync takes epoch, steps:S and grads, and names itself in errors") {
  CHECK(parse_sync("epoch").mode == SyncPlan::Mode::kEpoch);
  CHECK(parse_sync("grads").mode == SyncPlan::Mode::kGrads);
  CHECK_FALSE(parse_sync("grads").averages_parameters());
  const SyncPlan steps = parse_sync("steps:25");
  CHECK(steps.mode == SyncPlan::Mode::kSteps);
  CHECK(steps.every_steps == 25);
  CHECK(steps.text() == "steps:25");
  for (const char* bad : {"", "steps", "steps:", "steps:0", "steps:-3", "steps:1x",
                          "steps:99999999999999999999", "Epoch", "grad"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_sync(bad), InputError);
  }
  CHECK_THROWS_WITH(parse_sync("sometimes"),
                    "invalid sync = 'sometimes': must be epoch, steps:S (S from 1 to 1000000 steps "
                    "of each worker) or grads (--sync / config key 'sync')");
}

TEST_CASE("the schedule: averages every S steps, an average due at an epoch's end comes first") {
  using K = SyncEvent::Kind;
  const auto events = sync_schedule(parse_sync("steps:4"), /*steps_per_epoch=*/6, /*epochs=*/2);
  const std::vector<SyncEvent> expected = {{K::kAverage, 0, 4},
                                           {K::kEpochEnd, 1, 6},
                                           {K::kAverage, 0, 8},
                                           {K::kAverage, 0, 12},
                                           {K::kEpochEnd, 2, 12}};
  CHECK(events == expected);
  const auto epochs = sync_schedule(parse_sync("epoch"), 6, 3);
  CHECK(epochs ==
        std::vector<SyncEvent>{{K::kEpochEnd, 1, 6}, {K::kEpochEnd, 2, 12}, {K::kEpochEnd, 3, 18}});
  CHECK(sync_schedule(parse_sync("grads"), 5, 2) ==
        std::vector<SyncEvent>{{K::kEpochEnd, 1, 5}, {K::kEpochEnd, 2, 10}});
  CHECK(sync_schedule(parse_sync("steps:100"), 6, 2).size() == 2);  // S longer than the run
}

TEST_CASE(
    "delta averaging: the ranks agree on the mean, and updates made meanwhile are kept once") {
  const std::vector<float> start = {1.0f, -2.0f, 0.5f};
  std::vector<float> a = start, b = start;
  DeltaAverage node_a(a.data(), a.size());
  DeltaAverage node_b(b.data(), b.size());
  // Each node trains on its own.
  a = {1.5f, -2.0f, 0.0f};
  b = {0.5f, -1.0f, 0.5f};
  auto& da = node_a.local_change(a.data());
  auto& db = node_b.local_change(b.data());
  // A worker of node a writes while the collective runs.
  a[2] += 0.25f;
  // The collective: both buffers become the sum.
  for (std::size_t i = 0; i < da.size(); ++i) da[i] = db[i] = da[i] + db[i];
  node_a.apply(a.data(), 2);
  node_b.apply(b.data(), 2);
  const std::vector<float> mean = {1.0f, -1.5f, 0.25f};
  CHECK(node_a.anchor() == mean);
  CHECK(node_b.anchor() == mean);
  CHECK(b == mean);
  CHECK(a == std::vector<float>{1.0f, -1.5f, 0.5f});  // the mean plus the late update
  // The next round carries the late update exactly once.
  auto& next = node_a.local_change(a.data());
  CHECK(next == std::vector<float>{0.0f, 0.0f, 0.25f});
}

TEST_CASE("plain averaging and checksums") {
  std::vector<float> sum = {3.0f, 6.0f, -9.0f};
  divide_in_place(sum.data(), sum.size(), 3);
  CHECK(sum == std::vector<float>{1.0f, 2.0f, -3.0f});
  const std::vector<float> x = {1.0f, 2.0f, 3.0f};
  std::vector<float> y = x;
  CHECK(checksum(x.data(), 12) == checksum(y.data(), 12));
  y[1] = std::nextafter(2.0f, 3.0f);  // one bit
  CHECK(checksum(x.data(), 12) != checksum(y.data(), 12));
  CHECK(checksum(x.data(), 11) != checksum(x.data(), 12));
}
