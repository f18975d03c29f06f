#include "hogwild/checkpoint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <torch/torch.h>

#include <sstream>

#include "hogwild/error.h"
#include "hogwild/hash.h"
#include "hogwild/output_file.h"
#include "hogwild/sync.h"

namespace hogwild {
namespace {

constexpr const char* kRunKey = "hogwild_run";
constexpr int64_t kRunStateFormat = 1;

// A fingerprint of tensors' values, in order. LibTorch's reader checks neither the zip's CRCs
// nor anything else of the values, so a byte changed on a disk, in a copy or by hand would
// load as a different model; a checkpoint keeps this beside them and a load compares it.
uint64_t values_checksum(const std::vector<torch::Tensor>& tensors) {
  uint64_t hash = 0;
  for (const auto& tensor : tensors) {
    const torch::Tensor values = tensor.contiguous();
    hash = mix64(hash ^ checksum(values.data_ptr(), std::size_t(values.nbytes())));
  }
  return hash;
}

// The run state's fields as text, for its checksum.
std::string state_fields(const RunState& state) {
  return fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n", state.epochs_done, state.ranks, state.partial,
                     state.momentum.size(), state.training_config, state.training_data);
}

// The checksum of what the run state holds: its fields and every momentum buffer.
uint64_t run_checksum(const RunState& state, const std::vector<torch::Tensor>& momentum) {
  const std::string fields = state_fields(state);
  return mix64(checksum(fields.data(), fields.size()) ^ values_checksum(momentum));
}

// Writes a snapshot of the parameters (workers may still be writing them) and returns it: the
// bytes the file gets are the ones the checksum sees.
std::vector<torch::Tensor> write_parameters(const torch::nn::Module& module,
                                            torch::serialize::OutputArchive& archive) {
  std::vector<torch::Tensor> written;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    written.push_back(item.value().detach().clone());
    archive.write(item.key(), written.back());
  }
  return written;
}

// The checksums are kept as int64 (the archive's integer); older files have none.
c10::IValue checksum_value(uint64_t hash) { return c10::IValue(int64_t(hash)); }

void check_checksum(const std::string& path, const char* what, uint64_t found,
                    const c10::IValue& saved) {
  if (uint64_t(saved.toInt()) == found) return;
  throw InputError(fmt::format(
      "{}: damaged: its {} are not what was saved (checksum {:016x}, saved {:016x}: changed on "
      "disk, in a copy or by hand); use another copy or an earlier checkpoint",
      path, what, found, uint64_t(saved.toInt())));
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

// Runs `read`, a reading of the file at `path`: what LibTorch or the standard library throw on
// a file damaged past its checksums' reach (a key renamed, a value of another type) becomes an
// InputError that names the file.
template <typename Read>
auto read_or_refuse(const std::string& path, Read read) {
  const auto refuse = [&path](const std::string& why) {
    return InputError(fmt::format("{}: damaged: it does not read as a checkpoint ({})", path,
                                  why.substr(0, 120)));
  };
  try {
    return read();
  } catch (const InputError&) {
    throw;
  } catch (const c10::Error& e) {
    throw refuse(e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw refuse(e.what());
  }
}

}  // namespace

void save_parameters(const torch::nn::Module& module, const std::string& path) {
  torch::serialize::OutputArchive archive;
  write_parameters(module, archive);
  write_file(archive, path);
}

void load_parameters(torch::nn::Module& module, const std::string& path) {
  read_or_refuse(path, [&] {
    torch::serialize::InputArchive archive;
    open_archive(path, archive);
    torch::NoGradGuard no_grad;
    auto parameters = module.named_parameters(/*recurse=*/true);
    std::vector<torch::Tensor> saved;
    for (const auto& item : parameters) {
      torch::Tensor value;
      if (!archive.try_read(item.key(), value)) {
        throw InputError(fmt::format("{}: has no parameter '{}'; it is not a model of this network",
                                     path, item.key()));
      }
      if (value.sizes() != item.value().sizes()) {
        throw InputError(fmt::format("{}: parameter '{}' has shape [{}], the network needs [{}]",
                                     path, item.key(), fmt::join(value.sizes(), ", "),
                                     fmt::join(item.value().sizes(), ", ")));
      }
      saved.push_back(value);
    }
    torch::serialize::InputArchive run;
    c10::IValue expected;
    if (archive.try_read(kRunKey, run) && run.try_read("parameters_checksum", expected)) {
      check_checksum(path, "parameters", values_checksum(saved), expected);
    }
    for (std::size_t i = 0; i < saved.size(); ++i) parameters[i].value().copy_(saved[i]);
  });
}

void save_checkpoint(const torch::nn::Module& module, const std::string& path,
                     const RunState& state) {
  torch::serialize::OutputArchive archive;
  const std::vector<torch::Tensor> parameters_written = write_parameters(module, archive);
  torch::serialize::OutputArchive run;
  run.write("format", c10::IValue(kRunStateFormat));
  run.write("parameters_checksum", checksum_value(values_checksum(parameters_written)));
  run.write("epochs_done", c10::IValue(state.epochs_done));
  run.write("ranks", c10::IValue(state.ranks));
  run.write("training_config", c10::IValue(state.training_config));
  run.write("training_data", c10::IValue(state.training_data));
  run.write("partial", c10::IValue(state.partial));
  run.write("momentum_buffers", c10::IValue(int64_t(state.momentum.size())));
  const auto parameters = module.named_parameters(/*recurse=*/true);
  std::vector<torch::Tensor> momentum_written;
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
      momentum_written.push_back(slice);
      offset += n;
    }
    run.write(fmt::format("momentum_{}", k), buffers);
  }
  run.write("run_checksum", checksum_value(run_checksum(state, momentum_written)));
  archive.write(kRunKey, run);
  write_file(archive, path);
}

RunState read_run_state(const std::string& path) {
  return read_or_refuse(path, [&] {
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
    std::vector<torch::Tensor> momentum_read;
    for (int64_t k = 0; k < buffers; ++k) {
      torch::serialize::InputArchive saved;
      if (!run.try_read(fmt::format("momentum_{}", k), saved)) {
        throw InputError(fmt::format("{}: its run state lacks worker {}'s momentum", path, k));
      }
      std::vector<float> flat;
      for (const auto& key : saved.keys()) {
        torch::Tensor t;
        saved.read(key, t, /*is_buffer=*/true);
        momentum_read.push_back(t);
        t = t.contiguous().to(torch::kFloat32);
        flat.insert(flat.end(), t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
      }
      state.momentum.push_back(std::move(flat));
    }
    c10::IValue expected;
    if (run.try_read("run_checksum", expected)) {
      check_checksum(path, "run state and momentum buffers", run_checksum(state, momentum_read),
                     expected);
    }
    return state;
  });
}

}  // namespace hogwild
