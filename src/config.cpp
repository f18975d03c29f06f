#include "hogwild/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <string_view>
#include <variant>

#include "hogwild/augment.h"
#include "hogwild/dropout.h"
#include "hogwild/error.h"
#include "hogwild/output_file.h"
#include "hogwild/recipe.h"
#include "hogwild/sync.h"

#ifndef HOGWILD_DATA_ROOT
#define HOGWILD_DATA_ROOT "data"
#endif

namespace hogwild {
namespace {

// The words of each enumeration, in the order its rule lists them.
template <typename E>
using WordTable = std::vector<std::pair<E, const char*>>;
const WordTable<DatasetKind> kDatasets = {{DatasetKind::kMnist, "mnist"},
                                          {DatasetKind::kFashionMnist, "fashion-mnist"}};
const WordTable<Recipe> kRecipes = {{Recipe::kScaled, "scaled"}, {Recipe::kSeed, "seed"}};
const WordTable<LrSchedule> kLrSchedules = {{LrSchedule::kCosine, "cosine"},
                                            {LrSchedule::kConstant, "constant"},
                                            {LrSchedule::kRecipes, ""}};
const WordTable<Progress> kProgress = {
    {Progress::kAuto, "auto"}, {Progress::kOn, "on"}, {Progress::kOff, "off"}};
const WordTable<PrecisionMode> kPrecisionModes = {
    {PrecisionMode::kFp32, "fp32"}, {PrecisionMode::kBf16, "bf16"}, {PrecisionMode::kAuto, "auto"}};

template <typename E>
const char* word_in(const WordTable<E>& table, E value) {
  for (const auto& [e, w] : table) {
    if (e == value) return w;
  }
  return "?";
}

// A field that is an enumeration (or --sync's plan): read and shown as text.
struct Words {
  std::function<std::string(const Config&)> show;
  std::function<bool(Config&, const std::string&)> read;  // false: not one of its words
};

template <typename E>
Words words(E Config::*member, const WordTable<E>& table) {
  return {[member, &table](const Config& c) { return std::string(word_in(table, c.*member)); },
          [member, &table](Config& c, const std::string& text) {
            for (const auto& [e, w] : table) {
              if (text == w) {
                c.*member = e;
                return true;
              }
            }
            return false;
          }};
}

// --sync: parse_sync throws its own message for a text that is not a plan.
Words sync_words() {
  return {[](const Config& c) { return c.sync.text(); },
          [](Config& c, const std::string& text) {
            c.sync = parse_sync(text);
            return true;
          }};
}

using Member =
    std::variant<std::string Config::*, int64_t Config::*, double Config::*, bool Config::*, Words>;

// Whether a key defines the training (a checkpoint records it; --resume keeps it) or only how
// this process runs it (threads, files, timeouts, what is printed).
enum class Role { kRunsIt, kDefinesTraining };
constexpr Role kTraining = Role::kDefinesTraining;

constexpr double kInf = std::numeric_limits<double>::infinity();

// The values one field may take on its own: a range of numbers (or, for an enumeration, the
// words of its WordTable), and the rule its message states ("must be ..."). What depends on
// other fields is in validate().
struct Allowed {
  double low = -kInf;
  double high = kInf;
  bool below_high = false;  // high itself is outside
  std::string rule;         // empty: anything
};
Allowed between(double low, double high, std::string rule) {
  return {low, high, false, std::move(rule)};
}
Allowed below(double low, double high, std::string rule) {  // [low, high)
  return {low, high, true, std::move(rule)};
}
// An enumeration's rule: its words are in its WordTable.
Allowed one_of(std::string rule) { return {-kInf, kInf, false, std::move(rule)}; }

struct Field {
  const char* key;
  const char* help;
  Member member;
  Role role = Role::kRunsIt;
  Allowed allowed = {};
};

const Allowed kSeconds = between(0, 1e6, "must be between 0 (never) and 1000000 seconds");

// The single table behind the TOML keys, the flags, --help, the printed configuration and
// the checks of single values.
const std::vector<Field> kFields = {
    {"dataset", "mnist or fashion-mnist", words(&Config::dataset, kDatasets), kTraining,
     one_of("must be mnist or fashion-mnist")},
    {"data_dir", "directory with the IDX files (raw or .gz); empty: <project>/data/<dataset>",
     &Config::data_dir},
    {"procs", "worker processes", &Config::procs, kTraining,
     between(1, kMaxProcs, fmt::format("must be between 1 and {}", kMaxProcs))},
    {"threads", "intra-op threads per worker; 0: max(1, cores / procs)", &Config::threads,
     Role::kRunsIt,
     between(0, kMaxThreads, fmt::format("must be between 0 (automatic) and {}", kMaxThreads))},
    {"epochs", "passes over the training set", &Config::epochs, kTraining,
     between(1, 100000, "must be between 1 and 100000")},
    {"recipe", "scaled (batch_size split over the workers) or seed (batch_size per worker)",
     words(&Config::recipe, kRecipes), kTraining, one_of("must be scaled or seed")},
    {"batch_size", "samples per step: over all workers (scaled) or per worker (seed); 0: 256",
     &Config::batch_size, kTraining,
     between(0, 1 << 20, "must be between 1 and 1048576, or 0 for the recipe's default")},
    {"lr", "SGD learning rate; 0: the recipe's (scaled 0.03, seed 0.01)", &Config::lr, kTraining,
     below(0, kInf, "must be a finite number greater than 0, or 0 for the recipe's default")},
    {"lr_schedule",
     "cosine (lr decays over the epochs) or constant; empty: the recipe's "
     "(scaled cosine, seed constant)",
     words(&Config::lr_schedule, kLrSchedules), kTraining,
     one_of("must be cosine or constant (or empty for the recipe's)")},
    {"momentum", "SGD momentum, in [0, 1)", &Config::momentum, kTraining,
     below(0, 1, "must be in [0, 1)")},
    {"seed",
     "seed for initialisation, shuffling (seed + epoch) and the dropout masks (seed, epoch, "
     "sample)",
     &Config::seed, kTraining, between(0, kInf, "must be 0 or greater")},
    {"train_limit", "use only the first N training images; 0: all", &Config::train_limit, kTraining,
     between(0, kInf, "must be 0 (all) or greater")},
    {"test_limit", "use only the first N test images; 0: all", &Config::test_limit, Role::kRunsIt,
     between(0, kInf, "must be 0 (all) or greater")},
    {"eval_batch_size", "batch size for evaluating the test set", &Config::eval_batch_size,
     Role::kRunsIt, between(1, 1 << 20, "must be between 1 and 1048576")},
    {"eval_every_epoch", "evaluate on the test set whenever every rank has finished an epoch",
     &Config::eval_every_epoch},
    {"target_accuracy",
     "stop once the test accuracy (%) reaches this (evaluating every epoch); 0: never",
     &Config::target_accuracy, Role::kRunsIt,
     between(0, 100, "must be a test accuracy in percent, 0 < A <= 100, or 0 for none")},
    {"drop_last", "drop the tail so partitions are equal, instead of padding", &Config::drop_last,
     kTraining},
    {"augment",
     "shift each training image by up to --augment-shift pixels, drawn per sample from "
     "(seed, epoch, sample)",
     &Config::augment, kTraining},
    {"augment_shift",
     "with --augment, the largest shift each way in pixels (dx and dy uniform over -S..S)",
     &Config::augment_shift, kTraining,
     between(1, kMaxAugmentShift,
             fmt::format("must be between 1 and {} pixels (a digit's margin in its image)",
                         kMaxAugmentShift))},
    {"augment_flips",
     "with --augment, also mirror half of Fashion-MNIST's images left-right (the seed's "
     "network loses 0.6 points with them)",
     &Config::augment_flips, kTraining},
    {"dropout",
     "share of the second block's 64x5x5 features dropped in training, drawn per sample "
     "from (seed, epoch, sample); 0: none (the seed's network drops 0.5)",
     &Config::dropout, kTraining, between(0, 0.99, "must be between 0 (none) and 0.99")},
    {"max_restarts", "replace a failed worker at most this many times in a run",
     &Config::max_restarts, Role::kRunsIt, between(0, 1000, "must be between 0 and 1000")},
    {"stall_timeout",
     "seconds a worker may go without starting a step (stopped, deadlocked) "
     "before it is killed and replaced like a failed one; 0: never",
     &Config::stall_timeout, Role::kRunsIt, kSeconds},
    {"sync",
     "under mpirun, how the ranks combine: epoch (average the models after every "
     "epoch), steps:S (every S steps of each worker), grads (average gradients every step; "
     "--procs 1)",
     sync_words(), kTraining},
    {"sync_timeout",
     "under mpirun, seconds a rank waits for the others in one collective "
     "(an average, a gather) before it ends the whole job: a rank stopped, hung or gone; 0: "
     "never",
     &Config::sync_timeout, Role::kRunsIt, kSeconds},
    {"reset_momentum",
     "under mpirun with --sync epoch, clear each worker's momentum buffer at "
     "every average (default: keep it)",
     &Config::reset_momentum, kTraining},
    {"progress",
     "a live line during each epoch (done, samples/s, ETA): auto (on a terminal), "
     "on or off",
     words(&Config::progress, kProgress), Role::kRunsIt, one_of("must be auto, on or off")},
    {"precision",
     "arithmetic of the training step: fp32, bf16 (fp32 master weights) or auto "
     "(bf16 where the CPU has AVX512-BF16 or AMX)",
     words(&Config::precision, kPrecisionModes), kTraining, one_of("must be fp32, bf16 or auto")},
    {"metrics_out", "write the run's metrics as JSON to this file", &Config::metrics_out},
    {"save_model", "save the trained parameters to this file (also on Ctrl-C)",
     &Config::save_model},
    {"checkpoint_every", "also save them every E epochs of the slowest rank (needs --save-model)",
     &Config::checkpoint_every, Role::kRunsIt, between(0, kInf, "must be 0 (never) or greater")},
    {"resume",
     "continue the run checkpointed in this file (--save-model, --checkpoint-every) "
     "from its last finished epoch; flags that define the training may be repeated, not changed",
     &Config::resume},
    {"init_from", "start a new run from the parameters saved in this file", &Config::init_from},
};

std::string flag_name(const char* key) {
  std::string flag = std::string("--") + key;
  for (char& c : flag) c = c == '_' ? '-' : c;
  return flag;
}

std::string format_value(const Config& config, const Member& member) {
  return std::visit(
      [&](const auto& pointer) -> std::string {
        if constexpr (std::is_same_v<std::decay_t<decltype(pointer)>, Words>) {
          return pointer.show(config);
        } else {
          const auto& value = config.*pointer;
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, bool>)
            return value ? "true" : "false";
          else if constexpr (std::is_same_v<T, std::string>)
            return value;
          else
            return fmt::format("{}", value);
        }
      },
      member);
}

// Whether the field is written as text (quoted in messages, a string in TOML and JSON).
bool is_text(const Member& member) {
  return std::holds_alternative<std::string Config::*>(member) ||
         std::holds_alternative<Words>(member);
}

// Copies one field's value from `from` to `to`.
void copy_field(const Member& member, const Config& from, Config& to) {
  std::visit(
      [&](const auto& pointer) {
        if constexpr (std::is_same_v<std::decay_t<decltype(pointer)>, Words>) {
          pointer.read(to, pointer.show(from));
        } else {
          to.*pointer = from.*pointer;
        }
      },
      member);
}

[[noreturn]] void fail(const char* key, const std::string& value, const std::string& rule) {
  throw InputError(fmt::format("invalid {} = {}: {} ({} / config key '{}')", key, value, rule,
                               flag_name(key), key));
}

// Throws InputError when the field's value is not one its Allowed admits.
void check_allowed(const Config& config, const Field& field) {
  const Allowed& allowed = field.allowed;
  if (allowed.rule.empty()) return;
  const bool ok = std::visit(
      [&](const auto& pointer) {
        using P = std::decay_t<decltype(pointer)>;
        if constexpr (std::is_same_v<P, Words> || std::is_same_v<P, std::string Config::*>) {
          return true;  // a word is checked as it is read (read_words)
        } else {
          const double x = double(config.*pointer);  // NaN is outside every range
          return x >= allowed.low && (allowed.below_high ? x < allowed.high : x <= allowed.high);
        }
      },
      field.member);
  if (!ok) fail(field.key, format_value(config, field.member), allowed.rule);
}

// Sets an enumeration field from its word, or throws the field's rule.
void read_words(const Field& field, const Words& words, Config& config, const std::string& text) {
  if (!words.read(config, text)) fail(field.key, "'" + text + "'", field.allowed.rule);
}

}  // namespace

namespace {

// Sets the fields named by `table`'s keys; `source` starts every message ("config file X").
void apply_toml_table(const toml::table& table, const std::string& source, Config& config,
                      bool given) {
  for (const auto& [key, node] : table) {
    const Field* field = nullptr;
    for (const Field& f : kFields) {
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
        [&](const auto& pointer) {
          if constexpr (std::is_same_v<std::decay_t<decltype(pointer)>, Words>) {
            if (!node.is_string()) throw wrong_type("a string");
            read_words(*field, pointer, config, *node.template value<std::string>());
            return;
          } else {
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
          }
        },
        field->member);
    if (given) config.given.push_back(field->key);
  }
}

// CLI11 would saturate 99999999999999999999 to INT64_MAX: say what was typed.
CLI::Validator int64_in_range() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        errno = 0;
        char* end = nullptr;
        std::strtoll(text.c_str(), &end, 10);
        if (errno == ERANGE) return text + " is out of range for an integer";
        return "";
      },
      "", "in range");
}

// The flag of one field, bound to its member of `from_cli` (an enumeration to `text`, read as
// a word after the parse).
CLI::Option* add_field_option(CLI::App& app, const Field& field, Config& from_cli,
                              std::string& text) {
  return std::visit(
      [&](const auto& pointer) -> CLI::Option* {
        if constexpr (std::is_same_v<std::decay_t<decltype(pointer)>, Words>) {
          return app.add_option(flag_name(field.key), text, field.help);
        } else {
          using T = std::decay_t<decltype(from_cli.*pointer)>;
          if constexpr (std::is_same_v<T, bool>) {
            // --flag turns it on; --flag=false turns off what a config file turned on.
            return app.add_flag(flag_name(field.key), from_cli.*pointer, field.help);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            return app.add_option(flag_name(field.key), from_cli.*pointer, field.help)
                ->check(int64_in_range());
          } else {
            return app.add_option(flag_name(field.key), from_cli.*pointer, field.help);
          }
        }
      },
      field.member);
}

// True when the config file or a flag set `key` (a value equal to the default counts).
bool was_given(const Config& config, std::string_view key) {
  return std::find(config.given.begin(), config.given.end(), key) != config.given.end();
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
  for (const Field& field : kFields) {
    if (field.role != kTraining) continue;
    std::visit(
        [&](const auto& pointer) {
          if constexpr (std::is_same_v<std::decay_t<decltype(pointer)>, Words>) {
            table.insert(field.key, pointer.show(config));
          } else {
            table.insert(field.key, config.*pointer);
          }
        },
        field.member);
  }
  std::ostringstream text;
  text << table << "\n";
  return text.str();
}

void adopt_training_config(const std::string& saved_toml, const std::string& source,
                           Config& config) {
  Config saved;
  toml::table table;
  try {
    table = toml::parse(saved_toml);
  } catch (const toml::parse_error& e) {
    throw InputError(
        fmt::format("{}: its training configuration does not parse ({})", source, e.description()));
  }
  apply_toml_table(table, source, saved, /*given=*/false);
  // A key the checkpoint lacks was saved before the key existed: the run trained with the
  // value of that time, not today's default. Dropout was the seed's; --augment shifted by
  // up to 2 pixels and mirrored Fashion-MNIST's images.
  if (!table.contains("dropout")) saved.dropout = kSeedDropout;
  if (!table.contains("augment_shift")) saved.augment_shift = kAugmentShiftBeforeItsKey;
  if (!table.contains("augment_flips")) {
    saved.augment_flips = saved.augment && saved.dataset == DatasetKind::kFashionMnist;
  }
  for (const Field& field : kFields) {
    if (field.role != kTraining) continue;
    const std::string was = format_value(saved, field.member);
    const bool given = was_given(config, field.key);
    if (given && format_value(config, field.member) != was) {
      throw InputError(
          fmt::format("{}: {} {} would change the run it continues, which has {} = {}; repeat that "
                      "value or leave "
                      "the flag out (--init-from starts a new run from the file's parameters)",
                      source, flag_name(field.key), format_value(config, field.member), field.key,
                      was.empty() ? "''" : was));
    }
    copy_field(field.member, saved, config);
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
  std::map<std::string, std::string> texts;  // what was typed for the enumerations
  std::vector<std::pair<CLI::Option*, const Field*>> options;
  for (const Field& field : kFields) {
    CLI::Option* option = add_field_option(app, field, from_cli, texts[field.key]);
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
    if (const auto* words = std::get_if<Words>(&field->member)) {
      read_words(*field, *words, config, texts[field->key]);
    } else {
      copy_field(field->member, from_cli, config);
    }
    config.given.push_back(field->key);
  }
  return print_config ? Action::kPrintConfig : Action::kTrain;
}

void validate(const Config& c) {
  for (const Field& field : kFields) check_allowed(c, field);
  // The relations between fields, and what a range or a list cannot say.
  if (c.checkpoint_every > 0 && c.save_model.empty()) {
    fail("checkpoint_every", std::to_string(c.checkpoint_every),
         "needs a file to save to: add --save-model PATH");
  }
  if (!c.resume.empty() && !c.init_from.empty()) {
    fail("init_from", "'" + c.init_from + "'",
         "--resume continues a run and --init-from starts a new one: give one of them");
  }
  if (names_stdout(c.save_model)) {
    fail("save_model", "'" + c.save_model + "'",
         "the model is binary and --resume reads it back from a file: give a file name");
  }
  if (!c.augment && was_given(c, "augment_shift")) {
    fail("augment_shift", std::to_string(c.augment_shift),
         "sets how far --augment shifts the images: add --augment");
  }
  if (c.augment_flips && !c.augment) {
    fail("augment_flips", "true", "mirrors the images --augment shifts: add --augment");
  }
  if (c.augment_flips && c.dataset != DatasetKind::kFashionMnist) {
    fail("augment_flips", "true",
         fmt::format("a mirrored image of {} is not of its class; flips are for fashion-mnist",
                     word(c.dataset)));
  }
  if (c.sync.mode == SyncPlan::Mode::kGrads && c.procs != 1) {
    fail("sync", "'grads'",
         fmt::format("averages gradients before every step of one process per "
                     "MPI rank: use --procs 1, not {} (or --sync steps:S for "
                     "Hogwild inside each rank)",
                     c.procs));
  }
  // Whether the batch can be split over the workers is the recipe's rule: ask it.
  choose_hyperparameters(c);
}

const char* word(DatasetKind value) { return word_in(kDatasets, value); }
const char* word(Recipe value) { return word_in(kRecipes, value); }
const char* word(LrSchedule value) { return word_in(kLrSchedules, value); }
const char* word(Progress value) { return word_in(kProgress, value); }
const char* word(PrecisionMode value) { return word_in(kPrecisionModes, value); }

void set_key(Config& config, const std::string& key, const std::string& text) {
  toml::table table;
  for (const Field& field : kFields) {
    if (key != field.key) continue;
    if (std::holds_alternative<Words>(field.member) ||
        std::holds_alternative<std::string Config::*>(field.member)) {
      table.insert(key, text);
      apply_toml_table(table, flag_name(field.key).c_str(), config, /*given=*/true);
      return;
    }
  }
  throw std::logic_error("set_key: no text key '" + key + "'");
}

int64_t threads_per_worker(const Config& config, int64_t cores, int64_t ranks_here) {
  if (config.threads > 0) return config.threads;
  return std::max<int64_t>(1, cores / (config.procs * std::max<int64_t>(1, ranks_here)));
}

std::string resolved_data_dir(const Config& config) {
  if (!config.data_dir.empty()) return config.data_dir;
  return std::string(HOGWILD_DATA_ROOT) + "/" + word(config.dataset);
}

std::vector<ConfigEntry> config_entries(const Config& config) {
  std::vector<ConfigEntry> entries;
  for (const Field& field : kFields) {
    entries.push_back({field.key, format_value(config, field.member), is_text(field.member)});
  }
  return entries;
}

}  // namespace hogwild
