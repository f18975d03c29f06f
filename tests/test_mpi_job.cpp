// The MPI ranks' agreement (mpi_job.h) and the gradient average of --sync grads
// (gradient_average.h), without mpirun: the pure parts, and a world of one. Under mpirun both
// are tested end to end in test_mpi.cpp (ranks that disagree; grads against one process).
#include "hogwild/error.h"
#include "hogwild/gradient_average.h"
#include "hogwild/mpi_job.h"
#include "torch_doctest.h"  // first: see there

using namespace hogwild;

namespace {

bool has_line(const std::vector<std::string>& lines, const std::string& prefix) {
  for (const auto& line : lines) {
    if (line.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

}  // namespace

TEST_CASE(
    "a job's fingerprint: every key but the files rank 0 alone uses and the data path, then the "
    "data") {
  Config config;
  config.procs = 3;
  config.metrics_out = "m.json";
  const auto lines = job_fingerprint(config, {"training data = 7 images, checksum 01"});
  CHECK(has_line(lines, "procs = 3"));
  CHECK(has_line(lines, "epochs = "));
  CHECK(has_line(lines, "sync = "));
  for (const char* key : {"data_dir", "metrics_out", "save_model", "resume"}) {
    CAPTURE(key);
    CHECK_FALSE(has_line(lines, std::string(key) + " = "));
  }
  CHECK(lines.back() == "training data = 7 images, checksum 01");
}

TEST_CASE("ranks that disagree: the first rank and the first line that differ, as rank 0 says it") {
  const std::vector<std::string> zero = {"procs = 2", "epochs = 3", "training data = 9 images"};
  CHECK_FALSE(first_disagreement({zero}).has_value());
  CHECK_FALSE(first_disagreement({zero, zero, zero}).has_value());
  CHECK_FALSE(first_disagreement({}).has_value());
  auto other = zero;
  other[1] = "epochs = 4";
  const auto message = first_disagreement({zero, zero, other, {"procs = 1"}});
  REQUIRE(message.has_value());
  CHECK(*message ==
        "MPI rank 2 disagrees with rank 0: epochs = 4 there, epochs = 3 on rank 0; every "
        "rank needs the same flags, config file and data files");
  // A rank with fewer or more lines differs too.
  CHECK(first_disagreement({zero, {"procs = 2", "epochs = 3"}})
            .value()
            .find("(nothing) there, training data = 9 images on rank 0") != std::string::npos);
  CHECK(first_disagreement({zero, {"procs = 2", "epochs = 3", "training data = 9 images", "x = 1"}})
            .value()
            .find("x = 1 there, (nothing) on rank 0") != std::string::npos);
}

TEST_CASE("bad input on some ranks: rank 0's own message, else the first wrong rank's, named") {
  CHECK_FALSE(first_bad_input({"", "", ""}).has_value());
  CHECK_FALSE(first_bad_input({}).has_value());
  CHECK(first_bad_input({"invalid procs = 0", "invalid procs = 0"}) == "invalid procs = 0");
  CHECK(first_bad_input({"", "", "unknown key 'x'", "invalid procs = 0"}) ==
        "MPI rank 2: unknown key 'x'");
  MpiWorld world(nullptr, nullptr);  // one rank: its own message, as without MPI
  std::string message;
  CHECK_FALSE(any_rank_bad_input(world, "", &message));
  CHECK(message.empty());
  CHECK(any_rank_bad_input(world, "invalid epochs = 0", &message));
  CHECK(message == "invalid epochs = 0");
}

TEST_CASE("without mpirun the one rank agrees with itself") {
  MpiWorld world(nullptr, nullptr);
  REQUIRE_FALSE(world.active());
  CHECK_NOTHROW(check_ranks_agree(world, {"procs = 2"}));
}

TEST_CASE("the gradient average packs every gradient into one buffer and back, each in its place") {
  // A world of one: the mean of one rank is its own gradient, so every value must come back
  // to the tensor and position it left (a shifted offset or a swapped order would not).
  MpiWorld world(nullptr, nullptr);
  std::vector<torch::Tensor> parameters = {torch::zeros({2, 3}, torch::requires_grad()),
                                           torch::zeros({5}, torch::requires_grad()),
                                           torch::zeros({1, 1, 2, 2}, torch::requires_grad())};
  std::vector<torch::Tensor> expected;
  float next = 1.0f;
  for (auto& p : parameters) {
    p.mutable_grad() = torch::arange(next, next + float(p.numel())).reshape(p.sizes());
    next += float(p.numel());
    expected.push_back(p.grad().clone());
  }
  GradientAverage average(parameters, world);
  CHECK(average.floats() == 6 + 5 + 4);
  average();
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    CAPTURE(i);
    CHECK(torch::equal(parameters[i].grad(), expected[i]));
  }
}
