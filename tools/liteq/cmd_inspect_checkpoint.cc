// `liteq inspect-checkpoint [PATH] [--json]`: shows what a checkpoint holds (config and
// tensors), for any format Checkpoint::Open reads.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "io/checkpoint.h"

namespace liteq::cli {
namespace {

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

void PrintJson(const io::Checkpoint& ckpt) {
  nlohmann::json out;
  out["path"] = ckpt.path();
  out["config"] = ckpt.config();
  out["tensors"] = nlohmann::json::array();
  uint64_t total = 0;
  for (const io::TensorInfo& t : ckpt.tensors()) {
    out["tensors"].push_back({{"name", t.name},
                              {"dtype", io::WeightDTypeName(t.dtype)},
                              {"shape", t.shape},
                              {"bytes", t.nbytes}});
    total += t.nbytes;
  }
  out["total_bytes"] = total;
  std::printf("%s\n", out.dump(2).c_str());
}

void PrintTable(const io::Checkpoint& ckpt) {
  std::printf("checkpoint: %s\n\nconfig:\n%s\n\n", ckpt.path().c_str(),
              ckpt.config().dump(2).c_str());
  size_t name_width = 4;
  size_t shape_width = 5;
  for (const io::TensorInfo& t : ckpt.tensors()) {
    name_width = std::max(name_width, t.name.size());
    shape_width = std::max(shape_width, ShapeText(t.shape).size());
  }
  const int nw = static_cast<int>(name_width);
  const int sw = static_cast<int>(shape_width);
  std::printf("%-*s  %-5s  %-*s  %12s\n", nw, "name", "dtype", sw, "shape", "bytes");
  uint64_t total = 0;
  for (const io::TensorInfo& t : ckpt.tensors()) {
    std::printf("%-*s  %-5s  %-*s  %12llu\n", nw, t.name.c_str(), io::WeightDTypeName(t.dtype), sw,
                ShapeText(t.shape).c_str(), static_cast<unsigned long long>(t.nbytes));
    total += t.nbytes;
  }
  std::printf("\ntotal: %zu tensors, %llu bytes (%.2f MiB)\n", ckpt.tensors().size(),
              static_cast<unsigned long long>(total), static_cast<double>(total) / (1 << 20));
}

void SetupInspectCheckpoint(CLI::App& app, Status* result) {
  auto* cmd = app.add_subcommand("inspect-checkpoint",
                                 "Show a checkpoint's config and tensors (Hugging Face directory, "
                                 ".safetensors, llama2.c .bin)");
  auto path = std::make_shared<std::string>(DefaultModelDir());
  auto json = std::make_shared<bool>(false);
  cmd->add_option("path", *path, "Model directory or checkpoint file (default: bundled model)");
  cmd->add_flag("--json", *json, "Print machine-readable JSON");
  cmd->callback([result, path, json] {
    auto ckpt = io::Checkpoint::Open(*path);
    if (!ckpt.ok()) {
      *result = ckpt.status();
      return;
    }
    if (*json) {
      PrintJson(**ckpt);
    } else {
      PrintTable(**ckpt);
    }
    *result = Status::Ok();
  });
}

}  // namespace
LITEQ_REGISTER_COMMAND("inspect-checkpoint", SetupInspectCheckpoint);
}  // namespace liteq::cli
