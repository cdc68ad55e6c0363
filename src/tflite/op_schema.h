// What liteq knows about each builtin op it uses: the options table the schema
// gives it, how many inputs and outputs it takes, and the conversion of its options
// between graph::OpOptions and the flatbuffer BuiltinOptions union. Shared by the
// writer and the reader so both agree on every op.
#ifndef LITEQ_TFLITE_OP_SCHEMA_H_
#define LITEQ_TFLITE_OP_SCHEMA_H_

#include <cstdint>

#include "graph/graph.h"
#include "liteq/status.h"
#include "tflite/liteq_tflite_generated.h"

namespace liteq::tflite {

namespace fb = ::tflite;

struct OpSchema {
  graph::OpCode code;
  // The BuiltinOptions member the official converter attaches to this op
  // (BuiltinOptions_NONE if the schema has no options table for it).
  fb::BuiltinOptions options_type;
  int min_inputs;
  int max_inputs;  // -1: any number (CONCATENATION)
  int num_outputs;
};

// nullptr if liteq does not support the builtin operator `builtin_code`.
const OpSchema* FindOpSchema(int32_t builtin_code);
// Schema of an op code that graph::OpCode names (always exists).
const OpSchema& GetOpSchema(graph::OpCode code);

// The options an op carries when the graph says NoOptions (the graph.h defaults,
// e.g. SOFTMAX beta = 1; the schema default of 0 would be wrong).
graph::OpOptions DefaultOptions(graph::OpCode code);
// True if `options` is NoOptions or the alternative that belongs to `code`.
bool OptionsMatch(graph::OpCode code, const graph::OpOptions& options);

// Writer: builds the options table of `code` from `options` (which must match,
// NoOptions meaning defaults). Returns a null offset for ops without options.
flatbuffers::Offset<void> BuildOptions(flatbuffers::FlatBufferBuilder& fbb, graph::OpCode code,
                                       const graph::OpOptions& options);

// Reader: the graph options of a verified operator whose code is `code`. A missing
// options table means the schema defaults, as in the official runtime. Errors name
// nothing but the problem; the caller adds the op's position.
Result<graph::OpOptions> ParseOptions(graph::OpCode code, const fb::Operator& op);

// Schema TensorType <-> graph::DType (the values are equal by construction).
bool IsSupportedTensorType(int8_t type);

}  // namespace liteq::tflite

#endif  // LITEQ_TFLITE_OP_SCHEMA_H_
