#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "hogwild/error.h"
#include "hogwild/model.h"
#include "hogwild/momentum_store.h"
#include "hogwild/shared_parameters.h"
#include "test_support.h"
#include "torch_doctest.h"  // first: see there

using namespace hogwild;
using hogwild::testing::shm_entries;

TEST_CASE("a segment is created 0600 under a unique name and unlinked when destroyed") {
  const std::string prefix = "hogwild-test-" + std::to_string(::getpid());
  std::string name;
  {
    SharedSegment segment(4096, prefix);
    name = segment.name();
    CHECK(name.rfind(prefix, 0) == 0);
    struct stat info {};
    REQUIRE(::stat(("/dev/shm/" + name).c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    CHECK(info.st_size == 4096);
    CHECK(info.st_blocks * 512 >= 4096);  // pages reserved, not just a sparse size

    SharedSegment other(4096, prefix);
    CHECK(other.name() != name);
  }
  CHECK(shm_entries(prefix).empty());
}

TEST_CASE("unlinking removes the name but keeps the mapping usable") {
  const std::string prefix = "hogwild-test-" + std::to_string(::getpid());
  SharedSegment segment(128, prefix);
  auto* bytes = static_cast<unsigned char*>(segment.data());
  bytes[0] = 42;
  segment.unlink();
  CHECK_FALSE(segment.linked());
  CHECK(shm_entries(prefix).empty());
  bytes[127] = 7;
  CHECK(bytes[0] == 42);
}

TEST_CASE("a segment larger than /dev/shm's free space is refused before anything is created") {
  const std::string prefix = "hogwild-test-" + std::to_string(::getpid());
  const std::size_t too_big = shm_free_bytes() + (std::size_t{1} << 30);
  CHECK_THROWS_WITH(SharedSegment(too_big, prefix), doctest::Contains("/dev/shm has"));
  CHECK(shm_entries(prefix).empty());
}

TEST_CASE("every parameter moves into the segment, cache-line aligned, values unchanged") {
  torch::manual_seed(0);
  MnistNet model;
  std::vector<torch::Tensor> before;
  for (const auto& p : model->parameters()) before.push_back(p.detach().clone());

  SharedParameters shared(*model, "hogwild-test-" + std::to_string(::getpid()));
  CHECK(shared.parameter_count() == 28490);
  const auto* base = static_cast<const char*>(shared.segment().data());
  const auto parameters = model->parameters();
  REQUIRE(parameters.size() == shared.layout().size());
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const ParameterSlot& slot = shared.layout()[i];
    CHECK(slot.offset % kCacheLine == 0);
    CHECK(static_cast<const char*>(parameters[i].data_ptr()) == base + slot.offset);
    CHECK(slot.offset + slot.bytes <= shared.segment().size());
    CHECK(torch::equal(parameters[i], before[i]));
    CHECK(parameters[i].requires_grad());
  }
  // Training still works on the rebound parameters.
  const auto loss = model->forward(torch::rand({2, 1, 28, 28})).sum();
  loss.backward();
  CHECK(parameters[0].grad().defined());
}

TEST_CASE("a parameter that left the segment is found and named") {
  const auto expect_refused = [](const std::function<void(MnistNet&)>& unbind, const char* name) {
    MnistNet model;
    SharedParameters shared(*model, "hogwild-test-" + std::to_string(::getpid()));
    CHECK_NOTHROW(shared.check_bound(*model, "worker 0"));
    unbind(model);
    try {
      shared.check_bound(*model, "worker 0");
      FAIL("a private copy of " << name << " went unnoticed");
    } catch (const Error& e) {
      const std::string what = e.what();
      CHECK(what.find("worker 0: parameter " + std::string(name) +
                      " no longer lies in the shared segment") == 0);
    }
  };
  torch::NoGradGuard no_grad;
  const auto parameter = [](MnistNet& model, const char* name) {
    return model->named_parameters()[name];
  };
  // set_data with a copy, a memory-format change, a dtype round trip: each allocates anew.
  expect_refused(
      [&](MnistNet& m) {
        auto p = parameter(m, "fc1.bias");
        p.set_data(p.clone());
      },
      "fc1.bias");
  expect_refused(
      [&](MnistNet& m) {
        auto p = parameter(m, "conv2.weight");
        p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
      },
      "conv2.weight");
  expect_refused(
      [&](MnistNet& m) {
        auto p = parameter(m, "conv1.weight");
        p.set_data(p.to(torch::kBFloat16).to(torch::kFloat32));
      },
      "conv1.weight");
}

TEST_CASE("a write through a tensor in one process is seen from another") {
  torch::manual_seed(0);
  MnistNet model;
  SharedParameters shared(*model, "hogwild-test-" + std::to_string(::getpid()));
  shared.segment().unlink();  // as hogwild_train does before fork()
  auto weight = model->parameters()[0];

  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    torch::NoGradGuard no_grad;
    weight.fill_(3.5f);  // plain tensor op, in place on the shared floats
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(hogwild::testing::wait_child(child, &status));
  REQUIRE(WIFEXITED(status));
  CHECK(weight.min().item<float>() == 3.5f);
  CHECK(weight.max().item<float>() == 3.5f);
}

TEST_CASE(
    "the momentum store: one slot per worker, read and written flat in the parameters' order") {
  hogwild::MnistNet model;
  hogwild::SharedParameters shared(*model);
  hogwild::MomentumStore store(shared.layout(), shared.segment().size(), 3);
  const std::size_t floats = store.floats_per_worker();
  CHECK(floats == shared.parameter_count());
  std::vector<float> flat(floats);
  for (std::size_t i = 0; i < floats; ++i) flat[i] = float(i);
  store.write(1, flat);
  CHECK(store.read(1) == flat);
  CHECK(store.read(0) == std::vector<float>(floats, 0.0f));  // zeros at first; slots apart
  CHECK(store.read(2) == std::vector<float>(floats, 0.0f));
  // Parameter 1's buffer starts where parameter 0's values end.
  CHECK(*store.buffer(1, 1) == float(model->parameters()[0].numel()));
  store.clear(1);
  CHECK(store.read(1) == std::vector<float>(floats, 0.0f));
  CHECK_THROWS_AS(store.write(0, std::vector<float>(floats + 1)), hogwild::InputError);
}
