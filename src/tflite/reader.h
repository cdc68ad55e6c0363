// Reads a LiteRT .tflite file into a graph::Model.
//
// The file is memory-mapped and checked before anything is trusted: the flatbuffers
// Verifier (with the "TFL3" identifier), then liteq's own checks: every buffer's
// data or offset/size lies inside the file, constant tensors have exactly the bytes
// their shape and type need, every tensor/buffer/opcode/subgraph index is in range,
// op input/output counts match the op, quantization arrays are consistent, and only
// tensor types and builtin ops liteq supports appear. Errors name the file and the
// subgraph/op/tensor at fault.
//
// Constant buffers of the result are views into the mapping (zero copy): each
// graph::Buffer's keep_alive holds the mapping open.
#ifndef LITEQ_TFLITE_READER_H_
#define LITEQ_TFLITE_READER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "graph/graph.h"
#include "liteq/status.h"

namespace liteq::tflite {

Result<std::shared_ptr<const graph::Model>> ReadTflite(const std::string& path);

// Same, for a model already in memory. `owner` keeps `bytes` alive and becomes the
// keep_alive of every buffer; `bytes` must be 8-byte aligned (flatbuffer scalars are
// read in place). `name_for_errors` stands in for the path in messages.
Result<std::shared_ptr<const graph::Model>> ReadTfliteFromMemory(
    std::shared_ptr<const void> owner, std::span<const uint8_t> bytes,
    const std::string& name_for_errors);

}  // namespace liteq::tflite

#endif  // LITEQ_TFLITE_READER_H_
