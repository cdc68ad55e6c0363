// `liteq version`: prints the version and build facts.
#include <cstdio>

#include "commands.h"

namespace liteq::cli {
namespace {

void SetupVersion(CLI::App& app, Status* result) {
  auto* cmd = app.add_subcommand("version", "Print liteq's version");
  cmd->callback([result] {
    std::printf("liteq %s\n", LITEQ_VERSION);
    *result = Status::Ok();
  });
}

}  // namespace
LITEQ_REGISTER_COMMAND("version", SetupVersion);
}  // namespace liteq::cli
