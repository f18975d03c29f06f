#include "hogwild/checkpoint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <torch/torch.h>

#include <sstream>

#include "hogwild/error.h"
#include "hogwild/output_file.h"

namespace hogwild {
namespace {

constexpr const char* kRunKey = "hogwild_run";
constexpr int64_t kRunStateFormat = 1;

void write_parameters(const torch::nn::Module& module, torch::serialize::OutputArchive& archive) {
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    archive.write(item.key(), item.value().detach());
  }
}

void write_file(torch::serialize::OutputArchive& archive, const std::string& path) {
  std::ostringstream bytes;
  try {
    archive.save_to(bytes);
  } catch (const c10::Error& e) {
    throw Error(
        fmt::format("cannot serialise the model for {}: {}", path, e.what_without_backtrace()));
  }
  OutputFile(path, "--save-model").write(bytes.str());
}

void open_archive(const std::string& path, torch::serialize::InputArchive& archive) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) throw InputError(system_error_text(path, errno));
  if (!S_ISREG(info.st_mode)) throw InputError(fmt::format("{}: not a regular file", path));
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("{}: not a saved model ({})", path,
                                 std::string(e.what_without_backtrace()).substr(0, 120)));
  }
}

}  // namespace

void save_parameters(const torch::nn::Module& module, const std::string& path) {
  torch::serialize::OutputArchive archive;
  write_parameters(module, archive);
  write_file(archive, path);
}

void load_parameters(torch::nn::Module& module, const std::string& path) {
  torch::serialize::InputArchive archive;
  open_archive(path, archive);
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    torch::Tensor saved;
    if (!archive.try_read(item.key(), saved)) {
      throw InputError(fmt::format("{}: has no parameter '{}'; it is not a model of this network",
                                   path, item.key()));
    }
    if (saved.sizes() != item.value().sizes()) {
      throw InputError(fmt::format("{}: parameter '{}' has shape [{}], the network needs [{}]",
                                   path, item.key(), fmt::join(saved.sizes(), ", "),
                                   fmt::join(item.value().sizes(), ", ")));
    }
    item.value().copy_(saved);
  }
}

void save_checkpoint(const torch::nn::Module& module, const std::string& path,
                     const RunState& state) {
  torch::serialize::OutputArchive archive;
  write_parameters(module, archive);
  torch::serialize::OutputArchive run;
  run.write("format", c10::IValue(kRunStateFormat));
  run.write("epochs_done", c10::IValue(state.epochs_done));
  run.write("ranks", c10::IValue(state.ranks));
  run.write("training_config", c10::IValue(state.training_config));
  run.write("training_data", c10::IValue(state.training_data));
  run.write("partial", c10::IValue(state.partial));
  run.write("momentum_buffers", c10::IValue(int64_t(state.momentum.size())));
  const auto parameters = module.named_parameters(/*recurse=*/true);
  for (std::size_t k = 0; k < state.momentum.size(); ++k) {
    torch::serialize::OutputArchive buffers;
    const std::vector<float>& flat = state.momentum[k];
    int64_t offset = 0;
    for (const auto& item : parameters) {
      const int64_t n = item.value().numel();
      if (offset + n > int64_t(flat.size()))
        throw std::logic_error("save_checkpoint: a momentum buffer is short");
      const auto slice =
          torch::from_blob(const_cast<float*>(flat.data()) + offset, item.value().sizes()).clone();
      buffers.write(item.key(), slice, /*is_buffer=*/true);
      offset += n;
    }
    run.write(fmt::format("momentum_{}", k), buffers);
  }
  archive.write(kRunKey, run);
  write_file(archive, path);
}

RunState read_run_state(const std::string& path) {
  torch::serialize::InputArchive archive;
  open_archive(path, archive);
  torch::serialize::InputArchive run;
  if (!archive.try_read(kRunKey, run)) {
    throw InputError(
        fmt::format("{}: holds parameters but not the run that made them (saved by an "
                    "older hogwild_train); --init-from {} starts a new run from them",
                    path, path));
  }
  const auto read = [&](const char* key) {
    c10::IValue value;
    if (!run.try_read(key, value))
      throw InputError(fmt::format("{}: its run state has no '{}'", path, key));
    return value;
  };
  if (read("format").toInt() != kRunStateFormat) {
    throw InputError(
        fmt::format("{}: its run state is of format {}, this hogwild_train reads {}; "
                    "--init-from {} starts a new run from its parameters",
                    path, read("format").toInt(), kRunStateFormat, path));
  }
  RunState state;
  state.epochs_done = read("epochs_done").toInt();
  state.ranks = read("ranks").toInt();
  state.training_config = read("training_config").toStringRef();
  state.training_data = read("training_data").toStringRef();
  state.partial = read("partial").toBool();
  const int64_t buffers = read("momentum_buffers").toInt();
  for (int64_t k = 0; k < buffers; ++k) {
    torch::serialize::InputArchive saved;
    if (!run.try_read(fmt::format("momentum_{}", k), saved)) {
      throw InputError(fmt::format("{}: its run state lacks worker {}'s momentum", path, k));
    }
    std::vector<float> flat;
    for (const auto& key : saved.keys()) {
      torch::Tensor t;
      saved.read(key, t, /*is_buffer=*/true);
      t = t.contiguous().to(torch::kFloat32);
      flat.insert(flat.end(), t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    }
    state.momentum.push_back(std::move(flat));
  }
  return state;
}

}  // namespace hogwild
