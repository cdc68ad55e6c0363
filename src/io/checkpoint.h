// A checkpoint: named weight tensors plus the model's config, independent of the file
// format they came from (Hugging Face safetensors directory, single safetensors file,
// llama2.c .bin). Tensors stay in the memory-mapped files; conversion to fp32 happens
// per tensor, on demand.
#ifndef LITEQ_IO_CHECKPOINT_H_
#define LITEQ_IO_CHECKPOINT_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "liteq/status.h"

namespace liteq::io {

enum class WeightDType { kF32, kF16, kBF16, kI32, kI64, kI8, kU8, kBool };
const char* WeightDTypeName(WeightDType t);  // safetensors spelling: "F32", "BF16", ...
size_t WeightDTypeSize(WeightDType t);
// Parses a safetensors dtype string; false if liteq does not read that dtype.
bool ParseWeightDType(std::string_view name, WeightDType* out);

struct TensorInfo {
  std::string name;            // canonical (Hugging Face) name
  WeightDType dtype = WeightDType::kF32;
  std::vector<int64_t> shape;
  std::string file;            // file the bytes live in
  uint64_t offset = 0;         // absolute byte offset in `file`
  uint64_t nbytes = 0;
  // True when the stored bytes are not in the canonical (Hugging Face) layout, so
  // RawBytes() refuses the tensor and ReadFloat32() must be used (llama2.c q/k
  // projections, whose rows are permuted for rotate_half RoPE; see llama2c.h).
  bool raw_layout_differs = false;
  int64_t num_elements() const;
};

class Checkpoint {
 public:
  virtual ~Checkpoint() = default;

  // Opens a Hugging Face model directory (config.json + model.safetensors or a
  // sharded set via model.safetensors.index.json), a single .safetensors file (config
  // then is empty), or a llama2.c checkpoint (.bin, legacy or version 1).
  static Result<std::unique_ptr<Checkpoint>> Open(const std::string& path);

  // config.json as parsed JSON; for llama2.c, an equivalent Hugging Face-style
  // Llama config synthesised from the header.
  virtual const nlohmann::json& config() const = 0;
  // Where the checkpoint came from (directory or file), for error messages.
  virtual const std::string& path() const = 0;
  // All tensors, sorted by name.
  virtual const std::vector<TensorInfo>& tensors() const = 0;
  const TensorInfo* Find(const std::string& name) const;

  // The tensor's bytes as stored (a view into the mapped file). Fails with
  // FailedPrecondition for tensors whose `raw_layout_differs` is set.
  virtual Result<std::span<const uint8_t>> RawBytes(const std::string& name) const = 0;
  // Converts F32/F16/BF16 (and integer types) to fp32 into `out`, whose size must
  // equal the element count. Errors name the file and the tensor.
  virtual Status ReadFloat32(const std::string& name, std::span<float> out) const;
  Result<std::vector<float>> ReadFloat32(const std::string& name) const;
  // Elements [first, first + out.size()) of ReadFloat32(name), converting only those
  // (a tensor whose raw layout differs is read whole, then sliced).
  Status ReadFloat32Range(const std::string& name, uint64_t first, std::span<float> out) const;
  // Integer tensors (I32/I64) as int32, e.g. token ids in reference files.
  Result<std::vector<int32_t>> ReadInt32(const std::string& name) const;
};

}  // namespace liteq::io

#endif  // LITEQ_IO_CHECKPOINT_H_
