// Symmetric weight quantization of float32 constant buffers a slice of rows at a time.
//
// A checkpoint tensor reaches the quantizer as a lazy float32 buffer (bf16/fp16 in the
// file, converted on read). Reading it whole would put a float32 copy of the largest
// tensor in memory (Gemma 3's 262144 x 640 embedding: 671 MB, more than the whole bf16
// checkpoint's other tensors together); reading slices of rows through
// graph::Buffer::ReadRange keeps quantize's peak near the integer output plus one slice.
// Results are identical to quantizing the whole tensor at once: per-row and per-block
// scales only see their own rows, and a per-tensor scale comes from a first pass.
#ifndef LITEQ_QUANT_STREAMED_WEIGHTS_H_
#define LITEQ_QUANT_STREAMED_WEIGHTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"

namespace liteq::quant {

struct WeightLayout {
  int64_t rows = 0;
  int64_t cols = 0;
  bool per_tensor = false;  // one scale; otherwise one per row (or per block)
  int bits = 8;             // 8 or 4
  int64_t block_size = 0;   // > 0: blocks of that many columns, scales [rows, cols/block]
};

// Floats per slice (16 MB): small against any model that needs streaming, large
// enough that per-slice overhead does not matter.
inline constexpr int64_t kWeightSliceFloats = int64_t{4} << 20;

// The scales of the symmetric quantization of `original` (float32 [rows, cols]).
// `name` goes into error messages. `slice_floats` is for tests.
Result<std::vector<float>> StreamedSymmetricScales(const graph::Buffer& original,
                                                   const WeightLayout& layout,
                                                   const std::string& name,
                                                   int64_t slice_floats = kWeightSliceFloats);

// The int8 (bits 8) or packed int4 (bits 4) values, written into `out` (its size must
// be the integer tensor's byte size).
Status StreamedSymmetricValues(const graph::Buffer& original, const WeightLayout& layout,
                               const std::string& name, std::span<uint8_t> out,
                               int64_t slice_floats = kWeightSliceFloats);

// A buffer whose bytes are StreamedSymmetricValues(original), produced when the writer
// streams it: the float tensor is read again then, so the model is never held twice.
graph::Buffer LazySymmetricWeights(graph::Buffer original, const WeightLayout& layout,
                                   std::string name);
// The same with the layout spelled out (rewrites that predate WeightLayout).
graph::Buffer LazySymmetricWeights(graph::Buffer original, int64_t rows, int64_t cols,
                                   bool per_tensor, int bits, int64_t block_size, std::string name);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_STREAMED_WEIGHTS_H_
