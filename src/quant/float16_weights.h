// Stores chosen float32 constants as float16 followed by a DEQUANTIZE to float32 (the
// TFLite float16 weight convention: schema DequantizeOptions reads FLOAT16, and
// LiteRT/XNNPACK dequantize such constants once at load). `liteq quantize --ple-dtype
// fp16` uses it for Gemma 3n's per-layer embedding table after the recipe has left it
// in float32 (RecipeOptions::float_weights), halving its size; consumers keep reading
// float32, so the GATHER is unchanged.
#ifndef LITEQ_QUANT_FLOAT16_WEIGHTS_H_
#define LITEQ_QUANT_FLOAT16_WEIGHTS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"

namespace liteq::quant {

struct Float16Report {
  int buffers = 0;           // float32 buffers now stored as float16
  int dequantize_ops = 0;    // DEQUANTIZE ops inserted (over all subgraphs)
  size_t float32_bytes = 0;  // bytes before
  size_t float16_bytes = 0;  // bytes after
};

// Converts every float32 constant tensor named in `names` (a name no float32
// constant has is an error). The float16 bytes are produced when the model is written
// (round to nearest even; values beyond the float16 range are an error naming the
// tensor, not a silent infinity).
Result<Float16Report> StoreAsFloat16(graph::Model& model, const std::vector<std::string>& names);

// Names of the float32 constant tables indexed by position: unquantized float32
// constants that GATHER reads with a signature's `input_pos` as indices (the RoPE
// cos/sin tables, [max_seq, rotary_dim / 2] each). The non-static recipes store them
// as float16 by default (RecipeOptions::position_tables_fp16): values in [-1, 1] lose
// at most 2^-12 each, and on gemma3-tiny they are 5% of a weight_only_int8 file.
std::vector<std::string> PositionTableNames(const graph::Model& model);

}  // namespace liteq::quant

#endif  // LITEQ_QUANT_FLOAT16_WEIGHTS_H_
