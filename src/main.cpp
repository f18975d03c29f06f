// hogwild_train: parse, run, and turn exceptions into one line on stderr and an exit code.
#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "hogwild/config.h"
#include "hogwild/error.h"
#include "hogwild/output_file.h"
#include "hogwild/report.h"
#include "hogwild/run.h"
#include "hogwild/supervisor.h"

int main(int argc, char** argv) {
  try {
    hogwild::Config config;
    std::string help;
    const auto action = hogwild::parse_command_line(argc, argv, config, &help);
    if (action == hogwild::Action::kHelp) {
      fmt::print("{}", help);
      return 0;
    }
    hogwild::validate(config);
    if (action == hogwild::Action::kPrintConfig) {
      fmt::print("{}", hogwild::config_json(config));
      return 0;
    }
    // With the JSON on standard output (--metrics-out -), what people read goes to stderr.
    hogwild::run_hogwild(config, hogwild::names_stdout(config.metrics_out) ? stderr : stdout);
    return 0;
  } catch (const hogwild::Interrupted& e) {
    std::fflush(stdout);
    fmt::print(stderr, "hogwild_train: {}\n", hogwild::first_line(e.what()));
    return 128 + e.signal();
  } catch (const hogwild::InputError& e) {
    fmt::print(stderr, "hogwild_train: error: {}\n", hogwild::first_line(e.what()));
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "hogwild_train: error: {}\n", hogwild::first_line(e.what()));
    return 1;
  }
}
