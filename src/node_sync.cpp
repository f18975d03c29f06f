#include "hogwild/node_sync.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace hogwild {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

NodeSync::NodeSync(MpiWorld& world, const SyncPlan& plan, float* params, std::size_t count,
                   WorkerControl* control, int procs, int64_t steps_per_epoch, int64_t epochs,
                   EpochHandler on_epoch, int64_t first_epoch, EveryRankHook at_epoch_end)
    : world_(world),
      plan_(plan),
      params_(params),
      count_(count),
      control_(control),
      steps_per_epoch_(steps_per_epoch),
      on_epoch_(std::move(on_epoch)),
      at_epoch_end_(std::move(at_epoch_end)),
      events_(sync_schedule(plan, steps_per_epoch, epochs)),
      reported_(std::size_t(procs), first_epoch),
      last_end_(now_seconds()),
      mpi_at_last_end_(world.seconds_in_mpi()) {
  // Resumed: what the checkpoint's epochs did is done.
  while (
      next_ < events_.size() && events_[next_].step <= first_epoch * steps_per_epoch &&
      (events_[next_].kind == SyncEvent::Kind::kAverage || events_[next_].epoch <= first_epoch)) {
    ++next_;
  }
  if (plan.mode == SyncPlan::Mode::kSteps) delta_.emplace(params, count);
}

void NodeSync::worker_epoch(int worker, int64_t epoch, const Totals& totals, double seconds,
                            double lr) {
  reported_[std::size_t(worker)] = std::max(reported_[std::size_t(worker)], epoch);
  Pending& pending = pending_[epoch];
  pending.totals += totals;
  pending.seconds = std::max(pending.seconds, seconds);
  pending.lr = lr;
  ++pending.reports;
}

int64_t NodeSync::done_steps(int worker) const {
  const int64_t counted =
      control_ ? control_->steps[worker].value.load(std::memory_order_relaxed) : 0;
  return std::max(counted, reported_[std::size_t(worker)] * steps_per_epoch_);
}

bool NodeSync::advance() {
  while (next_ < events_.size()) {
    const SyncEvent& event = events_[next_];
    if (event.kind == SyncEvent::Kind::kAverage) {
      int64_t slowest = done_steps(0);
      for (int r = 1; r < int(reported_.size()); ++r) slowest = std::min(slowest, done_steps(r));
      if (slowest < event.step) return false;
      // The workers go on writing while the ranks sum their changes.
      std::vector<float>& change = delta_->local_change(params_);
      world_.allreduce_sum(change.data(), change.size());
      delta_->apply(params_, world_.size());
      ++averages_;
      ++next_;
    } else {
      if (*std::min_element(reported_.begin(), reported_.end()) < event.epoch) return false;
      ++next_;
      if (end_epoch(event.epoch)) return true;
    }
  }
  return false;
}

void NodeSync::average_exactly() {
  // Every rank divides the same sum the same way: the ranks end bit-identical.
  world_.allreduce_sum(params_, count_);
  divide_in_place(params_, count_, world_.size());
  ++averages_;
}

bool NodeSync::end_epoch(int64_t epoch) {
  // --sync epoch: the workers wait at the gate (or have exited), so nothing moves meanwhile.
  if (plan_.mode == SyncPlan::Mode::kEpoch) average_exactly();
  if (at_epoch_end_) at_epoch_end_(epoch);
  const Pending pending = pending_[epoch];
  pending_.erase(epoch);
  NodeEpoch mine;
  mine.samples = pending.totals.samples;
  mine.correct = pending.totals.correct;
  mine.loss_sum = pending.totals.loss_sum;
  mine.seconds = pending.seconds;
  mine.lr = pending.lr;
  const double now = now_seconds();
  mine.wall_seconds = now - last_end_;
  mine.mpi_seconds = world_.seconds_in_mpi() - mpi_at_last_end_;
  if (plan_.mode != SyncPlan::Mode::kSteps)
    mine.checksum = checksum(params_, count_ * sizeof(float));
  const std::vector<char> gathered = world_.gather(&mine, sizeof mine);
  int32_t stop = 0;
  if (world_.rank() == 0) {
    std::vector<NodeEpoch> nodes(std::size_t(world_.size()));
    std::memcpy(nodes.data(), gathered.data(), gathered.size());
    stop = on_epoch_(epoch, nodes) ? 1 : 0;
  }
  world_.broadcast(&stop, sizeof stop);
  if (control_ != nullptr) control_->released_epoch.store(epoch, std::memory_order_release);
  last_end_ = now_seconds();
  mpi_at_last_end_ = world_.seconds_in_mpi();
  return stop != 0;
}

void NodeSync::finish() {
  if (plan_.mode == SyncPlan::Mode::kSteps) average_exactly();
  const uint64_t mine = checksum(params_, count_ * sizeof(float));
  const std::vector<char> gathered = world_.gather(&mine, sizeof mine);
  final_checksums_.resize(gathered.size() / sizeof(uint64_t));
  if (!gathered.empty())
    std::memcpy(final_checksums_.data(), gathered.data(), gathered.size());  // rank 0
}

}  // namespace hogwild
