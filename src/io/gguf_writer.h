// GGUF v3 writer, so the same weights liteq exports can be run in llama.cpp for
// side-by-side benchmarks (issue #6).
//
// File layout (ggml docs/gguf.md; gguf-py/gguf/constants.py), all little-endian:
//   u32 magic "GGUF", u32 version 3, u64 tensor_count, u64 kv_count,
//   kv_count x { string key, u32 value_type, value },
//   tensor_count x { string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset },
//   zero padding to `general.alignment` (32), then the tensor data, each tensor at its
//   offset (relative to the data start, a multiple of the alignment).
// A string is u64 length + bytes (no terminator); an array is u32 element type,
// u64 count, elements. ne[0] is the innermost (contiguous) dimension, so a row-major
// [rows, cols] matrix has ne = {cols, rows}.
#ifndef LITEQ_IO_GGUF_WRITER_H_
#define LITEQ_IO_GGUF_WRITER_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "liteq/status.h"

namespace liteq::io {

// gguf-py GGUFValueType.
enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// gguf-py GGMLQuantizationType (the subset liteq writes).
enum class GgmlType : uint32_t { kF32 = 0, kF16 = 1, kQ8_0 = 8 };

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint64_t kGgufAlignment = 32;
// ggml block_q8_0: fp16 scale d, then 32 int8 values; x ~= d * q.
inline constexpr int kQ8_0BlockSize = 32;
inline constexpr int kQ8_0BlockBytes = 2 + kQ8_0BlockSize;

// Bytes of `elements` values stored as `type` (Q8_0: elements must be a multiple of 32).
uint64_t GgmlTypeBytes(GgmlType type, uint64_t elements);

// Quantizes `x` (size a multiple of 32) into Q8_0 blocks: per block d = max|x| / 127
// (stored as fp16), q = round(x / d) (ties away from zero, as ggml's roundf), q = 0
// for an all-zero block. `out` must hold x.size() / 32 * 34 bytes.
void QuantizeQ8_0(std::span<const float> x, std::span<uint8_t> out);

// Accumulates metadata and tensors, then writes the file in one streaming pass:
// tensors are produced one at a time by their callbacks, so peak memory is one tensor.
class GgufBuilder {
 public:
  // Fills `out` (exactly GgmlTypeBytes(type, elements) bytes) with the tensor data.
  using Producer = std::function<Status(std::span<uint8_t> out)>;

  void AddString(const std::string& key, const std::string& value);
  void AddUint32(const std::string& key, uint32_t value);
  void AddInt32(const std::string& key, int32_t value);
  void AddFloat32(const std::string& key, float value);
  void AddBool(const std::string& key, bool value);
  void AddStringArray(const std::string& key, const std::vector<std::string>& values);
  void AddFloat32Array(const std::string& key, const std::vector<float>& values);
  void AddInt32Array(const std::string& key, const std::vector<int32_t>& values);

  // `ne` in GGUF order (innermost first).
  void AddTensor(const std::string& name, std::vector<uint64_t> ne, GgmlType type,
                 Producer producer);

  // Writes atomically to `path` (temporary file + rename).
  Status Write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> ne;
    GgmlType type;
    Producer producer;
    uint64_t bytes = 0;
  };
  std::string kv_bytes_;  // serialised key/value pairs
  uint64_t kv_count_ = 0;
  std::vector<Tensor> tensors_;
};

enum class GgufWeightType { kF32, kF16, kQ8_0 };

struct GgufOptions {
  // Type of the 2-D weight matrices; norms (1-D) are always F32, as llama.cpp's
  // converter writes them. A Q8_0 matrix whose rows are not a multiple of 32 falls
  // back to F16.
  GgufWeightType weight_type = GgufWeightType::kQ8_0;
  std::string name = "liteq";  // general.name
};

// Writes a llama (model_type llama/mistral) or gemma3 (gemma3_text) checkpoint as a
// GGUF that llama.cpp loads with architecture "llama" / "gemma3": hyper-parameters
// from config.json, llama.cpp's tensor names, llama's q/k rows permuted for its
// interleaved RoPE, Gemma norms stored as 1 + w. The vocabulary is a synthetic
// SentencePiece-style one ("llama" tokenizer model: control tokens at the config's
// bos/eos/pad ids, an <unk>, the 256 byte tokens, then "▁t<id>" pieces): liteq's
// benchmarks feed token ids, so only the vocabulary size has to match.
Status WriteCheckpointAsGguf(const Checkpoint& checkpoint, const std::string& path,
                             const GgufOptions& options);

}  // namespace liteq::io

#endif  // LITEQ_IO_GGUF_WRITER_H_
