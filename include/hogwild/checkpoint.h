// Saving and loading a model's parameters by name (LibTorch's archive format).
#pragma once

#include <string>

namespace torch::nn {
class Module;
}

namespace hogwild {

// Writes every parameter of `module` to `path` as OutputFile does (a regular file through a
// temporary file and a rename, so a crash never leaves a torn file behind). Throws Error if
// the file cannot be written.
void save_parameters(const torch::nn::Module& module, const std::string& path);

// Loads the parameters saved by save_parameters into `module`, checking that every name is
// there with the right shape. Throws InputError naming the file and the parameter.
void load_parameters(torch::nn::Module& module, const std::string& path);

}  // namespace hogwild
