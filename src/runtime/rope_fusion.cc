#include "runtime/rope_fusion.h"

#include <algorithm>
#include <cstring>
#include <variant>

#include "runtime/kernels/elementwise_parallel.h"
#include "runtime/kernels/float_math_simd.h"
#include "runtime/kernels/quantized/requantize_rows.h"
#include "runtime/kernels/quantized_tensor.h"
#include "runtime/tensor_uses.h"
#include "runtime/thread_pool.h"

namespace liteq::runtime {
namespace {

using graph::DType;
using graph::OpCode;

// An int8 MUL or ADD of the pattern: its parameters and which operand comes first.
template <typename Params>
struct RowOp {
  Params params;
  bool main_first = true;  // the pattern's running value is the op's input 0
};

// Calls token(t, buffer) for every token t, split over the pool by elements (each token
// run by the range holding its first element), with a per-thread buffer of `rows` rows
// of `row` T (grows once per thread, no allocation after).
template <typename T, typename Fn>
void ForEachToken(const EvalContext& ctx, int64_t tokens, int64_t row, int rows, Fn&& token) {
  ParallelElementwise(ctx.pool, tokens * row, kParallelMinElementsCheap,
                      [&](int64_t begin, int64_t end) {
                        thread_local std::vector<T> buffer;
                        buffer.resize(static_cast<size_t>(rows * row));
                        for (int64_t t = (begin + row - 1) / row; t < (end + row - 1) / row; ++t)
                          token(t, buffer.data());
                      });
}

// Token t's operands of the products (x [T, H, D], cos and sin [T, D]: the kernel's
// inputs): its x row, and in the first 3 rows of n = H x D of `buffer` its cos and sin
// repeated per head and each head of x with its halves swapped (the SLICEs and
// CONCATENATION). Rows past the third are the kernel's own (`buffer + r * n`).
template <typename T>
struct RopeToken {
  size_t n;  // heads x depth
  const T* x;
  T *cos_rows, *sin_rows, *swapped;
};
template <typename T>
RopeToken<T> RopeOperands(const T* x, const T* cos, const T* sin, int64_t t, int64_t heads,
                          int64_t depth, T* buffer) {
  const auto d = static_cast<size_t>(depth), half = d / 2;
  const size_t n = static_cast<size_t>(heads) * d;
  const RopeToken<T> token{n, x + t * static_cast<int64_t>(n), buffer, buffer + n, buffer + 2 * n};
  cos += t * depth;
  sin += t * depth;
  for (size_t h = 0; h < static_cast<size_t>(heads); ++h) {
    std::memcpy(token.cos_rows + h * d, cos, d * sizeof(T));
    std::memcpy(token.sin_rows + h * d, sin, d * sizeof(T));
    std::memcpy(token.swapped + h * d, token.x + h * d + half, (d - half) * sizeof(T));
    std::memcpy(token.swapped + h * d + (d - half), token.x + h * d, half * sizeof(T));
  }
  return token;
}

class FusedRopeInt8Kernel : public Kernel {
 public:
  FusedRopeInt8Kernel(const RopeMatch& m, RowOp<quantized::MulParams> cos,
                      RowOp<quantized::MulParams> sin, RowOp<quantized::AddSubParams> add,
                      bool scaled, RowOp<quantized::MulParams> scale, int8_t scale_value)
      : tokens_(m.tokens),
        heads_(m.heads),
        depth_(m.depth),
        cos_(cos),
        sin_(sin),
        add_(add),
        scaled_(scaled),
        scale_(scale),
        scale_value_(scale_value) {}

  Status Eval(const EvalContext& ctx) override {
    ForEachToken<int8_t>(ctx, tokens_, heads_ * depth_, 5,
                         [&](int64_t t, int8_t* buffer) { Token(ctx, t, buffer); });
    return Status::Ok();
  }

 private:
  template <typename Fn, typename Params>
  static void Run(Fn fn, const RowOp<Params>& op, const int8_t* main, size_t main_step,
                  const int8_t* other, size_t other_step, int8_t* out, size_t n) {
    if (op.main_first) {
      fn(op.params, main, main_step, other, other_step, out, n);
    } else {
      fn(op.params, other, other_step, main, main_step, out, n);
    }
  }

  void Token(const EvalContext& ctx, int64_t t, int8_t* buffer) const {
    const RopeToken<int8_t> r = RopeOperands(In<int8_t>(ctx, 0), In<int8_t>(ctx, 1),
                                             In<int8_t>(ctx, 2), t, heads_, depth_, buffer);
    const size_t n = r.n;
    const int8_t* x = r.x;
    int8_t* x_cos = buffer + 3 * n;
    int8_t* swapped_sin = buffer + 4 * n;
    Run(mul_row_, cos_, x, 1, r.cos_rows, 1, x_cos, n);
    Run(mul_row_, sin_, r.swapped, 1, r.sin_rows, 1, swapped_sin, n);
    int8_t* out = Out<int8_t>(ctx, 0) + t * static_cast<int64_t>(n);
    // x_cos is dead after the ADD: the scaled output reads the sum from there.
    int8_t* sum = scaled_ ? x_cos : out;
    Run(add_row_, add_, x_cos, 1, swapped_sin, 1, sum, n);
    if (scaled_) Run(mul_row_, scale_, sum, 1, &scale_value_, 0, out, n);
  }

  int64_t tokens_, heads_, depth_;
  RowOp<quantized::MulParams> cos_, sin_;
  RowOp<quantized::AddSubParams> add_;
  bool scaled_;
  RowOp<quantized::MulParams> scale_;
  int8_t scale_value_;
  quantized::MulInt8RowFn mul_row_ = quantized::BestMulInt8Row();
  quantized::AddSubInt8RowFn add_row_ = quantized::BestAddSubInt8Row();
};

// The float pattern: the unfused ops' SIMD rows on the same floats.
class FusedRopeFloatKernel : public Kernel {
 public:
  FusedRopeFloatKernel(const RopeMatch& m, bool scaled, float scale)
      : tokens_(m.tokens), heads_(m.heads), depth_(m.depth), scaled_(scaled), scale_(scale) {}

  Status Eval(const EvalContext& ctx) override {
    ForEachToken<float>(ctx, tokens_, heads_ * depth_, 4,
                        [&](int64_t t, float* buffer) { Token(ctx, t, buffer); });
    return Status::Ok();
  }

 private:
  void Token(const EvalContext& ctx, int64_t t, float* buffer) const {
    using enum FloatBinaryOp;
    const RopeToken<float> r = RopeOperands(In<float>(ctx, 0), In<float>(ctx, 1), In<float>(ctx, 2),
                                            t, heads_, depth_, buffer);
    const size_t n = r.n;
    float* x_cos = buffer + 3 * n;
    float* out = Out<float>(ctx, 0) + t * static_cast<int64_t>(n);
    SimdFloatBinary(kMul, BinaryOperands::kVectorVector, r.x, r.cos_rows, x_cos, n);
    SimdFloatBinary(kMul, BinaryOperands::kVectorVector, r.swapped, r.sin_rows, r.swapped, n);
    SimdFloatBinary(kAdd, BinaryOperands::kVectorVector, x_cos, r.swapped, out, n);
    if (scaled_) SimdFloatBinary(kMul, BinaryOperands::kVectorScalar, out, &scale_, out, n);
  }

  int64_t tokens_, heads_, depth_;
  bool scaled_;
  float scale_;
};

// Values of a constant int32/int64 vector.
bool ConstantInts(const graph::Subgraph& sg, std::span<const uint8_t* const> constants, int32_t t,
                  std::vector<int64_t>* values) {
  if (t < 0 || constants[t] == nullptr) return false;
  const graph::Tensor& tensor = sg.tensors[t];
  const int64_t n = tensor.num_elements();
  values->resize(static_cast<size_t>(std::max<int64_t>(0, n)));
  for (int64_t i = 0; i < n; ++i) {
    if (tensor.dtype == DType::kInt32) {
      int32_t v;
      std::memcpy(&v, constants[t] + i * 4, 4);
      (*values)[i] = v;
    } else if (tensor.dtype == DType::kInt64) {
      std::memcpy(&(*values)[i], constants[t] + i * 8, 8);
    } else {
      return false;
    }
  }
  return true;
}

// SLICE(x, begin, size) taking half `which` of x's last dimension D and all of the
// others (a size of -1 runs to the end).
bool SlicesHalf(const graph::Subgraph& sg, std::span<const uint8_t* const> constants,
                const graph::Op& op, int32_t x, int which) {
  if (op.code != OpCode::kSlice || op.inputs.size() != 3 || op.inputs[0] != x) return false;
  const std::vector<int32_t>& shape = sg.tensors[x].shape;
  std::vector<int64_t> begin, size;
  if (!ConstantInts(sg, constants, op.inputs[1], &begin) ||
      !ConstantInts(sg, constants, op.inputs[2], &size) || begin.size() != shape.size() ||
      size.size() != shape.size()) {
    return false;
  }
  const size_t last = shape.size() - 1;
  const int64_t half = shape[last] / 2;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t want_begin = i == last ? half * which : 0;
    const int64_t want_size = i == last ? half : shape[i];
    const int64_t got_size = size[i] == -1 ? shape[i] - begin[i] : size[i];
    if (begin[i] != want_begin || got_size != want_size) return false;
  }
  return true;
}

}  // namespace

std::vector<RopeMatch> FindRopePatterns(const graph::Subgraph& sg, const std::vector<bool>& plain,
                                        std::span<const uint8_t* const> constants) {
  const TensorUses uses = FindTensorUses(sg);
  const auto inner_producer = [&](int32_t t) { return uses.InnerProducer(t, plain); };
  // The pattern's tensors: x's type, int8 quantized per tensor or float32.
  const auto of_type = [&](int32_t t, bool float32) {
    if (t < 0) return false;
    const graph::Tensor& tensor = sg.tensors[t];
    return float32 ? tensor.dtype == DType::kFloat32
                   : tensor.dtype == DType::kInt8 && tensor.quant.scale.size() == 1;
  };
  const auto binary = [&](int op, OpCode code) {
    return op >= 0 && sg.ops[op].code == code && sg.ops[op].inputs.size() == 2 &&
           sg.ops[op].outputs.size() == 1 && NoFusedActivation(sg.ops[op]);
  };
  std::vector<RopeMatch> found;
  for (size_t i = 0; i < sg.ops.size(); ++i) {
    if (!binary(static_cast<int>(i), OpCode::kAdd)) continue;
    const graph::Op& add = sg.ops[i];
    for (int k = 0; k < 2; ++k) {
      RopeMatch m;
      m.add_op = static_cast<int>(i);
      const int32_t x_cos = add.inputs[k], swapped_sin = add.inputs[1 - k];
      m.cos_op = inner_producer(x_cos);
      m.sin_op = inner_producer(swapped_sin);
      if (x_cos == swapped_sin || !binary(m.cos_op, OpCode::kMul) ||
          !binary(m.sin_op, OpCode::kMul)) {
        continue;
      }
      // swapped_sin = MUL(swapped, sin) with swapped = CONCAT(x2, x1) of slices of x.
      const graph::Op& sin_mul = sg.ops[m.sin_op];
      int32_t swapped = -1;
      for (int j = 0; j < 2; ++j) {
        const int c = inner_producer(sin_mul.inputs[j]);
        if (c >= 0 && sg.ops[c].code == OpCode::kConcatenation) {
          swapped = sin_mul.inputs[j];
          m.sin = sin_mul.inputs[1 - j];
          m.concat_op = c;
        }
      }
      if (m.concat_op < 0) continue;
      const graph::Op& concat = sg.ops[m.concat_op];
      const auto* concat_options = std::get_if<graph::ConcatenationOptions>(&concat.options);
      if (concat.inputs.size() != 2 || concat.outputs.size() != 1 || concat_options == nullptr ||
          concat_options->activation != graph::Activation::kNone) {
        continue;
      }
      const int32_t x2 = concat.inputs[0], x1 = concat.inputs[1];
      m.x2_op = inner_producer(x2);
      m.x1_op = inner_producer(x1);
      if (m.x1_op < 0 || m.x2_op < 0 || x1 == x2) continue;
      m.x = sg.ops[m.x1_op].inputs.empty() ? -1 : sg.ops[m.x1_op].inputs[0];
      if (m.x < 0) continue;
      m.float32 = sg.tensors[m.x].dtype == DType::kFloat32;
      const auto typed = [&](int32_t t) { return of_type(t, m.float32); };
      if (!typed(m.x)) continue;
      const std::vector<int32_t>& shape = sg.tensors[m.x].shape;
      const int32_t axis = concat_options->axis < 0
                               ? concat_options->axis + static_cast<int32_t>(shape.size())
                               : concat_options->axis;
      if (shape.size() != 4 || shape[3] <= 0 || shape[3] % 2 != 0 || axis != 3 ||
          !SlicesHalf(sg, constants, sg.ops[m.x1_op], m.x, 0) ||
          !SlicesHalf(sg, constants, sg.ops[m.x2_op], m.x, 1)) {
        continue;
      }
      // x_cos = MUL(x, cos).
      const graph::Op& cos_mul = sg.ops[m.cos_op];
      if (cos_mul.inputs[0] == m.x) {
        m.cos = cos_mul.inputs[1];
      } else if (cos_mul.inputs[1] == m.x) {
        m.cos = cos_mul.inputs[0];
      } else {
        continue;
      }
      const std::vector<int32_t> table_shape = {shape[0], shape[1], 1, shape[3]};
      bool ok = m.cos >= 0 && m.sin >= 0 && m.cos != m.x && m.sin != swapped &&
                sg.tensors[m.cos].shape == table_shape && sg.tensors[m.sin].shape == table_shape;
      for (int32_t t : {m.x, m.cos, m.sin, x1, x2, swapped, x_cos, swapped_sin, add.outputs[0]}) {
        ok = ok && typed(t);
      }
      for (int32_t t : {swapped, x_cos, swapped_sin, add.outputs[0]}) {
        ok = ok && sg.tensors[t].shape == shape;
      }
      if (!ok) continue;
      m.inner = {x1, x2, swapped, x_cos, swapped_sin};
      m.output = add.outputs[0];
      m.out_op = m.add_op;
      // Attention's q scale: MUL(rotated, scalar int8 constant) as the only reader.
      if (const int s = inner_producer(m.output) >= 0 ? uses.reader[m.output] : -1;
          s >= 0 && binary(s, OpCode::kMul)) {
        const graph::Op& scale = sg.ops[s];
        const int32_t c = scale.inputs[0] == m.output ? scale.inputs[1] : scale.inputs[0];
        if (c >= 0 && c != m.output && constants[c] != nullptr && typed(c) &&
            sg.tensors[c].num_elements() == 1 && typed(scale.outputs[0]) &&
            sg.tensors[scale.outputs[0]].shape == shape) {
          m.inner.push_back(m.output);
          m.scale_op = s;
          m.scale = c;
          m.output = scale.outputs[0];
          m.out_op = s;
        }
      }
      m.tokens = static_cast<int64_t>(shape[0]) * shape[1];
      m.heads = shape[2];
      m.depth = shape[3];
      found.push_back(std::move(m));
      break;
    }
  }
  return found;
}

Result<std::unique_ptr<Kernel>> MakeFusedRopeKernel(const graph::Subgraph& sg, const RopeMatch& m,
                                                    std::span<const uint8_t* const> constants,
                                                    int num_threads) {
  if (m.float32) {
    float scale = 1.0f;
    if (m.scale_op >= 0) std::memcpy(&scale, constants[m.scale], sizeof(scale));
    return std::unique_ptr<Kernel>(
        std::make_unique<FusedRopeFloatKernel>(m, m.scale_op >= 0, scale));
  }
  auto mul = [&](int op, int32_t main) -> Result<RowOp<quantized::MulParams>> {
    PrepareContext ctx(sg, op, constants, num_threads);
    LITEQ_ASSIGN_OR_RETURN(quantized::MulParams p, PrepareIntegerMulParams(ctx));
    return RowOp<quantized::MulParams>{p, sg.ops[op].inputs[0] == main};
  };
  const graph::Op& sin_mul = sg.ops[m.sin_op];
  const int32_t swapped = sin_mul.inputs[0] == m.sin ? sin_mul.inputs[1] : sin_mul.inputs[0];
  LITEQ_ASSIGN_OR_RETURN(RowOp<quantized::MulParams> cos, mul(m.cos_op, m.x));
  LITEQ_ASSIGN_OR_RETURN(RowOp<quantized::MulParams> sin, mul(m.sin_op, swapped));
  PrepareContext add_ctx(sg, m.add_op, constants, num_threads);
  LITEQ_ASSIGN_OR_RETURN(quantized::AddSubParams add_params, PrepareIntegerAddSubParams(add_ctx));
  const RowOp<quantized::AddSubParams> add{
      add_params, sg.ops[m.add_op].inputs[0] == sg.ops[m.cos_op].outputs[0]};
  RowOp<quantized::MulParams> scale;
  int8_t scale_value = 0;
  const bool scaled = m.scale_op >= 0;
  if (scaled) {
    LITEQ_ASSIGN_OR_RETURN(scale, mul(m.scale_op, sg.ops[m.add_op].outputs[0]));
    scale_value = static_cast<int8_t>(constants[m.scale][0]);
  }
  return std::unique_ptr<Kernel>(
      std::make_unique<FusedRopeInt8Kernel>(m, cos, sin, add, scaled, scale, scale_value));
}

}  // namespace liteq::runtime
