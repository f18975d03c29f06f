#include "hogwild/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <variant>

#include "hogwild/error.h"
#include "hogwild/output_file.h"
#include "hogwild/recipe.h"
#include "hogwild/sync.h"

#ifndef HOGWILD_DATA_ROOT
#define HOGWILD_DATA_ROOT "data"
#endif

namespace hogwild {
namespace {

using Member =
    std::variant<std::string Config::*, int64_t Config::*, double Config::*, bool Config::*>;

// Whether a key defines the training (a checkpoint records it; --resume keeps it) or only how
// this process runs it (threads, files, timeouts, what is printed).
enum class Role { kRunsIt, kDefinesTraining };
constexpr Role kTraining = Role::kDefinesTraining;

struct Field {
  const char* key;
  const char* help;
  Member member;
  Role role = Role::kRunsIt;
};

// The single table behind the TOML keys, the flags, --help and the printed configuration.
const std::vector<Field>& fields() {
  static const std::vector<Field> table = {
      {"dataset", "mnist or fashion-mnist", &Config::dataset, kTraining},
      {"data_dir", "directory with the IDX files (raw or .gz); empty: <project>/data/<dataset>",
       &Config::data_dir},
      {"procs", "worker processes", &Config::procs, kTraining},
      {"threads", "intra-op threads per worker; 0: max(1, cores / procs)", &Config::threads},
      {"epochs", "passes over the training set", &Config::epochs, kTraining},
      {"recipe", "scaled (batch_size split over the workers) or seed (batch_size per worker)",
       &Config::recipe, kTraining},
      {"batch_size", "samples per step: over all workers (scaled) or per worker (seed); 0: 256",
       &Config::batch_size, kTraining},
      {"lr", "SGD learning rate; 0: the recipe's (scaled 0.03, seed 0.01)", &Config::lr, kTraining},
      {"lr_schedule",
       "cosine (lr decays over the epochs) or constant; empty: the recipe's "
       "(scaled cosine, seed constant)",
       &Config::lr_schedule, kTraining},
      {"momentum", "SGD momentum, in [0, 1)", &Config::momentum, kTraining},
      {"seed",
       "seed for initialisation, shuffling (seed + epoch) and the dropout masks (seed, epoch, "
       "sample)",
       &Config::seed, kTraining},
      {"train_limit", "use only the first N training images; 0: all", &Config::train_limit,
       kTraining},
      {"test_limit", "use only the first N test images; 0: all", &Config::test_limit},
      {"eval_batch_size", "batch size for evaluating the test set", &Config::eval_batch_size},
      {"eval_every_epoch", "evaluate on the test set whenever every rank has finished an epoch",
       &Config::eval_every_epoch},
      {"target_accuracy",
       "stop once the test accuracy (%) reaches this (evaluating every epoch); 0: never",
       &Config::target_accuracy},
      {"drop_last", "drop the tail so partitions are equal, instead of padding", &Config::drop_last,
       kTraining},
      {"max_restarts", "replace a failed worker at most this many times in a run",
       &Config::max_restarts},
      {"stall_timeout",
       "seconds a worker may go without starting a step (stopped, deadlocked) "
       "before it is killed and replaced like a failed one; 0: never",
       &Config::stall_timeout},
      {"sync",
       "under mpirun, how the ranks combine: epoch (average the models after every "
       "epoch), steps:S (every S steps of each worker), grads (average gradients every step; "
       "--procs 1)",
       &Config::sync, kTraining},
      {"sync_timeout",
       "under mpirun, seconds a rank waits for the others in one collective "
       "(an average, a gather) before it ends the whole job: a rank stopped, hung or gone; 0: "
       "never",
       &Config::sync_timeout},
      {"reset_momentum",
       "under mpirun with --sync epoch, clear each worker's momentum buffer at "
       "every average (default: keep it)",
       &Config::reset_momentum, kTraining},
      {"progress",
       "a live line during each epoch (done, samples/s, ETA): auto (on a terminal), "
       "on or off",
       &Config::progress},
      {"precision",
       "arithmetic of the training step: fp32, bf16 (fp32 master weights) or auto "
       "(bf16 only where the CPU has AMX)",
       &Config::precision, kTraining},
      {"metrics_out", "write the run's metrics as JSON to this file", &Config::metrics_out},
      {"save_model", "save the trained parameters to this file (also on Ctrl-C)",
       &Config::save_model},
      {"checkpoint_every", "also save them every E epochs of the slowest rank (needs --save-model)",
       &Config::checkpoint_every},
      {"resume",
       "continue the run checkpointed in this file (--save-model, --checkpoint-every) "
       "from its last finished epoch; flags that define the training may be repeated, not changed",
       &Config::resume},
      {"init_from", "start a new run from the parameters saved in this file", &Config::init_from},
  };
  return table;
}

std::string flag_name(const char* key) {
  std::string flag = std::string("--") + key;
  for (char& c : flag) c = c == '_' ? '-' : c;
  return flag;
}

std::string format_value(const Config& config, const Member& member) {
  return std::visit(
      [&](auto pointer) -> std::string {
        const auto& value = config.*pointer;
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, bool>)
          return value ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::string>)
          return value;
        else
          return fmt::format("{}", value);
      },
      member);
}

}  // namespace

namespace {

// Sets the fields named by `table`'s keys; `source` starts every message ("config file X").
void apply_toml_table(const toml::table& table, const std::string& source, Config& config,
                      bool given) {
  for (const auto& [key, node] : table) {
    const Field* field = nullptr;
    for (const Field& f : fields()) {
      if (key.str() == f.key) field = &f;
    }
    if (field == nullptr) {
      throw InputError(
          fmt::format("{}: unknown key '{}' (see --help for the keys)", source, key.str()));
    }
    const auto wrong_type = [&](const char* expected) {
      return InputError(fmt::format("{}: key '{}' must be {}", source, key.str(), expected));
    };
    std::visit(
        [&](auto pointer) {
          auto& target = config.*pointer;
          using T = std::decay_t<decltype(target)>;
          if constexpr (std::is_same_v<T, bool>) {
            if (!node.is_boolean()) throw wrong_type("true or false");
            target = *node.template value<bool>();
          } else if constexpr (std::is_same_v<T, std::string>) {
            if (!node.is_string()) throw wrong_type("a string");
            target = *node.template value<std::string>();
          } else if constexpr (std::is_same_v<T, int64_t>) {
            if (!node.is_integer()) throw wrong_type("an integer");
            target = *node.template value<int64_t>();
          } else {
            if (!node.is_number()) throw wrong_type("a number");
            target = *node.template value<double>();
          }
        },
        field->member);
    if (given) config.given.push_back(field->key);
  }
}

}  // namespace

void apply_toml_file(const std::string& path, Config& config) {
  if (!std::filesystem::is_regular_file(path)) {
    throw InputError(fmt::format("config file {}: not found or not a regular file", path));
  }
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw InputError(
        fmt::format("config file {}:{}:{}: {}", path, where.line, where.column, e.description()));
  }
  apply_toml_table(table, "config file " + path, config, /*given=*/true);
  config.config_file = path;
}

std::string training_config_toml(const Config& config) {
  toml::table table;
  for (const Field& field : fields()) {
    if (field.role != kTraining) continue;
    std::visit([&](auto pointer) { table.insert(field.key, config.*pointer); }, field.member);
  }
  std::ostringstream text;
  text << table << "\n";
  return text.str();
}

void adopt_training_config(const std::string& saved_toml, const std::string& source,
                           Config& config) {
  Config saved;
  try {
    apply_toml_table(toml::parse(saved_toml), source, saved, /*given=*/false);
  } catch (const toml::parse_error& e) {
    throw InputError(
        fmt::format("{}: its training configuration does not parse ({})", source, e.description()));
  }
  for (const Field& field : fields()) {
    if (field.role != kTraining) continue;
    const std::string was = format_value(saved, field.member);
    const bool given =
        std::find(config.given.begin(), config.given.end(), field.key) != config.given.end();
    if (given && format_value(config, field.member) != was) {
      throw InputError(
          fmt::format("{}: {} {} would change the run it continues, which has {} = {}; repeat that "
                      "value or leave "
                      "the flag out (--init-from starts a new run from the file's parameters)",
                      source, flag_name(field.key), format_value(config, field.member), field.key,
                      was.empty() ? "''" : was));
    }
    std::visit([&](auto pointer) { config.*pointer = saved.*pointer; }, field.member);
  }
}

Action parse_command_line(int argc, const char* const* argv, Config& config,
                          std::string* help_text) {
  CLI::App app{
      "Hogwild! training of the seed CNN on MNIST-style data, lock-free, over POSIX "
      "shared memory.",
      "hogwild_train"};
  app.get_formatter()->column_width(34);
  std::string config_path;
  app.add_option("--config", config_path, "TOML file with any of the keys below (flags win)")
      ->check(CLI::ExistingFile);
  bool print_config = false;
  app.add_flag("--print-config", print_config,
               "print the effective configuration as JSON and exit, without training");

  // Flags bind to a copy of the defaults so --help shows them; only flags given on the
  // command line are copied over the file's values afterwards.
  Config from_cli;
  std::vector<std::pair<CLI::Option*, const Field*>> options;
  for (const Field& field : fields()) {
    CLI::Option* option = std::visit(
        [&](auto pointer) -> CLI::Option* {
          using T = std::decay_t<decltype(from_cli.*pointer)>;
          if constexpr (std::is_same_v<T, bool>) {
            // --flag turns it on; --flag=false turns off what a config file turned on.
            return app.add_flag(flag_name(field.key), from_cli.*pointer, field.help);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            // CLI11 would saturate 99999999999999999999 to INT64_MAX: say what was typed.
            return app.add_option(flag_name(field.key), from_cli.*pointer, field.help)
                ->check(CLI::Validator(
                    [](std::string& text) -> std::string {
                      errno = 0;
                      char* end = nullptr;
                      std::strtoll(text.c_str(), &end, 10);
                      if (errno == ERANGE) return text + " is out of range for an integer";
                      return "";
                    },
                    "", "in range"));
          } else {
            return app.add_option(flag_name(field.key), from_cli.*pointer, field.help);
          }
        },
        field.member);
    option->default_str(format_value(from_cli, field.member));
    options.emplace_back(option, &field);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    if (help_text != nullptr) *help_text = app.help();
    return Action::kHelp;
  } catch (const CLI::ParseError& e) {
    throw InputError(fmt::format("{} (see --help)", e.what()));
  }

  if (!config_path.empty()) apply_toml_file(config_path, config);
  for (const auto& [option, field] : options) {
    if (option->count() == 0) continue;
    std::visit([&](auto pointer) { config.*pointer = from_cli.*pointer; }, field->member);
    config.given.push_back(field->key);
  }
  return print_config ? Action::kPrintConfig : Action::kTrain;
}

void validate(const Config& c) {
  const auto fail = [](const char* key, const std::string& value, const std::string& rule) {
    throw InputError(fmt::format("invalid {} = {}: {} ({} / config key '{}')", key, value, rule,
                                 flag_name(key), key));
  };
  if (c.dataset != "mnist" && c.dataset != "fashion-mnist") {
    fail("dataset", "'" + c.dataset + "'", "must be mnist or fashion-mnist");
  }
  if (c.procs < 1 || c.procs > kMaxProcs) {
    fail("procs", std::to_string(c.procs), fmt::format("must be between 1 and {}", kMaxProcs));
  }
  if (c.threads < 0 || c.threads > kMaxThreads) {
    fail("threads", std::to_string(c.threads),
         fmt::format("must be between 0 (automatic) and {}", kMaxThreads));
  }
  if (c.epochs < 1 || c.epochs > 100000) {
    fail("epochs", std::to_string(c.epochs), "must be between 1 and 100000");
  }
  if (c.recipe != "scaled" && c.recipe != "seed") {
    fail("recipe", "'" + c.recipe + "'", "must be scaled or seed");
  }
  if (!c.lr_schedule.empty() && c.lr_schedule != "cosine" && c.lr_schedule != "constant") {
    fail("lr_schedule", "'" + c.lr_schedule + "'",
         "must be cosine or constant (or empty for the recipe's)");
  }
  if (c.batch_size < 0 || c.batch_size > (1 << 20)) {
    fail("batch_size", std::to_string(c.batch_size),
         "must be between 1 and 1048576, or 0 for the recipe's default");
  }
  if (!(c.target_accuracy >= 0.0 && c.target_accuracy <= 100.0)) {
    fail("target_accuracy", fmt::format("{}", c.target_accuracy),
         "must be a test accuracy in percent, 0 < A <= 100, or 0 for none");
  }
  if (c.eval_batch_size < 1 || c.eval_batch_size > (1 << 20)) {
    fail("eval_batch_size", std::to_string(c.eval_batch_size), "must be between 1 and 1048576");
  }
  if (!(c.lr >= 0.0) || !std::isfinite(c.lr)) {
    fail("lr", fmt::format("{}", c.lr),
         "must be a finite number greater than 0, or 0 for the recipe's default");
  }
  if (!(c.momentum >= 0.0 && c.momentum < 1.0)) {
    fail("momentum", fmt::format("{}", c.momentum), "must be in [0, 1)");
  }
  if (c.seed < 0) fail("seed", std::to_string(c.seed), "must be 0 or greater");
  if (c.checkpoint_every < 0) {
    fail("checkpoint_every", std::to_string(c.checkpoint_every), "must be 0 (never) or greater");
  }
  if (c.checkpoint_every > 0 && c.save_model.empty()) {
    fail("checkpoint_every", std::to_string(c.checkpoint_every),
         "needs a file to save to: add --save-model PATH");
  }
  if (!c.resume.empty() && !c.init_from.empty()) {
    fail("init_from", "'" + c.init_from + "'",
         "--resume continues a run and --init-from starts a new one: give one of them");
  }
  if (c.progress != "auto" && c.progress != "on" && c.progress != "off") {
    fail("progress", "'" + c.progress + "'", "must be auto, on or off");
  }
  if (c.precision != "fp32" && c.precision != "bf16" && c.precision != "auto") {
    fail("precision", "'" + c.precision + "'", "must be fp32, bf16 or auto");
  }
  if (names_stdout(c.save_model)) {
    fail("save_model", "'" + c.save_model + "'",
         "the model is binary and --resume reads it back from a file: give a file name");
  }
  if (c.max_restarts < 0 || c.max_restarts > 1000) {
    fail("max_restarts", std::to_string(c.max_restarts), "must be between 0 and 1000");
  }
  for (const auto& [key, seconds] :
       {std::pair{"sync_timeout", c.sync_timeout}, std::pair{"stall_timeout", c.stall_timeout}}) {
    if (!(seconds >= 0 && seconds <= 1e6))
      fail(key, fmt::format("{}", seconds), "must be between 0 (never) and 1000000 seconds");
  }
  if (c.train_limit < 0) {
    fail("train_limit", std::to_string(c.train_limit), "must be 0 (all) or greater");
  }
  if (c.test_limit < 0) {
    fail("test_limit", std::to_string(c.test_limit), "must be 0 (all) or greater");
  }
  if (parse_sync(c.sync).mode == SyncPlan::Mode::kGrads && c.procs != 1) {
    fail("sync", "'grads'",
         fmt::format("averages gradients before every step of one process per "
                     "MPI rank: use --procs 1, not {} (or --sync steps:S for "
                     "Hogwild inside each rank)",
                     c.procs));
  }
  // Whether the batch can be split over the workers is the recipe's rule: ask it.
  choose_hyperparameters(c);
}

int64_t threads_per_worker(const Config& config, int64_t cores, int64_t ranks_here) {
  if (config.threads > 0) return config.threads;
  return std::max<int64_t>(1, cores / (config.procs * std::max<int64_t>(1, ranks_here)));
}

std::string resolved_data_dir(const Config& config) {
  if (!config.data_dir.empty()) return config.data_dir;
  return std::string(HOGWILD_DATA_ROOT) + "/" + config.dataset;
}

std::vector<ConfigEntry> config_entries(const Config& config) {
  std::vector<ConfigEntry> entries;
  for (const Field& field : fields()) {
    const bool is_string = std::holds_alternative<std::string Config::*>(field.member);
    entries.push_back({field.key, format_value(config, field.member), is_string});
  }
  return entries;
}

}  // namespace hogwild
