// The one Config of a run: defaults here, then a TOML file, then command-line flags, each
// value parsed once as it is read (enumerations into enums, --sync into its plan) and
// validated in one place. No torch here, so this compiles fast and tests cheaply.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hogwild/precision.h"  // PrecisionMode
#include "hogwild/sync.h"       // SyncPlan

namespace hogwild {

// The options that take one of a few words are these enums from the moment they are read
// (the words: word() below, and the field table in config.cpp).
enum class DatasetKind { kMnist, kFashionMnist };
enum class Recipe { kScaled, kSeed };                    // how batch_size is split (recipe.h)
enum class LrSchedule { kRecipes, kCosine, kConstant };  // kRecipes: the recipe's own
enum class Progress { kAuto, kOn, kOff };                // the live line; auto: on a terminal

struct Config {
  DatasetKind dataset = DatasetKind::kMnist;
  std::string data_dir;  // empty: <project>/data/<dataset>
  int64_t procs = 2;     // worker processes
  int64_t threads = 0;   // intra-op threads per worker; 0: max(1, cores / procs)
  int64_t epochs = 15;
  Recipe recipe = Recipe::kScaled;
  int64_t batch_size = 0;  // scaled: over all workers; seed: per worker; 0: the recipe's
  double lr = 0;           // SGD step size; 0: the recipe's
  LrSchedule lr_schedule = LrSchedule::kRecipes;  // over the epochs
  double momentum = 0.9;
  int64_t seed = 1;
  int64_t train_limit = 0;  // use only the first N training images; 0: all
  int64_t test_limit = 0;   // use only the first N test images; 0: all
  int64_t eval_batch_size = 256;
  bool eval_every_epoch = false;  // evaluate the shared parameters whenever all ranks end an epoch
  double target_accuracy = 0;     // stop once the test accuracy (%) reaches this; 0: never
  bool drop_last = false;         // DistributedSampler's drop_last instead of padding
  bool augment = false;           // random shifts of each training image, per sample
  int64_t augment_shift = 1;      // with augment: the largest shift each way, in pixels
  bool augment_flips = false;     // with augment: mirror half of Fashion-MNIST's images too
  double dropout = 0.25;     // share of the 64x5x5 features dropped in training (the seed's: 0.5)
  int64_t max_restarts = 3;  // replacements for failed workers, over the whole run
  // Seconds a worker may go without a step before it is replaced; 0: never.
  double stall_timeout = 120;
  SyncPlan sync;  // under mpirun: epoch | steps:S | grads (sync.h)
  // Seconds an MPI collective may wait before the job is ended; 0: never.
  double sync_timeout = 600;
  bool reset_momentum = false;   // --sync epoch: clear each worker's momentum at every average
  std::string save_model;        // save the trained parameters here; empty: don't
  int64_t checkpoint_every = 0;  // also save every E epochs (needs save_model); 0: never
  std::string resume;            // continue the run checkpointed here (checkpoint.h); empty: fresh
  std::string init_from;         // a new run from the parameters saved here; empty: fresh
  Progress progress = Progress::kAuto;
  PrecisionMode precision = PrecisionMode::kAuto;  // precision.h
  std::string metrics_out;                         // JSON metrics file; empty: none
  std::string config_file;         // where the file values came from (informational)
  std::vector<std::string> given;  // keys set by the config file or a flag, not by default
};

// Upper bounds that "absurdly large" values hit.
inline constexpr int64_t kMaxProcs = 256;
inline constexpr int64_t kMaxThreads = 256;

// One configurable field, for printing the effective configuration and writing it as JSON.
struct ConfigEntry {
  std::string key;    // as in the TOML file (snake_case); the flag is --key-with-dashes
  std::string value;  // formatted for humans and JSON ("" quoted strings not included)
  bool is_string;
};

// What the command line asks for besides the configuration.
enum class Action { kTrain, kHelp, kPrintConfig };

// Parses argv into `config`. For Action::kHelp the help text is in `help_text`.
// Throws InputError naming the flag, file, key or value on any problem.
Action parse_command_line(int argc, const char* const* argv, Config& config,
                          std::string* help_text);

// Applies the keys of a TOML file onto `config`. Unknown keys and wrong types are errors.
void apply_toml_file(const std::string& path, Config& config);

// Throws InputError for the first invalid value, naming the field.
void validate(const Config& config);

// The word a value is written as in flags, config files and JSON ("" for kRecipes).
const char* word(DatasetKind value);
const char* word(Recipe value);
const char* word(LrSchedule value);
const char* word(Progress value);
const char* word(PrecisionMode value);

// Sets one key from its text as a flag would, with the same checks and messages: for
// programs with flags of their own (hogwild_eval's --dataset). Throws InputError.
void set_key(Config& config, const std::string& key, const std::string& text);

// Intra-op threads each worker gets: --threads, else max(1, cores / (procs x the MPI ranks
// that share this machine)).
int64_t threads_per_worker(const Config& config, int64_t cores, int64_t ranks_here = 1);

// Directory holding the dataset's IDX files.
std::string resolved_data_dir(const Config& config);

// The keys whose values define the training itself (the data, the workers, the batch, the
// schedule, the seed...): what a checkpoint records and --resume must not change, as TOML.
std::string training_config_toml(const Config& config);

// --resume: takes the training keys of a checkpoint's training_config_toml() (`source` names
// it in messages) into `config`. A key the user gave with another value is refused
// (InputError naming the key, both values and the fix); the same value is fine, so the
// original command line can be repeated as it was.
void adopt_training_config(const std::string& saved_toml, const std::string& source,
                           Config& config);

// Every field in declaration order, for the start-up table and the JSON document.
std::vector<ConfigEntry> config_entries(const Config& config);

}  // namespace hogwild
