// Fused activations (schema ActivationFunctionType) applied after ADD/SUB/MUL/DIV,
// FULLY_CONNECTED and CONCATENATION.
#ifndef LITEQ_RUNTIME_KERNELS_ACTIVATION_H_
#define LITEQ_RUNTIME_KERNELS_ACTIVATION_H_

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "graph/graph.h"
#include "runtime/kernels/kernel.h"

namespace liteq::runtime {

inline float ApplyActivation(float x, graph::Activation act) {
  switch (act) {
    case graph::Activation::kNone:
      return x;
    case graph::Activation::kRelu:
      return std::max(x, 0.0f);
    case graph::Activation::kReluN1To1:
      return std::clamp(x, -1.0f, 1.0f);
    case graph::Activation::kRelu6:
      return std::clamp(x, 0.0f, 6.0f);
    case graph::Activation::kTanh:
      return std::tanh(x);
  }
  return x;
}

inline int32_t ApplyActivation(int32_t x, graph::Activation act) {
  switch (act) {
    case graph::Activation::kRelu:
      return std::max(x, 0);
    case graph::Activation::kReluN1To1:
      return std::clamp(x, -1, 1);
    case graph::Activation::kRelu6:
      return std::clamp(x, 0, 6);
    default:
      return x;  // kTanh is rejected for integers at Prepare
  }
}

template <typename T>
void ApplyActivation(T* data, int64_t n, graph::Activation act) {
  if (act == graph::Activation::kNone) return;
  for (int64_t i = 0; i < n; ++i) data[i] = ApplyActivation(data[i], act);
}

// Rejects enum values liteq does not implement (a file may carry SIGN_BIT etc.).
inline Status CheckActivation(const PrepareContext& ctx, graph::Activation act,
                              graph::DType dtype) {
  const int v = static_cast<int>(act);
  if (v < 0 || v > static_cast<int>(graph::Activation::kTanh)) {
    return ctx.Unsupported("fused activation " + std::to_string(v) + " is not supported");
  }
  if (act != graph::Activation::kNone && dtype != graph::DType::kFloat32 &&
      dtype != graph::DType::kInt32) {
    return ctx.Unsupported("fused activation on " + std::string(graph::DTypeName(dtype)));
  }
  if (act == graph::Activation::kTanh && dtype == graph::DType::kInt32) {
    return ctx.Unsupported("fused TANH activation on int32");
  }
  return Status::Ok();
}

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_ACTIVATION_H_
