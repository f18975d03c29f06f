// Saving and loading a model's parameters by name (LibTorch's archive format), and a
// checkpoint: the parameters plus where the run stood, so that --resume continues it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}

namespace hogwild {

// Writes every parameter of `module` to `path` as OutputFile does (a regular file through a
// temporary file and a rename, so a crash never leaves a torn file behind). Throws Error if
// the file cannot be written.
void save_parameters(const torch::nn::Module& module, const std::string& path);

// Loads the parameters saved by save_parameters or save_checkpoint into `module`, checking
// that every name is there with the right shape. Throws InputError naming the file and the
// parameter.
void load_parameters(torch::nn::Module& module, const std::string& path);

// Where a run stood when it was saved: what --resume needs, beside the parameters, to go on
// as if it had never stopped.
struct RunState {
  int64_t epochs_done = 0;      // every worker of every rank had finished these epochs
  int64_t ranks = 1;            // MPI ranks of the job (1: one machine)
  std::string training_config;  // training_config_toml() of the run (config.h)
  std::string training_data;    // the training set's size and checksum
  bool partial = false;         // saved on a stop signal, within epoch epochs_done + 1
  // Every worker's momentum buffers (index: rank * procs + worker), each flat over the
  // parameters in named_parameters() order; empty when not saved (a stop under mpirun).
  std::vector<std::vector<float>> momentum;
};

// save_parameters, plus `state` in a sub-archive "hogwild_run" whose tensors are buffers, so
// PyTorch's named_parameters() of the file still lists the parameters alone.
void save_checkpoint(const torch::nn::Module& module, const std::string& path,
                     const RunState& state);

// The run state saved with the parameters. Throws InputError naming the file when it is not a
// saved model, or holds parameters only (saved by an older hogwild_train): the hint then is
// --init-from, which starts a new run from them.
RunState read_run_state(const std::string& path);

}  // namespace hogwild
