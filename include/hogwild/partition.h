// The DistributedSampler-style strided partition of a data set over replicas (one per worker of the
// job).
//
// Each epoch: the indices 0..n-1 are shuffled with a generator seeded `seed + epoch` (the same
// permutation on every rank), padded by repeating from the start up to a multiple of the
// number of replicas (or cut down to one, with drop_last), and replica r takes every
// replicas-th index starting at r. This is PyTorch's torch.utils.data.DistributedSampler
// semantics; the permutation itself comes from our own generator, not torch.randperm.
#pragma once

#include <cstdint>
#include <vector>

namespace hogwild {

class StridedPartition {
 public:
  StridedPartition(int64_t dataset_size, int64_t replicas, uint64_t seed, bool shuffle = true,
                   bool drop_last = false);

  int64_t dataset_size() const { return dataset_size_; }
  int64_t replicas() const { return replicas_; }
  // Indices each replica gets per epoch, and all replicas together.
  int64_t samples_per_replica() const { return samples_per_replica_; }
  int64_t total_size() const { return samples_per_replica_ * replicas_; }

  // The epoch's order of the whole data set, before padding; identical for every replica.
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  // The indices replica `replica` trains on in `epoch`, in order.
  std::vector<int64_t> indices(int64_t replica, int64_t epoch) const;

 private:
  int64_t dataset_size_;
  int64_t replicas_;
  uint64_t seed_;
  bool shuffle_;
  bool drop_last_;
  int64_t samples_per_replica_;
};

}  // namespace hogwild
