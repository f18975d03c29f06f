#include "hogwild/partition.h"

#include <fmt/format.h>

#include <numeric>
#include <random>

#include "hogwild/error.h"

namespace hogwild {
namespace {

// Unbiased integer in [0, bound) by rejection, so the permutation depends only on the seed,
// not on a standard library's distribution implementation.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
  uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % bound;
}

}  // namespace

StridedPartition::StridedPartition(int64_t dataset_size, int64_t replicas, uint64_t seed,
                                   bool shuffle, bool drop_last)
    : dataset_size_(dataset_size),
      replicas_(replicas),
      seed_(seed),
      shuffle_(shuffle),
      drop_last_(drop_last) {
  if (dataset_size < 1) {
    throw InputError(fmt::format("cannot partition an empty data set (size {})", dataset_size));
  }
  if (replicas < 1) throw InputError(fmt::format("replicas must be at least 1, not {}", replicas));
  samples_per_replica_ =
      drop_last ? dataset_size / replicas : (dataset_size + replicas - 1) / replicas;
  if (samples_per_replica_ == 0) {
    throw InputError(fmt::format("drop_last with {} replicas leaves nothing of a data set of {}",
                                 replicas, dataset_size));
  }
}

std::vector<int64_t> StridedPartition::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(dataset_size_);
  std::iota(order.begin(), order.end(), int64_t{0});
  if (shuffle_) {
    std::mt19937_64 rng(seed_ + uint64_t(epoch));
    for (int64_t i = dataset_size_ - 1; i > 0; --i) {
      std::swap(order[i], order[uniform_below(rng, uint64_t(i) + 1)]);
    }
  }
  return order;
}

std::vector<int64_t> StridedPartition::indices(int64_t replica, int64_t epoch) const {
  if (replica < 0 || replica >= replicas_) {
    throw InputError(fmt::format("replica {} is outside 0..{}", replica, replicas_ - 1));
  }
  const std::vector<int64_t> order = epoch_order(epoch);
  std::vector<int64_t> mine;
  mine.reserve(samples_per_replica_);
  // Position p of the padded list is order[p % n]: padding repeats from the start, as often
  // as needed when there are more replicas than samples.
  for (int64_t p = replica; p < total_size(); p += replicas_)
    mine.push_back(order[p % dataset_size_]);
  return mine;
}

}  // namespace hogwild
