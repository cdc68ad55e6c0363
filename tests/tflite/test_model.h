// A small hand-built graph::Model exercising everything the .tflite writer and reader
// handle, plus helpers shared by the tflite tests.
#ifndef LITEQ_TESTS_TFLITE_TEST_MODEL_H_
#define LITEQ_TESTS_TFLITE_TEST_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace liteq::tflite::testing {

// Two subgraphs ("prefill", "decode") sharing one float weight buffer; a per-axis
// int8 weight (quantized_dimension 1), an int4 weight, a lazy buffer, ops carrying
// every options struct in graph.h plus option-less ops (one with a builtin code above
// 127), two signatures and two metadata entries (one with binary bytes).
graph::Model MakeTestModel();

// Name of the per-axis quantized tensor (subgraph 0, tensor 3).
inline constexpr const char* kPerAxisTensor = "w_int8";

// Fresh empty directory for one test (removed by the caller if wanted).
std::string MakeTempDir(const std::string& tag);

// Whole file in heap memory (16-byte aligned, enough for the reader).
std::shared_ptr<std::vector<uint8_t>> ReadBytes(const std::string& path);

}  // namespace liteq::tflite::testing

#endif  // LITEQ_TESTS_TFLITE_TEST_MODEL_H_
