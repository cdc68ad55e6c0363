// What a LiteRT model contains, for `liteq inspect`: signatures, ops by type and by the
// dtypes they compute in, constant bytes per dtype, metadata, and per-tensor
// quantization parameters. Works on any graph::Model (read with tflite::ReadTflite).
//
// Dtype of an op input: the tensor's dtype, except that a tensor written by DEQUANTIZE
// of a constant is labelled "<storage dtype>(deq)" (e.g. "int8(deq)"): the weight is
// stored quantized but the op reads float (LiteRT's weight-only layout).
#ifndef LITEQ_EVAL_TFLITE_SUMMARY_H_
#define LITEQ_EVAL_TFLITE_SUMMARY_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"

namespace liteq::eval {

// What arithmetic an op does, from the dtypes of its main operands.
enum class ComputeClass {
  kFloat,       // float operands (dequantized weights included)
  kHybrid,      // float activations with an integer constant operand (dynamic range)
  kInteger,     // integer operands only
  kConversion,  // QUANTIZE, DEQUANTIZE, CAST
};
const char* ComputeClassName(ComputeClass c);

struct TensorSummary {
  std::string subgraph;
  int32_t index = 0;
  std::string name;
  std::string dtype;
  std::vector<int32_t> shape;
  bool constant = false;
  // Constant that feeds the op through DEQUANTIZE (its dtype, e.g. "int8"), else "".
  std::string dequantized_from;
  // Quantization parameters (empty scales = not quantized).
  size_t scale_count = 0;
  float scale_min = 0.0f;
  float scale_max = 0.0f;
  int64_t zero_point_min = 0;
  int64_t zero_point_max = 0;
  int32_t quantized_dimension = 0;
  int32_t block_size = 0;
};

struct SignatureTensor {
  std::string name;
  std::string dtype;
  std::vector<int32_t> shape;
};

struct SignatureSummary {
  std::string key;
  std::string subgraph;
  std::vector<SignatureTensor> inputs;
  std::vector<SignatureTensor> outputs;
};

// One op, described by its dtypes ("float32 x int8(deq) -> float32").
struct OpSummary {
  std::string subgraph;
  std::string op;                         // OpCodeName
  std::string output;                     // name of its first output tensor (the key for diffs)
  std::string dtypes;                     // main operand dtypes -> first output dtype
  std::vector<std::string> input_dtypes;  // every input's label, "" for absent inputs
  ComputeClass compute = ComputeClass::kFloat;
};

struct ModelSummary {
  std::vector<std::string> subgraphs;  // names ("subgraph<i>" when unnamed)
  std::vector<SignatureSummary> signatures;
  std::vector<OpSummary> ops;                       // every op of every subgraph
  std::map<std::string, int> op_counts;             // by op type
  std::map<std::string, int> op_dtype_counts;       // "FULLY_CONNECTED float32 x int8 -> ..."
  std::map<std::string, int> compute_class_counts;  // by ComputeClassName
  std::map<std::string, int> float_op_counts;       // ops in class float, by type
  std::map<std::string, uint64_t> constant_bytes;   // unique constant buffers by dtype
  uint64_t total_constant_bytes = 0;
  std::map<std::string, std::string> metadata;
  std::vector<TensorSummary> tensors;  // every tensor of every subgraph
};

ModelSummary SummarizeModel(const graph::Model& model);

// Tensors whose name matches `pattern` (PCRE2 syntax, searched anywhere in the name).
Result<std::vector<TensorSummary>> MatchTensors(const ModelSummary& summary,
                                                const std::string& pattern);

// "per-tensor scale 0.0123 zp 0" / "per-axis(dim 0) 256 scales [1e-3, 4e-2] zp 0" / "".
std::string QuantizationText(const TensorSummary& t);

// JSON of a summary (stable keys: subgraphs, signatures, op_counts, op_dtype_counts,
// compute_class_counts, float_op_counts, constant_bytes, total_constant_bytes,
// metadata (liteq JSON entries parsed), and `tensors` when given).
nlohmann::json SummaryToJson(const ModelSummary& summary,
                             const std::vector<TensorSummary>* tensors = nullptr);
nlohmann::json TensorToJson(const TensorSummary& t);
// A metadata value as JSON when it parses as JSON, else as a string (non-printable
// bytes replaced by a length note).
nlohmann::json MetadataValueJson(const std::string& bytes);

}  // namespace liteq::eval

#endif  // LITEQ_EVAL_TFLITE_SUMMARY_H_
