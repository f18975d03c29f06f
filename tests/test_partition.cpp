#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "hogwild/error.h"
#include "hogwild/partition.h"
#include "test_support.h"

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

TEST_CASE(
    "partitions together cover every index, in equal sizes, repeating no more than they must") {
  for (int64_t n : {1, 7, 10, 60, 1001}) {
    for (int64_t replicas : {1, 2, 3, 5, 8}) {
      CAPTURE(n);
      CAPTURE(replicas);
      const StridedPartition p(n, replicas, /*seed=*/42);
      std::set<int64_t> seen;
      std::size_t total = 0;
      for (int64_t r = 0; r < replicas; ++r) {
        const auto mine = p.indices(r, 0);
        CHECK(int64_t(mine.size()) == p.samples_per_replica());
        total += mine.size();
        for (int64_t i : mine) {
          CHECK(i >= 0);
          CHECK(i < n);
          seen.insert(i);
        }
      }
      CHECK(int64_t(seen.size()) == n);  // every index somewhere
      // The fewest that split evenly: padding adds fewer than one per replica, or one sample
      // each when there are more replicas than samples.
      CHECK(int64_t(total) % replicas == 0);
      if (n >= replicas) {
        CHECK(int64_t(total) - n < replicas);
      } else {
        CHECK(int64_t(total) == replicas);
      }
    }
  }
}

TEST_CASE("the partition is torch.utils.data.DistributedSampler's, index for index") {
  // Unshuffled (the shuffled order comes from our own generator, partition.h): padding,
  // drop_last, and more replicas than samples, against PyTorch itself. Debian's python3-torch
  // belongs to /usr/bin/python3.
  const auto [code, text] = hogwild::testing::run_shell(R"(/usr/bin/python3 -c '
import json
from torch.utils.data import DistributedSampler
out = {}
for n in (1, 2, 3, 7, 10, 12, 60, 101):
    for r in (1, 2, 3, 4, 5, 8, 13):
        for drop_last in (False, True):
            out["%d %d %d" % (n, r, drop_last)] = [
                list(DistributedSampler(range(n), num_replicas=r, rank=k, shuffle=False, drop_last=drop_last))
                for k in range(r)]
print(json.dumps(out))
' 2>&1)");
  INFO("python: " << text.substr(0, 2000));
  REQUIRE(code == 0);
  const auto expected = nlohmann::json::parse(text);
  REQUIRE(expected.size() == 8 * 7 * 2);
  int compared = 0, differ_on_purpose = 0;
  for (const auto& [key, lists] : expected.items()) {
    CAPTURE(key);
    int64_t n = 0, replicas = 0, drop_last = 0;
    REQUIRE(std::sscanf(key.c_str(), "%ld %ld %ld", &n, &replicas, &drop_last) == 3);
    if (drop_last && n < replicas) {
      // PyTorch gives every replica nothing to train on; we refuse (README, partition).
      for (const auto& list : lists) CHECK(list.empty());
      CHECK_THROWS_AS(StridedPartition(n, replicas, 0, false, true), hogwild::InputError);
      ++differ_on_purpose;
      continue;
    }
    const StridedPartition p(n, replicas, /*seed=*/0, /*shuffle=*/false, drop_last != 0);
    for (int64_t r = 0; r < replicas; ++r) {
      CHECK(p.indices(r, 0) == lists[std::size_t(r)].get<std::vector<int64_t>>());
    }
    ++compared;
  }
  CHECK(compared == 8 * 7 * 2 - differ_on_purpose);
  CHECK(differ_on_purpose > 0);
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
  CHECK(p.samples_per_replica() == 1);
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
  CHECK(p.samples_per_replica() == 2);
  CHECK(p.indices(0, 0) == std::vector<int64_t>{0, 4});
  CHECK(p.indices(3, 0) == std::vector<int64_t>{3, 7});
  CHECK_THROWS_WITH_AS(StridedPartition(3, 4, 0, true, true), doctest::Contains("leaves nothing"),
                       hogwild::InputError);
}

TEST_CASE("invalid partitions are rejected") {
  CHECK_THROWS_WITH_AS(StridedPartition(0, 2, 0), doctest::Contains("empty data set"),
                       hogwild::InputError);
  CHECK_THROWS_WITH_AS(StridedPartition(10, 0, 0), doctest::Contains("replicas"),
                       hogwild::InputError);
  const StridedPartition p(10, 2, 0);
  CHECK_THROWS_WITH_AS(p.indices(2, 0), doctest::Contains("replica 2"), hogwild::InputError);
  CHECK_THROWS_AS(p.indices(-1, 0), hogwild::InputError);
}
