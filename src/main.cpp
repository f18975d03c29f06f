// hogwild_train: parse, run, and turn exceptions into one line on stderr and an exit code.
// Under mpirun every rank runs this; only rank 0 prints, except for a rank's own failure.
#include <fmt/format.h>

#include <cstdio>
#include <optional>
#include <string>

#include "hogwild/checkpoint.h"
#include "hogwild/config.h"
#include "hogwild/error.h"
#include "hogwild/mpi_job.h"
#include "hogwild/mpi_world.h"
#include "hogwild/output_file.h"
#include "hogwild/recipe.h"
#include "hogwild/report.h"
#include "hogwild/run.h"
#include "hogwild/stop_signals.h"

namespace {

// Rank 0, --resume: the training configuration of the run the checkpoint holds, which must
// have had as many MPI ranks as this job.
std::string resumed_training_config(const hogwild::Config& config, const hogwild::MpiWorld& world) {
  const hogwild::RunState saved = hogwild::read_run_state(config.resume);
  if (saved.ranks != world.size()) {
    throw hogwild::InputError(fmt::format(
        "--resume {}: the run was a job of {} MPI rank(s), this one has {}; launch it as it was "
        "(--init-from starts a new run from the file's parameters)",
        config.resume, saved.ranks, world.size()));
  }
  return saved.training_config;
}

// The command line into `config`: parsed, under --resume given the checkpoint's training
// configuration (rank 0 reads it, every rank adopts it), validated. Under mpirun a rank that
// cannot start stops them all, told once by rank 0; every rank takes part in each exchange,
// whatever its own flags. Returns the exit code when the program must end here.
std::optional<int> configure(int argc, char** argv, hogwild::MpiWorld& world,
                             hogwild::Config& config, std::string& help, hogwild::Action& action) {
  const bool rank_zero = world.rank() == 0;
  std::string bad_input;  // this rank's flags or config file, when they are wrong
  std::string resumed_config;
  try {
    action = hogwild::parse_command_line(argc, argv, config, &help);
    if (action != hogwild::Action::kHelp && rank_zero && !config.resume.empty()) {
      resumed_config = resumed_training_config(config, world);
    }
  } catch (const hogwild::InputError& e) {
    bad_input = hogwild::first_line(e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", world.who(), hogwild::first_line(e.what()));
    return 1;
  }
  const auto any_rank_bad = [&]() {
    std::string message;
    if (!hogwild::any_rank_bad_input(world, bad_input, &message)) return false;
    if (rank_zero) fmt::print(stderr, "{}: error: {}\n", world.who(), message);
    world.finalize_on_exit();
    return true;
  };
  if (any_rank_bad()) return 2;
  resumed_config = hogwild::text_from_rank_zero(world, resumed_config);
  try {
    if (action != hogwild::Action::kHelp) {
      if (!resumed_config.empty())
        hogwild::adopt_training_config(resumed_config, "--resume " + config.resume, config);
      hogwild::validate(config);
      hogwild::choose_hyperparameters(config, world.size());  // the batch split over every rank
    }
  } catch (const hogwild::InputError& e) {
    bad_input = hogwild::first_line(e.what());
  }
  if (any_rank_bad()) return 2;
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  hogwild::MpiWorld world(&argc, &argv);  // first: MPI_Init may take its own arguments out
  const bool rank_zero = world.rank() == 0;
  const std::string who = world.who();
  hogwild::Config config;
  std::string help;
  auto action = hogwild::Action::kTrain;
  if (const std::optional<int> code = configure(argc, argv, world, config, help, action))
    return *code;
  try {
    if (action == hogwild::Action::kHelp || action == hogwild::Action::kPrintConfig) {
      if (rank_zero)
        fmt::print("{}", action == hogwild::Action::kHelp ? help : hogwild::config_json(config));
      world.finalize_on_exit();
      return 0;
    }
    std::FILE* discard = rank_zero ? nullptr : std::fopen("/dev/null", "w");
    // With the JSON on standard output (--metrics-out -), what people read goes to stderr.
    std::FILE* out = discard                                     ? discard
                     : hogwild::names_stdout(config.metrics_out) ? stderr
                                                                 : stdout;
    hogwild::run_hogwild(config, out, world);
    world.finalize_on_exit();
    return 0;
  } catch (const hogwild::Interrupted& e) {
    std::fflush(stdout);
    if (!e.told()) fmt::print(stderr, "{}: {}\n", who, hogwild::first_line(e.what()));
    return 128 + e.signal();
  } catch (const hogwild::ReportedByRankZero&) {
    world.finalize_on_exit();  // every rank stops here together
    return 2;
  } catch (const hogwild::InputError& e) {
    // The ranks' disagreement stops them all together; another bad input (a rank's data) is
    // its own, and its exit without MPI_Finalize makes mpirun end the job.
    if (dynamic_cast<const hogwild::JobInputError*>(&e)) world.finalize_on_exit();
    fmt::print(stderr, "{}: error: {}\n", who, hogwild::first_line(e.what()));
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", who, hogwild::first_line(e.what()));
    return 1;
  }
}
