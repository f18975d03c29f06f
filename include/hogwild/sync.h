// How MPI ranks combine their models (--sync), and the arithmetic of it, without MPI: the
// parsing of the mode, the order of the collective operations every rank performs, and the
// averaging of a node's parameters while its Hogwild workers keep writing them. No torch and
// no mpi.h here, so all of it is unit-tested on plain floats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hogwild {

// --sync epoch | steps:S | grads
struct SyncPlan {
  enum class Mode { kEpoch, kSteps, kGrads };
  Mode mode = Mode::kEpoch;
  int64_t every_steps = 0;   // kSteps: each worker's steps between two averages
  std::string text() const;  // "epoch", "steps:20", "grads"
  // The ranks' models are averaged (epoch, steps:S), not their gradients (grads).
  bool averages_parameters() const { return mode != Mode::kGrads; }
};

// Throws InputError naming --sync and the forms it takes.
SyncPlan parse_sync(const std::string& text);

// What a rank's parent does, in the same order on every rank, as its workers progress:
// average the parameters once every worker of the node has made `step` steps (of the whole
// run), or close epoch `epoch` (1-based: gather the epoch's figures, evaluate, checkpoint)
// once every worker has finished it. The order is a function of the plan and the shape of
// the run alone, so the collectives of all ranks match.
struct SyncEvent {
  enum class Kind { kAverage, kEpochEnd };
  Kind kind = Kind::kAverage;
  int64_t epoch = 0;  // kEpochEnd: 1-based
  int64_t step = 0;   // steps of each worker since the run started when it is due
  bool operator==(const SyncEvent& other) const {
    return kind == other.kind && epoch == other.epoch && step == other.step;
  }
};

// Every event of a run of `epochs` epochs of `steps_per_epoch` steps. steps:S adds an average
// every S steps (one due with an epoch's end comes first); epoch averages at each epoch end
// (part of kEpochEnd); grads has only the epoch ends.
std::vector<SyncEvent> sync_schedule(const SyncPlan& plan, int64_t steps_per_epoch, int64_t epochs);

// The average over ranks of a node's parameters while its workers go on writing them. The
// node remembers the average it last agreed on (the anchor a). At a sync it reads its change
// d = p - a, the ranks sum d, and it adds mean(d) - d to p in place, then a += mean(d). A
// worker's update u that lands between the read and the add stays in p (p = a + mean + u),
// and the next d holds it once: nothing is lost or counted twice, beyond the element-wise
// races Hogwild always has.
class DeltaAverage {
 public:
  DeltaAverage(const float* params, std::size_t count);
  // d = p - a, into the buffer the collective sums in place.
  std::vector<float>& local_change(const float* params);
  // After the ranks' d are summed in that buffer: p += mean(d) - d, a += mean(d).
  void apply(float* params, int ranks);
  const std::vector<float>& anchor() const { return anchor_; }

 private:
  std::vector<float> anchor_;
  std::vector<float> own_;     // this node's d
  std::vector<float> shared_;  // d, then the sum over ranks
};

// sum / ranks in place: the sum of the ranks' parameters becomes their mean.
void divide_in_place(float* values, std::size_t count, int ranks);

// A 64-bit fingerprint of bytes (FNV-1a over 8-byte words): equal bytes, equal checksum.
uint64_t checksum(const void* data, std::size_t bytes);

}  // namespace hogwild
