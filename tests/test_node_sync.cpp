// A node's part in the MPI job, without MPI: a world of one (as started without mpirun),
// where the collectives are identities, so the schedule, the epoch figures, the gate and the
// stop decision can be checked on their own.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "hogwild/node_sync.h"

using namespace hogwild;

namespace {

struct Node {
  MpiWorld world{nullptr, nullptr};
  std::vector<float> params = {1.0f, 2.0f, 3.0f};
  std::unique_ptr<WorkerControl> control = std::make_unique<WorkerControl>();
  std::vector<std::pair<int64_t, NodeEpoch>> epochs;  // what rank 0's handler saw
  bool stop_at_epoch_1 = false;

  NodeSync make(const std::string& sync, int procs, int64_t steps_per_epoch, int64_t epochs_total) {
    return NodeSync(world, parse_sync(sync), params.data(), params.size(), control.get(), procs,
                    steps_per_epoch, epochs_total,
                    [this](int64_t epoch, const std::vector<NodeEpoch>& nodes) {
                      REQUIRE(nodes.size() == 1);
                      epochs.emplace_back(epoch, nodes[0]);
                      return stop_at_epoch_1 && epoch == 1;
                    });
  }
};

}  // namespace

TEST_CASE(
    "node sync: an epoch ends once every local worker has reported it, and the gate opens then") {
  Node node;
  REQUIRE_FALSE(node.world.active());
  NodeSync sync = node.make("epoch", 2, /*steps_per_epoch=*/5, /*epochs=*/2);
  sync.worker_epoch(0, 1, Totals{10, 7, 5.0}, 1.5);
  CHECK_FALSE(sync.advance());
  CHECK(node.epochs.empty());
  CHECK(node.control->released_epoch == 0);  // worker 0 waits at the gate
  sync.worker_epoch(1, 1, Totals{10, 9, 3.0}, 2.5);
  CHECK_FALSE(sync.advance());
  REQUIRE(node.epochs.size() == 1);
  CHECK(node.epochs[0].first == 1);
  CHECK(node.epochs[0].second.samples == 20);
  CHECK(node.epochs[0].second.correct == 16);
  CHECK(node.epochs[0].second.loss_sum == 8.0);
  CHECK(node.epochs[0].second.seconds == 2.5);  // the slower worker
  CHECK(node.epochs[0].second.checksum == checksum(node.params.data(), 3 * sizeof(float)));
  CHECK(node.control->released_epoch == 1);
  CHECK(sync.averages() == 1);
  // That the average is the mean of the ranks' parameters needs ranks: test_accumulation.cpp
  // checks it under mpirun against the mean computed there.
}

TEST_CASE("node sync: steps:S averages when the slowest worker has made S more steps") {
  Node node;
  NodeSync sync = node.make("steps:3", 2, /*steps_per_epoch=*/5, /*epochs=*/2);
  node.control->steps[0].value = 4;
  node.control->steps[1].value = 2;
  CHECK_FALSE(sync.advance());
  CHECK(sync.averages() == 0);
  node.control->steps[1].value = 3;
  CHECK_FALSE(sync.advance());
  CHECK(sync.averages() == 1);  // at step 3; the next is due at 6, after the epoch's end at 5
  sync.worker_epoch(0, 1, Totals{5, 5, 1.0}, 1.0);
  sync.worker_epoch(1, 1, Totals{5, 4, 1.0}, 1.0);  // a report counts as the epoch's steps
  node.control->steps[0].value = 6;
  CHECK_FALSE(sync.advance());
  CHECK(node.epochs.size() == 1);
  CHECK(sync.averages() == 1);  // worker 1 is at step 5 of 6
  node.control->steps[1].value = 6;
  CHECK_FALSE(sync.advance());
  CHECK(sync.averages() == 2);
  sync.finish();
  CHECK(sync.averages() == 3);  // the final exact average
  CHECK(sync.final_checksums().size() == 1);
}

TEST_CASE("node sync: rank 0's stop decision ends the run at that epoch") {
  Node node;
  node.stop_at_epoch_1 = true;
  NodeSync sync = node.make("grads", 1, 4, 3);
  sync.worker_epoch(0, 1, Totals{4, 4, 0.5}, 0.1);
  CHECK(sync.advance());
  CHECK(node.epochs.size() == 1);
  CHECK(sync.averages() == 0);  // grads averages gradients, not parameters
}
