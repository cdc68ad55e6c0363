// Registry of liteq subcommands. Each cmd_*.cc file defines one subcommand and
// registers it with LITEQ_REGISTER_COMMAND; main.cc only parses and dispatches.
#ifndef LITEQ_TOOLS_LITEQ_COMMANDS_H_
#define LITEQ_TOOLS_LITEQ_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "liteq/status.h"

namespace liteq::cli {

// A setup function adds one subcommand to `app`. Its callback stores the command's
// outcome in `*result` (the process exit code follows from it).
using CommandSetup = std::function<void(CLI::App& app, Status* result)>;

bool RegisterCommand(const char* name, CommandSetup setup);

// Defaults that point at the data bundled with the repository.
std::string DefaultModelDir();      // models/gemma3-tiny
std::string DefaultEvalData();      // data/brown/eval.jsonl
std::string DefaultCalibData();     // data/brown/calib.jsonl

}  // namespace liteq::cli

#define LITEQ_REGISTER_COMMAND(name, setup) \
  static const bool liteq_command_registered_##setup = ::liteq::cli::RegisterCommand(name, setup)

#endif  // LITEQ_TOOLS_LITEQ_COMMANDS_H_
