// Shared by the op-level LiteRT conformance tests (litert_int_conformance_test,
// litert_xnnpack_conformance_test): small graphs written with liteq's .tflite writer
// and run in liteq's runtime and in the official LiteRT runtime (@litertjs/core).
#ifndef LITEQ_TESTS_E2E_LITERT_COMPARE_UTIL_H_
#define LITEQ_TESTS_E2E_LITERT_COMPARE_UTIL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "../runtime/graph_builder.h"
#include "litert_runner.h"
#include "runtime/interpreter.h"

namespace liteq::e2e {

std::vector<float> Uniform(size_t n, float lo, float hi, uint32_t seed);

// Adds a DEQUANTIZE of quantized tensor `t` as signature output `name`.
void DequantizedOutput(runtime::testing::GraphBuilder& g, const std::string& name, int t);

// The outputs of one signature run in liteq (the model written by liteq's writer and
// loaded back by its reader) and in LiteRT, by output name.
struct BothOutputs {
  std::vector<float> liteq, litert;
};
using Outputs = std::map<std::string, BothOutputs>;

// Writes `model`, runs signature serving_default on `inputs` (float32/int32) in both
// runtimes (liteq with `options`) and returns every output (all float32).
Outputs RunBoth(const graph::Model& model, const std::string& file,
                const std::vector<conformance::LiteRtTensor>& inputs,
                runtime::InterpreterOptions options = {});

// Counts the elements of output `name` that differ; a difference above
// `allowed_steps` quantization steps of `step` is a failure. Prints the count.
int CompareOutput(const std::string& label, const std::string& name, const BothOutputs& o,
                  float step, int allowed_steps);

// The first scale of tensor `tensor_name` of subgraph 0.
float ScaleOf(const graph::Model& model, const std::string& tensor_name);

}  // namespace liteq::e2e

#endif  // LITEQ_TESTS_E2E_LITERT_COMPARE_UTIL_H_
