// Serialises a graph::Model to a LiteRT .tflite file.
//
// Layout (schema version 3c, "constant buffers outside the flatbuffer"):
//   [flatbuffer "TFL3"] [pad] [buffer 1] [pad] [buffer 2] ...
// Each non-empty constant buffer starts on a `buffer_alignment` boundary after the
// flatbuffer, and its Buffer table holds only `offset` (from the start of the file) and
// `size`. Buffers are produced one at a time (graph::Buffer::Materialize), so writing
// holds one converted tensor in memory, not the model. The file appears under `path`
// only when complete (AtomicFileWriter).
#ifndef LITEQ_TFLITE_WRITER_H_
#define LITEQ_TFLITE_WRITER_H_

#include <cstddef>
#include <string>

#include "graph/graph.h"
#include "liteq/status.h"

namespace liteq::tflite {

struct WriteOptions {
  // true: constant data after the flatbuffer, addressed by Buffer.offset/size.
  // false: constant data inline in Buffer.data (the whole model is then built in
  // memory and must stay under the 2 GB flatbuffer limit).
  bool external_buffers = true;
  // Start of each external buffer, relative to the start of the file. A power of two.
  size_t buffer_alignment = 64;
};

Status WriteTflite(const graph::Model& model, const std::string& path,
                   const WriteOptions& options = {});

}  // namespace liteq::tflite

#endif  // LITEQ_TFLITE_WRITER_H_
