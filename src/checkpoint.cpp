#include "hogwild/checkpoint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <torch/torch.h>

#include <sstream>

#include "hogwild/error.h"
#include "hogwild/output_file.h"

namespace hogwild {

void save_parameters(const torch::nn::Module& module, const std::string& path) {
  torch::serialize::OutputArchive archive;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    archive.write(item.key(), item.value().detach());
  }
  std::ostringstream bytes;
  try {
    archive.save_to(bytes);
  } catch (const c10::Error& e) {
    throw Error(fmt::format("cannot serialise the model for {}: {}", path, e.what_without_backtrace()));
  }
  OutputFile(path, "--save-model").write(bytes.str());
}

void load_parameters(torch::nn::Module& module, const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) throw InputError(system_error_text(path, errno));
  if (!S_ISREG(info.st_mode)) throw InputError(fmt::format("{}: not a regular file", path));
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("{}: not a saved model ({})", path,
                                 std::string(e.what_without_backtrace()).substr(0, 120)));
  }
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    torch::Tensor saved;
    if (!archive.try_read(item.key(), saved)) {
      throw InputError(fmt::format("{}: has no parameter '{}'; it is not a model of this network",
                                   path, item.key()));
    }
    if (saved.sizes() != item.value().sizes()) {
      throw InputError(fmt::format("{}: parameter '{}' has shape [{}], the network needs [{}]", path,
                                   item.key(), fmt::join(saved.sizes(), ", "),
                                   fmt::join(item.value().sizes(), ", ")));
    }
    item.value().copy_(saved);
  }
}

}  // namespace hogwild
