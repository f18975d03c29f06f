#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "hogwild/error.h"
#include "hogwild/partition.h"

using hogwild::StridedPartition;

namespace {

std::vector<int64_t> all_ranks(const StridedPartition& p, int64_t epoch) {
  std::vector<int64_t> all;
  for (int64_t r = 0; r < p.replicas(); ++r) {
    const auto mine = p.indices(r, epoch);
    all.insert(all.end(), mine.begin(), mine.end());
  }
  return all;
}

}  // namespace

TEST_CASE("partitions together cover every index, in equal sizes") {
  for (int64_t n : {1, 7, 10, 60, 1001}) {
    for (int64_t replicas : {1, 2, 3, 5, 8}) {
      CAPTURE(n);
      CAPTURE(replicas);
      const StridedPartition p(n, replicas, /*seed=*/42);
      const int64_t per_rank = (n + replicas - 1) / replicas;
      CHECK(p.samples_per_rank() == per_rank);
      std::set<int64_t> seen;
      for (int64_t r = 0; r < replicas; ++r) {
        const auto mine = p.indices(r, 0);
        CHECK(int64_t(mine.size()) == per_rank);
        for (int64_t i : mine) {
          CHECK(i >= 0);
          CHECK(i < n);
          seen.insert(i);
        }
      }
      CHECK(int64_t(seen.size()) == n);
    }
  }
}

TEST_CASE("rank r takes every replicas-th index of the epoch order, starting at r") {
  const StridedPartition p(10, 3, /*seed=*/5);
  const auto order = p.epoch_order(2);
  for (int64_t r = 0; r < 3; ++r) {
    const auto mine = p.indices(r, 2);
    for (std::size_t k = 0; k < mine.size(); ++k) {
      // Position r + 3k of the padded list; positions past 9 wrap to the start.
      CHECK(mine[k] == order[(r + 3 * int64_t(k)) % 10]);
    }
  }
}

TEST_CASE("padding repeats indices from the start exactly as DistributedSampler does") {
  // Without shuffling the order is 0..n-1, so the expected lists can be written out
  // (torch.utils.data.DistributedSampler(range(10), num_replicas=4, shuffle=False)).
  const StridedPartition p(10, 4, /*seed=*/0, /*shuffle=*/false);
  CHECK(p.total_size() == 12);
  CHECK(p.indices(0, 0) == std::vector<int64_t>{0, 4, 8});
  CHECK(p.indices(1, 0) == std::vector<int64_t>{1, 5, 9});
  CHECK(p.indices(2, 0) == std::vector<int64_t>{2, 6, 0});
  CHECK(p.indices(3, 0) == std::vector<int64_t>{3, 7, 1});

  SUBCASE("padded with the shuffled order's first elements") {
    const StridedPartition s(10, 4, /*seed=*/9);
    const auto order = s.epoch_order(1);
    auto all = all_ranks(s, 1);
    std::sort(all.begin(), all.end());
    std::vector<int64_t> expected(order.begin(), order.end());
    expected.push_back(order[0]);
    expected.push_back(order[1]);
    std::sort(expected.begin(), expected.end());
    CHECK(all == expected);
  }
}

TEST_CASE("more replicas than samples repeat the data set as often as needed") {
  const StridedPartition p(3, 8, /*seed=*/0, /*shuffle=*/false);
  CHECK(p.samples_per_rank() == 1);
  for (int64_t r = 0; r < 8; ++r) CHECK(p.indices(r, 0) == std::vector<int64_t>{r % 3});
}

TEST_CASE("the permutation changes with the epoch and is the same on every rank") {
  const StridedPartition a(1000, 4, /*seed=*/7);
  const StridedPartition b(1000, 4, /*seed=*/7);  // another process computing the same
  CHECK(a.epoch_order(0) == b.epoch_order(0));
  CHECK(a.indices(2, 3) == b.indices(2, 3));
  CHECK(a.epoch_order(0) != a.epoch_order(1));
  CHECK(a.indices(0, 0) != a.indices(0, 1));
  const StridedPartition other_seed(1000, 4, /*seed=*/8);
  CHECK(a.epoch_order(0) != other_seed.epoch_order(0));

  auto order = a.epoch_order(5);
  std::sort(order.begin(), order.end());
  for (int64_t i = 0; i < 1000; ++i) CHECK(order[i] == i);  // a permutation
}

TEST_CASE("one replica trains on the whole data set") {
  const StridedPartition p(100, 1, /*seed=*/3);
  CHECK(p.indices(0, 4) == p.epoch_order(4));
}

TEST_CASE("drop_last cuts the tail so every rank gets floor(n / replicas)") {
  const StridedPartition p(10, 4, /*seed=*/0, /*shuffle=*/false, /*drop_last=*/true);
  CHECK(p.samples_per_rank() == 2);
  CHECK(p.indices(0, 0) == std::vector<int64_t>{0, 4});
  CHECK(p.indices(3, 0) == std::vector<int64_t>{3, 7});
  CHECK_THROWS_WITH_AS(StridedPartition(3, 4, 0, true, true),
                       doctest::Contains("leaves nothing"), hogwild::InputError);
}

TEST_CASE("invalid partitions are rejected") {
  CHECK_THROWS_WITH_AS(StridedPartition(0, 2, 0), doctest::Contains("empty data set"),
                       hogwild::InputError);
  CHECK_THROWS_WITH_AS(StridedPartition(10, 0, 0), doctest::Contains("replicas"),
                       hogwild::InputError);
  const StridedPartition p(10, 2, 0);
  CHECK_THROWS_WITH_AS(p.indices(2, 0), doctest::Contains("rank 2"), hogwild::InputError);
  CHECK_THROWS_AS(p.indices(-1, 0), hogwild::InputError);
}
