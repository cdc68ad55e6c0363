// safetensors reader (format: https://github.com/huggingface/safetensors, "Format"):
//   [8 bytes: N, little-endian u64][N bytes: JSON header][data section]
// The header maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]}, with
// offsets relative to the start of the data section; "__metadata__" is free-form and
// ignored. Files are memory-mapped and tensors are views into the mapping.
#ifndef LITEQ_IO_SAFETENSORS_H_
#define LITEQ_IO_SAFETENSORS_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "common/mapped_file.h"
#include "io/checkpoint.h"
#include "liteq/status.h"

namespace liteq::io {

// Parses and validates the header of a mapped safetensors file: header length within
// the file, well-formed JSON, supported dtypes, non-negative shapes whose byte size
// (overflow-checked) equals the span of `data_offsets`, offsets inside the data
// section, and no two tensors sharing bytes. Returned TensorInfos carry absolute file
// offsets, `file` = file.path(), in header (name) order. Errors are DataLoss or
// Unimplemented and start with "<file>: tensor '<name>': ".
Result<std::vector<TensorInfo>> ParseSafetensorsHeader(const MappedFile& file);

// True if `bytes` start like a safetensors file (a plausible header length followed by
// '{'), used to sniff files without the .safetensors extension.
bool LooksLikeSafetensors(std::span<const uint8_t> bytes);

// A checkpoint made of one or more safetensors files (a single file, or the shards of a
// Hugging Face directory).
class SafetensorsCheckpoint : public Checkpoint {
 public:
  // A single .safetensors file; config() is an empty object.
  static Result<std::unique_ptr<Checkpoint>> OpenFile(const std::string& path);
  static Result<std::unique_ptr<Checkpoint>> OpenMapped(std::shared_ptr<const MappedFile> file);

  // Combines already-parsed files. `tensors[i].file` must be the path of one of
  // `files`. Fails (DataLoss) if a tensor name occurs twice, naming both files.
  static Result<std::unique_ptr<SafetensorsCheckpoint>> Create(
      std::string path, nlohmann::json config, std::vector<std::shared_ptr<const MappedFile>> files,
      std::vector<TensorInfo> tensors);

  const nlohmann::json& config() const override { return config_; }
  const std::string& path() const override { return path_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  Result<std::span<const uint8_t>> RawBytes(const std::string& name) const override;

 private:
  SafetensorsCheckpoint() = default;
  std::string path_;
  nlohmann::json config_;
  std::vector<std::shared_ptr<const MappedFile>> files_;
  std::vector<TensorInfo> tensors_;         // sorted by name
  std::vector<const MappedFile*> file_of_;  // parallel to tensors_
};

}  // namespace liteq::io

#endif  // LITEQ_IO_SAFETENSORS_H_
