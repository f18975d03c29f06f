#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "hogwild/config.h"
#include "hogwild/error.h"
#include "test_support.h"

using namespace hogwild;
using hogwild::testing::source_path;
using hogwild::testing::TempDir;

namespace {

// Parses a command line (argv[0] added) into `config`.
Action parse(std::vector<std::string> args, Config& config, std::string* help = nullptr) {
  args.insert(args.begin(), "hogwild_train");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_command_line(int(argv.size()), argv.data(), config, help);
}

Config parsed(const std::vector<std::string>& args) {
  Config config;
  parse(args, config);
  validate(config);
  return config;
}

std::string write_toml(const TempDir& dir, const std::string& text) {
  const std::string path = dir.file("config.toml");
  std::ofstream(path) << text;
  return path;
}

// `toml` without its line `line` (a checkpoint saved before that key existed).
std::string without_line(std::string toml, const std::string& line) {
  const auto at = toml.find(line + "\n");
  REQUIRE_MESSAGE(at != std::string::npos, "no line '" << line << "' in:\n" << toml);
  return toml.erase(at, line.size() + 1);
}

}  // namespace

TEST_CASE("defaults: the scaled recipe, its batch and step size") {
  const Config config = parsed({});
  CHECK(config.dataset == DatasetKind::kMnist);
  CHECK(config.procs == 2);
  CHECK(config.epochs == 15);
  CHECK(config.recipe == Recipe::kScaled);
  CHECK(config.batch_size == 0);  // the recipe's default
  CHECK_FALSE(config.eval_every_epoch);
  CHECK(config.target_accuracy == 0.0);
  CHECK(config.lr == 0.0);  // the recipe's default
  CHECK(config.momentum == doctest::Approx(0.9));
  CHECK(config.threads == 0);
  CHECK(config.train_limit == 0);
  CHECK(config.metrics_out.empty());
}

TEST_CASE("flags override the file, the file overrides the defaults") {
  TempDir dir;
  const auto path = write_toml(dir,
                               "procs = 4\nepochs = 3\nlr = 0.05\ndataset = \"fashion-mnist\"\n"
                               "drop_last = true\nmomentum = 0\n");
  const Config config = parsed({"--config", path, "--procs", "3", "--batch-size", "64"});
  CHECK(config.procs == 3);   // flag beats file
  CHECK(config.epochs == 3);  // file beats default
  CHECK(config.lr == doctest::Approx(0.05));
  CHECK(config.momentum == 0.0);   // an integer is accepted for a float key
  CHECK(config.batch_size == 64);  // flag beats default
  CHECK(config.dataset == DatasetKind::kFashionMnist);
  CHECK(config.drop_last);
  CHECK(config.config_file == path);
}

TEST_CASE("boolean flags: given alone they turn on, =false turns off the file's true") {
  TempDir dir;
  const auto path = write_toml(dir, "eval_every_epoch = true\n");
  CHECK(parsed({"--drop-last"}).drop_last);
  CHECK(parsed({"--config", path}).eval_every_epoch);
  CHECK_FALSE(parsed({"--config", path, "--eval-every-epoch=false"}).eval_every_epoch);
  const Config targeted = parsed({"--recipe", "seed", "--target-accuracy", "98.5"});
  CHECK(targeted.recipe == Recipe::kSeed);
  CHECK(targeted.target_accuracy == doctest::Approx(98.5));
}

TEST_CASE("--print-config asks for the configuration instead of training") {
  Config config;
  CHECK(parse({"--procs", "3"}, config) == Action::kTrain);
  CHECK(parse({"--print-config", "--procs", "4"}, config) == Action::kPrintConfig);
  CHECK(config.procs == 4);
}

TEST_CASE("a flag given with the default value still beats the file") {
  TempDir dir;
  const auto path = write_toml(dir, "procs = 4\n");
  CHECK(parsed({"--config", path, "--procs", "2"}).procs == 2);
}

TEST_CASE("--help lists every option with its default") {
  Config config;
  std::string help;
  CHECK(parse({"--help"}, config, &help) == Action::kHelp);
  for (const auto* text : {"--config", "--procs", "--epochs", "--batch-size", "--lr", "--momentum",
                           "--seed", "--threads", "--dataset", "--data-dir", "--train-limit",
                           "--test-limit", "--metrics-out", "--drop-last"}) {
    CAPTURE(text);
    CHECK(help.find(text) != std::string::npos);
  }
  CHECK(help.find("0: 256") != std::string::npos);  // batch_size 0 is the recipe's 256
  CHECK(help.find("0.9") != std::string::npos);     // momentum default
}

TEST_CASE("invalid values are rejected with the field named") {
  const auto rejects = [](const std::vector<std::string>& args, const std::string& message) {
    CAPTURE(message);
    Config config;
    CHECK_THROWS_WITH_AS(
        {
          parse(args, config);
          validate(config);
        },
        doctest::Contains(message.c_str()), InputError);
  };
  rejects({"--procs", "0"}, "invalid procs = 0: must be between 1 and 256 (--procs");
  rejects({"--procs", "-1"}, "invalid procs = -1");
  rejects({"--procs", "abc"}, "--procs");
  rejects({"--procs", "1000000"}, "invalid procs = 1000000");
  rejects({"--procs", "99999999999999999999"},
          "--procs: 99999999999999999999 is out of range for an integer");
  rejects({"--seed", "-99999999999999999999"},
          "--seed: -99999999999999999999 is out of range for an integer");
  rejects({"--sync", "steps:0"}, "invalid sync = 'steps:0'");
  rejects({"--precision", "fp16"},
          "invalid precision = 'fp16': must be fp32, bf16 or auto (--precision");
  rejects({"--sync", "grads", "--procs", "2"},
          "invalid sync = 'grads': averages gradients before every step");
  rejects({"--batch-size", "-1"}, "invalid batch_size = -1");
  rejects({"--recipe", "fast"}, "invalid recipe = 'fast': must be scaled or seed");
  rejects({"--lr-schedule", "step"}, "invalid lr_schedule = 'step': must be cosine or constant");
  rejects({"--target-accuracy", "101"}, "invalid target_accuracy = 101");
  rejects({"--target-accuracy", "-1"}, "invalid target_accuracy = -1");
  rejects({"--lr", "-1"}, "invalid lr = -1: must be a finite number greater than 0");
  rejects({"--lr", "-0.1"}, "invalid lr = -0.1");
  rejects({"--lr", "nan"}, "invalid lr");
  rejects({"--epochs", "0"}, "invalid epochs = 0");
  rejects({"--momentum", "1"}, "invalid momentum = 1");
  rejects({"--dropout", "1"}, "invalid dropout = 1: must be between 0 (none) and 0.99 (--dropout");
  rejects({"--dropout", "-0.1"}, "invalid dropout = -0.1");
  rejects({"--augment", "--augment-shift", "0"},
          "invalid augment_shift = 0: must be between 1 and 4 pixels (a digit's margin in its "
          "image) (--augment-shift / config key 'augment_shift')");
  rejects({"--augment", "--augment-shift", "5"}, "invalid augment_shift = 5");
  rejects({"--augment-shift", "2"},
          "invalid augment_shift = 2: sets how far --augment shifts the images: add --augment");
  rejects({"--dataset", "fashion-mnist", "--augment-flips"},
          "invalid augment_flips = true: mirrors the images --augment shifts: add --augment");
  rejects({"--augment", "--augment-flips"},
          "invalid augment_flips = true: a mirrored image of mnist is not of its class");
  rejects({"--threads", "-2"}, "invalid threads = -2");
  rejects({"--dataset", "cifar"}, "invalid dataset = 'cifar': must be mnist or fashion-mnist");
  rejects({"--train-limit", "-5"}, "invalid train_limit = -5");
  rejects({"--seed", "-1"}, "invalid seed = -1");
  rejects({"--no-such-flag"}, "no-such-flag");
  rejects({"--config", "/nonexistent/x.toml"}, "/nonexistent/x.toml");
}

TEST_CASE("bad config files are rejected naming the file and key") {
  TempDir dir;
  Config config;
  const auto path_unknown = write_toml(dir, "procs = 2\nprocesses = 4\n");
  CHECK_THROWS_WITH_AS(apply_toml_file(path_unknown, config),
                       doctest::Contains("unknown key 'processes'"), InputError);
  const auto path_type = write_toml(dir, "procs = \"four\"\n");
  CHECK_THROWS_WITH_AS(apply_toml_file(path_type, config),
                       doctest::Contains("key 'procs' must be an integer"), InputError);
  const auto path_float = write_toml(dir, "epochs = 1.5\n");
  CHECK_THROWS_WITH_AS(apply_toml_file(path_float, config),
                       doctest::Contains("key 'epochs' must be an integer"), InputError);
  const auto path_bool = write_toml(dir, "drop_last = 1\n");
  CHECK_THROWS_WITH_AS(apply_toml_file(path_bool, config),
                       doctest::Contains("key 'drop_last' must be true or false"), InputError);
  const auto path_syntax = write_toml(dir, "procs = = 2\n");
  CHECK_THROWS_WITH_AS(apply_toml_file(path_syntax, config),
                       doctest::Contains((path_syntax + ":1:").c_str()), InputError);
  CHECK_THROWS_WITH_AS(apply_toml_file(dir.path(), config), doctest::Contains("not a regular file"),
                       InputError);
  const auto path_bad_value = write_toml(dir, "procs = 0\n");
  apply_toml_file(path_bad_value, config);
  CHECK_THROWS_WITH_AS(validate(config), doctest::Contains("invalid procs = 0"), InputError);
}

TEST_CASE("an enumeration is read once, from its words, in a file or a flag") {
  TempDir dir;
  Config config;
  apply_toml_file(write_toml(dir, "progress = \"off\"\nsync = \"steps:7\"\nlr_schedule = \"\"\n"),
                  config);
  CHECK(config.progress == Progress::kOff);
  CHECK(config.sync.mode == SyncPlan::Mode::kSteps);
  CHECK(config.sync.every_steps == 7);
  CHECK(config.lr_schedule == LrSchedule::kRecipes);
  CHECK_THROWS_WITH_AS(apply_toml_file(write_toml(dir, "progress = \"sometimes\"\n"), config),
                       "invalid progress = 'sometimes': must be auto, on or off (--progress / "
                       "config key 'progress')",
                       InputError);
  CHECK_THROWS_WITH_AS(apply_toml_file(write_toml(dir, "dataset = 1\n"), config),
                       doctest::Contains("key 'dataset' must be a string"), InputError);
  // Every word reads back as the value it names, and the value writes back as that word.
  const std::vector<std::pair<std::string, std::vector<std::string>>> words = {
      {"dataset", {"mnist", "fashion-mnist"}},     {"recipe", {"scaled", "seed"}},
      {"lr_schedule", {"cosine", "constant", ""}}, {"progress", {"auto", "on", "off"}},
      {"precision", {"fp32", "bf16", "auto"}},     {"sync", {"epoch", "steps:20", "grads"}}};
  for (const auto& [key, list] : words) {
    for (const std::string& w : list) {
      set_key(config, key, w);
      const auto entries = config_entries(config);
      const auto entry = std::find_if(entries.begin(), entries.end(),
                                      [&, k = key](const ConfigEntry& e) { return e.key == k; });
      REQUIRE(entry != entries.end());
      CHECK(entry->value == w);
      CHECK(entry->is_string);
    }
  }
  CHECK(std::string(word(DatasetKind::kFashionMnist)) == "fashion-mnist");
  CHECK(std::string(word(PrecisionMode::kAuto)) == "auto");
}

TEST_CASE("threads per worker: cores / procs, at least 1, unless given") {
  Config config;
  config.procs = 2;
  CHECK(threads_per_worker(config, 2) == 1);
  CHECK(threads_per_worker(config, 16) == 8);
  config.procs = 5;
  CHECK(threads_per_worker(config, 2) == 1);
  config.procs = 1;
  CHECK(threads_per_worker(config, 2) == 2);
  config.threads = 3;
  CHECK(threads_per_worker(config, 2) == 3);
}

TEST_CASE("the data directory defaults to <project>/data/<dataset>") {
  Config config;
  config.dataset = DatasetKind::kFashionMnist;
  const std::string dir = resolved_data_dir(config);
  CHECK(dir.size() >= std::string("/data/fashion-mnist").size());
  CHECK(dir.substr(dir.size() - 19) == "/data/fashion-mnist");
  config.data_dir = "/somewhere";
  CHECK(resolved_data_dir(config) == "/somewhere");
}

TEST_CASE(
    "--resume adopts the saved training configuration, refuses a changed key and accepts a "
    "repeated one") {
  TempDir dir;
  Config original;
  parse({"--procs", "3", "--lr", "0.05", "--epochs", "7", "--dataset", "fashion-mnist",
         "--drop-last", "--sync", "steps:4", "--threads", "2", "--metrics-out", "a.json"},
        original);
  const std::string saved = training_config_toml(original);
  // Only what defines the training is recorded: not threads or files.
  CHECK(saved.find("procs = 3") != std::string::npos);
  CHECK(saved.find("sync = 'steps:4'") != std::string::npos);
  CHECK(saved.find("threads") == std::string::npos);
  CHECK(saved.find("metrics_out") == std::string::npos);

  SUBCASE("nothing given: every training key comes from the checkpoint") {
    Config config;
    parse({"--resume", "ck.pt", "--threads", "1", "--metrics-out", "b.json"}, config);
    adopt_training_config(saved, "--resume ck.pt", config);
    CHECK(config.procs == 3);
    CHECK(config.lr == doctest::Approx(0.05));
    CHECK(config.epochs == 7);
    CHECK(config.dataset == DatasetKind::kFashionMnist);
    CHECK(config.drop_last);
    CHECK(config.sync.text() == "steps:4");
    CHECK(config.threads == 1);  // how this process runs it: its own
    CHECK(config.metrics_out == "b.json");
    CHECK_NOTHROW(validate(config));
  }
  SUBCASE("the original command line repeated: accepted") {
    Config config;
    parse({"--procs", "3", "--lr", "0.05", "--epochs", "7", "--dataset", "fashion-mnist",
           "--drop-last", "--sync", "steps:4", "--resume", "ck.pt"},
          config);
    CHECK_NOTHROW(adopt_training_config(saved, "--resume ck.pt", config));
  }
  SUBCASE("each changed training key: one line naming it and the saved value") {
    const std::vector<std::pair<std::vector<std::string>, std::string>> changes = {
        {{"--procs", "2"}, "--procs 2 would change the run it continues, which has procs = 3"},
        {{"--lr", "0.1"}, "--lr 0.1 would change the run it continues, which has lr = 0.05"},
        {{"--epochs", "15"}, "which has epochs = 7"},
        {{"--batch-size", "128"}, "which has batch_size = 0"},
        {{"--seed", "2"}, "which has seed = 1"},
        {{"--dataset", "mnist"}, "which has dataset = fashion-mnist"},
        {{"--momentum", "0.5"}, "which has momentum = 0.9"},
        {{"--precision", "bf16"}, "which has precision = auto"},
        {{"--recipe", "seed"}, "which has recipe = scaled"},
        {{"--train-limit", "100"}, "which has train_limit = 0"},
        {{"--drop-last=false"}, "which has drop_last = true"},
        {{"--dropout", "0"}, "which has dropout = 0.25"},
        {{"--augment"}, "which has augment = false"},
        {{"--augment-flips"}, "which has augment_flips = false"},
        {{"--augment-shift", "2"}, "which has augment_shift = 1"},
    };
    for (const auto& [flags, message] : changes) {
      Config config;
      std::vector<std::string> args = flags;
      args.insert(args.end(), {"--resume", "ck.pt"});
      parse(args, config);
      INFO(flags[0]);
      const std::string flag = flags[0].substr(0, flags[0].find('='));
      CHECK_THROWS_WITH_AS(adopt_training_config(saved, "--resume ck.pt", config),
                           doctest::Contains(("--resume ck.pt: " + flag + " ").c_str()),
                           InputError);
      CHECK_THROWS_WITH_AS(adopt_training_config(saved, "--resume ck.pt", config),
                           doctest::Contains(message.c_str()), InputError);
    }
  }
  SUBCASE("a checkpoint saved before --dropout existed trained with the seed's 0.5") {
    const std::string old = without_line(saved, "dropout = 0.25");
    Config config;
    parse({"--resume", "ck.pt"}, config);
    adopt_training_config(old, "--resume ck.pt", config);
    CHECK(config.dropout == 0.5);
    Config changed;
    parse({"--dropout", "0.25", "--resume", "ck.pt"}, changed);
    CHECK_THROWS_WITH_AS(adopt_training_config(old, "--resume ck.pt", changed),
                         doctest::Contains("which has dropout = 0.5"), InputError);
  }
  SUBCASE("a checkpoint saved before --augment-flips existed mirrored Fashion-MNIST's images") {
    const auto without_flips_key = [](const std::string& toml) {
      return without_line(toml, "augment_flips = false");
    };
    for (const char* dataset : {"fashion-mnist", "mnist"}) {
      CAPTURE(dataset);
      Config augmented;
      parse({"--dataset", dataset, "--augment"}, augmented);
      const std::string old = without_flips_key(training_config_toml(augmented));
      Config config;
      parse({"--resume", "ck.pt"}, config);
      adopt_training_config(old, "--resume ck.pt", config);
      CHECK(config.augment);
      CHECK(config.augment_flips == (std::string(dataset) == "fashion-mnist"));
      CHECK_NOTHROW(validate(config));
    }
    // Without --augment nothing was mirrored.
    Config config;
    parse({"--resume", "ck.pt"}, config);
    adopt_training_config(without_flips_key(saved), "--resume ck.pt", config);
    CHECK_FALSE(config.augment_flips);
  }
  SUBCASE("a checkpoint saved before --augment-shift existed shifted by up to 2 pixels") {
    Config augmented;
    parse({"--augment"}, augmented);
    const std::string old = without_line(training_config_toml(augmented), "augment_shift = 1");
    Config config;
    parse({"--resume", "ck.pt"}, config);
    adopt_training_config(old, "--resume ck.pt", config);
    CHECK(config.augment);
    CHECK(config.augment_shift == 2);
    CHECK_NOTHROW(validate(config));
    Config repeated;  // today's default, given: not the run's
    parse({"--augment-shift", "1", "--resume", "ck.pt"}, repeated);
    CHECK_THROWS_WITH_AS(adopt_training_config(old, "--resume ck.pt", repeated),
                         doctest::Contains("which has augment_shift = 2"), InputError);
  }
  SUBCASE("a config file counts as given") {
    Config config;
    parse({"--config", write_toml(dir, "lr = 0.2\n"), "--resume", "ck.pt"}, config);
    CHECK_THROWS_WITH_AS(adopt_training_config(saved, "--resume ck.pt", config),
                         doctest::Contains("which has lr = 0.05"), InputError);
  }
}

TEST_CASE("--resume and --init-from together are refused") {
  Config config;
  parse({"--resume", "a.pt", "--init-from", "b.pt"}, config);
  CHECK_THROWS_WITH_AS(validate(config), doctest::Contains("give one of them"), InputError);
}

TEST_CASE("every configs/*.toml we ship parses and validates") {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(source_path("configs"))) {
    if (entry.path().extension() != ".toml") continue;
    CAPTURE(entry.path().string());
    ++files;
    Config config;
    CHECK_NOTHROW({
      parse({"--config", entry.path().string()}, config);
      validate(config);
    });
    if (entry.path().filename().string().find("augment") != std::string::npos) {
      CHECK(config.augment);
      CHECK(config.dropout == 0.25);  // the shifts regularise: docs/accuracy.md, "Augmentation"
    }
  }
  CHECK(files >= 6);
}
