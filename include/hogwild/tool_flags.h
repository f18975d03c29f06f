// Command-line parsing shared by the small tools (hogwild_eval, hogwild_step): --help prints
// the help, a bad flag is an InputError naming it. Header-only: only the tools link CLI11.
#pragma once

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "hogwild/error.h"

namespace hogwild {

// Parses argv into `app`'s options. Returns false when --help was asked for (and printed):
// the tool should then exit 0.
inline bool parse_tool_flags(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    return false;
  } catch (const CLI::ParseError& e) {
    throw InputError(fmt::format("{} (see --help)", e.what()));
  }
  return true;
}

}  // namespace hogwild
