#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

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

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A copy of `from` at `to` with the first occurrence of `find` replaced by `with` (same size).
void write_changed(const std::string& from, const std::string& to, const std::string& find,
                   const std::string& with) {
  std::string bytes = read_bytes(from);
  const std::size_t at = bytes.find(find);
  REQUIRE(at != std::string::npos);
  REQUIRE(find.size() == with.size());
  bytes.replace(at, find.size(), with);
  std::ofstream(to, std::ios::binary) << bytes;
}

std::string float_bytes(float value) {
  std::string bytes(sizeof(float), '\0');
  std::memcpy(bytes.data(), &value, sizeof(float));
  return bytes;
}

}  // namespace

TEST_CASE("a checkpoint changed after it was saved is refused, naming the file and the part") {
  // LibTorch's reader checks none of the values: without the checksums each of these files
  // would load as another model or run.
  TempDir dir;
  const std::string path = dir.file("checkpoint.pt");
  MnistNet model;
  {
    torch::NoGradGuard no_grad;
    model->parameters()[0].fill_(0.375f);  // conv1.weight: a value to find in the file
  }
  int64_t floats = 0;
  for (const auto& p : model->parameters()) floats += p.numel();
  RunState state;
  state.epochs_done = 3;
  state.training_config = "lr = 0.03\nprocs = 2\n";
  state.training_data = "training data = 60000 images";
  state.momentum.push_back(std::vector<float>(std::size_t(floats), 0.8125f));
  save_checkpoint(*model, path, state);
  REQUIRE_NOTHROW(load_parameters(*model, path));
  REQUIRE_NOTHROW(read_run_state(path));

  SUBCASE("a parameter's value") {
    write_changed(path, dir.file("bad.pt"), float_bytes(0.375f), float_bytes(0.376f));
    CHECK_THROWS_WITH_AS(
        load_parameters(*model, dir.file("bad.pt")),
        doctest::Contains(
            (dir.file("bad.pt") + ": damaged: its parameters are not what was saved").c_str()),
        InputError);
    CHECK(read_run_state(dir.file("bad.pt")).epochs_done == 3);  // the run state is whole
  }
  SUBCASE("a momentum value") {
    write_changed(path, dir.file("bad.pt"), float_bytes(0.8125f), float_bytes(0.8126f));
    CHECK_THROWS_WITH_AS(read_run_state(dir.file("bad.pt")),
                         doctest::Contains("damaged: its run state and momentum buffers are not "
                                           "what was saved"),
                         InputError);
    CHECK_NOTHROW(load_parameters(*model, dir.file("bad.pt")));
  }
  SUBCASE("the training configuration") {
    write_changed(path, dir.file("bad.pt"), "procs = 2", "procs = 3");
    CHECK_THROWS_WITH_AS(read_run_state(dir.file("bad.pt")),
                         doctest::Contains("damaged: its run state"), InputError);
  }
  SUBCASE("a key's name, which LibTorch's reader does not take") {
    write_changed(path, dir.file("bad.pt"), "momentum_0", "momentum_9");
    CHECK_THROWS_WITH_AS(read_run_state(dir.file("bad.pt")),
                         doctest::Contains((dir.file("bad.pt") + ": ").c_str()), InputError);
  }
}

TEST_CASE("a checkpoint saved before the checksums existed still loads") {
  TempDir dir;
  MnistNet model;
  int64_t floats = 0;
  for (const auto& p : model->parameters()) floats += p.numel();
  // As save_checkpoint wrote it until 2026-12-07: the same keys, no checksums.
  torch::serialize::OutputArchive archive;
  for (const auto& item : model->named_parameters()) archive.write(item.key(), item.value());
  torch::serialize::OutputArchive run;
  run.write("format", c10::IValue(int64_t(1)));
  run.write("epochs_done", c10::IValue(int64_t(2)));
  run.write("ranks", c10::IValue(int64_t(1)));
  run.write("training_config", c10::IValue(std::string("procs = 1\n")));
  run.write("training_data", c10::IValue(std::string("data")));
  run.write("partial", c10::IValue(false));
  run.write("momentum_buffers", c10::IValue(int64_t(1)));
  torch::serialize::OutputArchive buffers;
  for (const auto& item : model->named_parameters()) {
    buffers.write(item.key(), torch::full_like(item.value(), 0.5f), /*is_buffer=*/true);
  }
  run.write("momentum_0", buffers);
  archive.write("hogwild_run", run);
  archive.save_to(dir.file("old.pt"));

  MnistNet loaded;
  load_parameters(*loaded, dir.file("old.pt"));
  CHECK(torch::equal(loaded->parameters()[0], model->parameters()[0]));
  const RunState back = read_run_state(dir.file("old.pt"));
  CHECK(back.epochs_done == 2);
  REQUIRE(back.momentum.size() == 1);
  CHECK(back.momentum[0] == std::vector<float>(std::size_t(floats), 0.5f));
}
