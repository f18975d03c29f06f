#include <filesystem>
#include <fstream>

#include "hogwild/checkpoint.h"
#include "hogwild/error.h"
#include "hogwild/model.h"
#include "test_support.h"
#include "torch_doctest.h"  // first: see there

using namespace hogwild;
using hogwild::testing::TempDir;

namespace {

// Same parameter names as MnistNet's first layer, other shapes.
struct WrongShapeImpl : torch::nn::Module {
  WrongShapeImpl() { register_module("conv1", torch::nn::Conv2d(1, 8, 5)); }
};

}  // namespace

TEST_CASE("saved parameters load back exactly, and no temporary file is left") {
  TempDir dir;
  const std::string path = dir.file("model.pt");
  torch::manual_seed(1);
  MnistNet saved;
  save_parameters(*saved, path);
  CHECK(std::filesystem::exists(path));
  int files = 0;  // the temporary file is gone
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path()))
    ++files;
  CHECK(files == 1);

  torch::manual_seed(2);
  MnistNet loaded;
  CHECK_FALSE(torch::equal(loaded->parameters()[0], saved->parameters()[0]));
  load_parameters(*loaded, path);
  const auto a = saved->parameters();
  const auto b = loaded->parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(torch::equal(a[i], b[i]));
}

TEST_CASE("loading names the file and what is wrong with it") {
  TempDir dir;
  MnistNet model;
  CHECK_THROWS_WITH_AS(load_parameters(*model, dir.file("missing.pt")),
                       doctest::Contains("missing.pt: No such file or directory"), InputError);
  CHECK_THROWS_WITH_AS(load_parameters(*model, dir.path()), doctest::Contains("not a regular file"),
                       InputError);
  std::ofstream(dir.file("junk.pt")) << "this is not a model";
  CHECK_THROWS_WITH_AS(load_parameters(*model, dir.file("junk.pt")),
                       doctest::Contains("junk.pt: not a saved model"), InputError);

  const auto wrong = std::make_shared<WrongShapeImpl>();
  save_parameters(*wrong, dir.file("wrong.pt"));
  CHECK_THROWS_WITH_AS(
      load_parameters(*model, dir.file("wrong.pt")),
      doctest::Contains("parameter 'conv1.weight' has shape [8, 1, 5, 5], the network "
                        "needs [16, 1, 5, 5]"),
      InputError);

  torch::nn::Linear other(3, 4);  // names "weight" and "bias": none of ours
  save_parameters(*other, dir.file("other.pt"));
  CHECK_THROWS_WITH_AS(load_parameters(*model, dir.file("other.pt")),
                       doctest::Contains("has no parameter 'conv1.weight'"), InputError);
}

TEST_CASE("saving to a directory that does not exist fails with the path") {
  MnistNet model;
  CHECK_THROWS_WITH_AS(save_parameters(*model, "/nonexistent-dir/model.pt"),
                       doctest::Contains("/nonexistent-dir/model.pt"), Error);
}

TEST_CASE("a checkpoint holds the run's state beside the parameters, and reads back exactly") {
  TempDir dir;
  const std::string path = dir.file("checkpoint.pt");
  torch::manual_seed(3);
  MnistNet model;
  int64_t floats = 0;
  for (const auto& p : model->parameters()) floats += p.numel();
  RunState state;
  state.epochs_done = 7;
  state.ranks = 2;
  state.training_config = "lr = 0.03\nprocs = 2\n";
  state.training_data = "training data = 60000 images, checksum 0123456789abcdef";
  state.partial = true;
  for (int k = 0; k < 3; ++k) {  // distinct values everywhere: an order mix-up shows
    std::vector<float> buffer(std::size_t(floats), 0.0f);
    for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = float(k) + float(i) * 1e-3f;
    state.momentum.push_back(buffer);
  }
  save_checkpoint(*model, path, state);

  const RunState back = read_run_state(path);
  CHECK(back.epochs_done == 7);
  CHECK(back.ranks == 2);
  CHECK(back.training_config == state.training_config);
  CHECK(back.training_data == state.training_data);
  CHECK(back.partial);
  REQUIRE(back.momentum.size() == 3);
  for (int k = 0; k < 3; ++k)
    CHECK(back.momentum[std::size_t(k)] == state.momentum[std::size_t(k)]);

  // The parameters load as from a file of parameters alone (hogwild_eval, --init-from).
  torch::manual_seed(4);
  MnistNet loaded;
  load_parameters(*loaded, path);
  for (std::size_t i = 0; i < model->parameters().size(); ++i) {
    CHECK(torch::equal(loaded->parameters()[i], model->parameters()[i]));
  }
}

TEST_CASE("a file of parameters alone has no run state: --resume is refused with the way out") {
  TempDir dir;
  MnistNet model;
  save_parameters(*model, dir.file("old.pt"));
  CHECK_THROWS_WITH_AS(read_run_state(dir.file("old.pt")),
                       doctest::Contains("holds parameters but not the run that made them"),
                       InputError);
  CHECK_THROWS_WITH_AS(read_run_state(dir.file("old.pt")),
                       doctest::Contains(("--init-from " + dir.file("old.pt")).c_str()),
                       InputError);
  std::ofstream(dir.file("junk.pt")) << "this is not a model";
  CHECK_THROWS_WITH_AS(read_run_state(dir.file("junk.pt")), doctest::Contains("not a saved model"),
                       InputError);
}
