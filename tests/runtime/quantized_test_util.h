// Helpers for the integer-kernel tests: typed Values carrying quantization parameters
// and deterministic random integer/float data.
#ifndef LITEQ_TESTS_RUNTIME_QUANTIZED_TEST_UTIL_H_
#define LITEQ_TESTS_RUNTIME_QUANTIZED_TEST_UTIL_H_

#include <cstdint>
#include <random>
#include <vector>

#include "graph_builder.h"
#include "quant/quant_params.h"

namespace liteq::runtime::testing {

template <typename T>
graph::DType DTypeOf() {
  if constexpr (std::is_same_v<T, int8_t>) return graph::DType::kInt8;
  if constexpr (std::is_same_v<T, int16_t>) return graph::DType::kInt16;
  if constexpr (std::is_same_v<T, int32_t>) return graph::DType::kInt32;
  if constexpr (std::is_same_v<T, int64_t>) return graph::DType::kInt64;
  return graph::DType::kFloat32;
}

// A (non-constant unless `constant`) tensor of T with per-tensor params q.
template <typename T>
Value Q(Shape s, const std::vector<T>& v, quant::QuantParams q, bool constant = false) {
  Value value = MakeValue(DTypeOf<T>(), std::move(s), v, constant);
  value.quant = PerTensor(q.scale, q.zero_point);
  return value;
}

inline OutSpec QOut(graph::DType t, Shape s, quant::QuantParams q) {
  return {t, std::move(s), PerTensor(q.scale, q.zero_point)};
}

template <typename T>
std::vector<T> RandomInts(size_t n, int lo, int hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(dist(rng));
  return v;
}

inline std::vector<float> RandomFloats(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

}  // namespace liteq::runtime::testing

#endif  // LITEQ_TESTS_RUNTIME_QUANTIZED_TEST_UTIL_H_
