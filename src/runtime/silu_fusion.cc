#include "runtime/silu_fusion.h"

#include <algorithm>
#include <array>
#include <variant>

#include "runtime/kernels/elementwise_parallel.h"
#include "runtime/kernels/float_math_simd.h"
#include "runtime/kernels/quantized/requantize_rows.h"
#include "runtime/kernels/quantized_tensor.h"
#include "runtime/tensor_uses.h"

namespace liteq::runtime {
namespace {

// Elements per sigmoid buffer: 1 KB of stack, many SIMD vectors per call.
constexpr int64_t kSiluChunk = 256;

class FusedSiluKernel : public Kernel {
 public:
  explicit FusedSiluKernel(int64_t count) : count_(count) {}

  Status Eval(const EvalContext& ctx) override {
    const float* x = In<float>(ctx, 0);
    float* out = Out<float>(ctx, 0);  // may be x
    ParallelElementwise(ctx.pool, count_, kParallelMinElementsTranscendental,
                        [&](int64_t begin, int64_t end) {
                          alignas(64) float sigmoid[kSiluChunk];
                          for (int64_t i = begin; i < end; i += kSiluChunk) {
                            const auto n = static_cast<size_t>(std::min(kSiluChunk, end - i));
                            SimdFloatUnary(FloatUnaryOp::kLogistic, x + i, sigmoid, n);
                            SimdFloatBinary(FloatBinaryOp::kMul, BinaryOperands::kVectorVector,
                                            x + i, sigmoid, out + i, n);
                          }
                        });
    return Status::Ok();
  }

 private:
  int64_t count_;
};

bool IsFloat(const graph::Tensor& t) {
  return t.dtype == graph::DType::kFloat32 && t.quant.empty();
}
bool IsInt8(const graph::Tensor& t) {
  return t.dtype == graph::DType::kInt8 && t.quant.scale.size() == 1;
}

}  // namespace

std::vector<SiluMatch> FindSiluPatterns(const graph::Subgraph& sg, const std::vector<bool>& plain) {
  const TensorUses uses = FindTensorUses(sg);
  std::vector<SiluMatch> found;
  for (size_t i = 0; i < sg.ops.size(); ++i) {
    const graph::Op& mul = sg.ops[i];
    if (mul.code != graph::OpCode::kMul || mul.inputs.size() != 2 || mul.outputs.size() != 1) {
      continue;
    }
    if (const auto* o = std::get_if<graph::BinaryOptions>(&mul.options);
        o != nullptr && o->activation != graph::Activation::kNone) {
      continue;
    }
    const int32_t out = mul.outputs[0];
    for (int k = 0; k < 2; ++k) {
      const int32_t s = mul.inputs[k], x = mul.inputs[1 - k];
      if (s < 0 || x < 0 || s == x) continue;
      const int p = uses.InnerProducer(s, plain);
      if (p < 0) continue;
      const graph::Op& logistic = sg.ops[p];
      if (logistic.code != graph::OpCode::kLogistic || logistic.inputs.size() != 1 ||
          logistic.inputs[0] != x || logistic.outputs.size() != 1) {
        continue;
      }
      const graph::Tensor &tx = sg.tensors[x], &ts = sg.tensors[s], &to = sg.tensors[out];
      const bool int8 = IsInt8(tx) && IsInt8(ts) && IsInt8(to);
      if (!(int8 || (IsFloat(tx) && IsFloat(ts) && IsFloat(to))) || tx.shape != ts.shape ||
          tx.shape != to.shape) {
        continue;
      }
      found.push_back({p, static_cast<int>(i), x, s, int8});
      break;
    }
  }
  return found;
}

std::unique_ptr<Kernel> MakeFusedSiluKernel(int64_t count) {
  return std::make_unique<FusedSiluKernel>(count);
}

Result<std::unique_ptr<Kernel>> MakeFusedSiluInt8Kernel(const graph::Subgraph& sg,
                                                        const SiluMatch& m,
                                                        std::span<const uint8_t* const> constants,
                                                        int num_threads) {
  PrepareContext logistic(sg, m.logistic_op, constants, num_threads);
  LITEQ_ASSIGN_OR_RETURN(quantized::Int8Lut sigmoid, PrepareInt8LutOfOp(logistic));
  PrepareContext mul(sg, m.mul_op, constants, num_threads);
  LITEQ_ASSIGN_OR_RETURN(quantized::MulParams params, PrepareIntegerMulParams(mul));
  // Entry uint8(q) of every table is for the int8 value q.
  std::array<int8_t, 256> x;
  for (int i = 0; i < 256; ++i) x[i] = static_cast<int8_t>(static_cast<uint8_t>(i));
  quantized::Int8Lut silu;
  const quantized::MulInt8RowFn row = quantized::BestMulInt8Row();
  if (sg.ops[m.mul_op].inputs[0] == m.x) {
    row(params, x.data(), 1, sigmoid.data(), 1, silu.data(), 256);
  } else {
    row(params, sigmoid.data(), 1, x.data(), 1, silu.data(), 256);
  }
  return MakeInt8LutKernel(silu, static_cast<size_t>(sg.tensors[m.x].num_elements()));
}

}  // namespace liteq::runtime
