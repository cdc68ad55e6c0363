#include "io/hf_directory.h"

#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "common/mapped_file.h"
#include "io/json_file.h"
#include "io/safetensors.h"

namespace liteq::io {
namespace {

constexpr char kConfigFile[] = "config.json";
constexpr char kSingleFile[] = "model.safetensors";
constexpr char kIndexFile[] = "model.safetensors.index.json";

std::string Join(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

bool IsRegularFile(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// Shard names come from an untrusted index: they must be plain file names inside the
// model directory, never paths that escape it.
bool IsPlainFileName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

// shard file name -> tensor names the index places in it.
using WeightMap = std::map<std::string, std::vector<std::string>>;

Result<WeightMap> ReadIndex(const std::string& index_path) {
  LITEQ_ASSIGN_OR_RETURN(nlohmann::json index, ReadJsonObjectFile(index_path));
  auto it = index.find("weight_map");
  if (it == index.end() || !it->is_object()) {
    return DataLossError(index_path + ": missing 'weight_map' object");
  }
  if (it->empty()) return DataLossError(index_path + ": 'weight_map' lists no tensors");
  WeightMap shards;
  for (const auto& [tensor, shard] : it->items()) {
    if (!shard.is_string() || !IsPlainFileName(shard.get<std::string>())) {
      return DataLossError(index_path + ": tensor '" + tensor + "': shard " + shard.dump() +
                           " is not a file name in the model directory");
    }
    shards[shard.get<std::string>()].push_back(tensor);
  }
  return shards;
}

Status AddShard(const std::string& dir, const std::string& index_path, const std::string& shard,
                const std::vector<std::string>& listed,
                std::vector<std::shared_ptr<const MappedFile>>* files,
                std::vector<TensorInfo>* tensors) {
  const std::string shard_path = Join(dir, shard);
  if (!IsRegularFile(shard_path)) {
    return NotFoundError(index_path + ": shard '" + shard + "' is missing (" + shard_path +
                         "); it holds tensor '" + listed.front() + "' and " +
                         std::to_string(listed.size() - 1) + " more");
  }
  LITEQ_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(shard_path));
  LITEQ_ASSIGN_OR_RETURN(std::vector<TensorInfo> shard_tensors, ParseSafetensorsHeader(*file));
  std::set<std::string> present;
  for (const TensorInfo& t : shard_tensors) present.insert(t.name);
  for (const std::string& name : listed) {
    if (present.count(name) == 0) {
      return DataLossError(shard_path + ": tensor '" + name + "' is listed in " + kIndexFile +
                           " for this shard but the shard does not contain it");
    }
  }
  // Tensors a shard holds beyond the index are kept (the loader in transformers reads
  // whole shards); one that also occurs in another shard is rejected by Create().
  for (TensorInfo& t : shard_tensors) tensors->push_back(std::move(t));
  files->push_back(std::move(file));
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Checkpoint>> OpenHuggingFaceDirectory(const std::string& dir) {
  const std::string config_path = Join(dir, kConfigFile);
  if (!IsRegularFile(config_path)) {
    return NotFoundError(dir + ": not a Hugging Face model directory: no " + kConfigFile);
  }
  LITEQ_ASSIGN_OR_RETURN(nlohmann::json config, ReadJsonObjectFile(config_path));

  std::vector<std::shared_ptr<const MappedFile>> files;
  std::vector<TensorInfo> tensors;
  const std::string index_path = Join(dir, kIndexFile);
  const std::string single_path = Join(dir, kSingleFile);
  if (IsRegularFile(index_path)) {
    LITEQ_ASSIGN_OR_RETURN(WeightMap shards, ReadIndex(index_path));
    for (const auto& [shard, listed] : shards) {
      LITEQ_RETURN_IF_ERROR(AddShard(dir, index_path, shard, listed, &files, &tensors));
    }
  } else if (IsRegularFile(single_path)) {
    LITEQ_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(single_path));
    LITEQ_ASSIGN_OR_RETURN(tensors, ParseSafetensorsHeader(*file));
    files.push_back(std::move(file));
  } else if (IsRegularFile(Join(dir, "pytorch_model.bin"))) {
    return UnimplementedError(
        dir +
        ": only pytorch_model.bin found; liteq reads safetensors "
        "(convert with transformers' save_pretrained(safe_serialization=True))");
  } else {
    return NotFoundError(dir + ": neither " + kSingleFile + " nor " + kIndexFile + " found");
  }
  LITEQ_ASSIGN_OR_RETURN(
      std::unique_ptr<SafetensorsCheckpoint> checkpoint,
      SafetensorsCheckpoint::Create(dir, std::move(config), std::move(files), std::move(tensors)));
  return std::unique_ptr<Checkpoint>(std::move(checkpoint));
}

}  // namespace liteq::io
