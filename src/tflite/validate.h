// Structural checks of a graph::Model that the writer runs before writing and the
// reader runs on what it decoded, so a file liteq accepts is one its runtime (and the
// official one) can index without going out of bounds.
#ifndef LITEQ_TFLITE_VALIDATE_H_
#define LITEQ_TFLITE_VALIDATE_H_

#include <cstdint>
#include <string>

#include "graph/graph.h"
#include "liteq/status.h"

namespace liteq::tflite {

// Checks every index (buffers, tensors, subgraphs), shapes (non-negative, element
// count without overflow), constant tensor byte sizes (int4 packed two per byte),
// quantization arrays (scale/zero_point counts, per-axis count = size of the quantized
// dimension), op arity and options, and signatures. Returns InvalidArgument naming
// the subgraph, op or tensor and what was wrong.
Status ValidateModel(const graph::Model& model);

// Element count of `shape`, or an error if a dimension is negative or the count
// overflows int64.
Result<int64_t> CheckedElementCount(const std::vector<int32_t>& shape);

// "subgraph 0 'prefill'" / "tensor 3 'w'" fragments for error messages.
std::string DescribeSubgraph(const graph::Model& model, size_t index);
std::string DescribeTensor(const graph::Subgraph& subgraph, int64_t index);

}  // namespace liteq::tflite

#endif  // LITEQ_TFLITE_VALIDATE_H_
