#include "runtime/inverse_rms_fusion.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <variant>

#include "runtime/kernels/elementwise_parallel.h"
#include "runtime/kernels/float_math_simd.h"
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/quantized/quantize_fast.h"
#include "runtime/tensor_uses.h"
#include "runtime/thread_pool.h"

namespace liteq::runtime {
namespace {

using graph::DType;
using graph::OpCode;

class FusedInverseRmsKernel : public Kernel {
 public:
  FusedInverseRmsKernel(const InverseRmsMatch& m, bool int8_input, double input_scale,
                        int64_t input_zero_point, bool int8_output, quant::QuantParams output)
      : rows_(m.rows),
        depth_(m.depth),
        epsilon_(m.epsilon),
        int8_input_(int8_input),
        input_scale_(input_scale),
        input_zero_point_(input_zero_point),
        int8_output_(int8_output),
        output_(output) {}

  Status Eval(const EvalContext& ctx) override {
    // Rows per range: enough squares to repay a hand-off (ParallelElementwise counts
    // rows here, so its element threshold is scaled to rows).
    const int64_t min_rows = std::max<int64_t>(1, kParallelMinElementsCheap / depth_);
    ParallelElementwise(ctx.pool, rows_, min_rows, [&](int64_t begin, int64_t end) {
      // Grows to one row once per thread; no allocation in steady state.
      thread_local std::vector<float> squares;
      squares.resize(static_cast<size_t>(depth_));
      for (int64_t r = begin; r < end; ++r) Row(ctx, r, squares.data());
    });
    return Status::Ok();
  }

 private:
  void Row(const EvalContext& ctx, int64_t r, float* squares) const {
    const auto d = static_cast<size_t>(depth_);
    const float* x = squares;
    if (int8_input_) {
      FastDequantizeInt8(In<int8_t>(ctx, 0) + r * depth_, depth_, input_scale_, input_zero_point_,
                         squares);
    } else {
      x = In<float>(ctx, 0) + r * depth_;
    }
    SimdFloatBinary(FloatBinaryOp::kMul, BinaryOperands::kVectorVector, x, x, squares, d);
    const auto mean = static_cast<float>(SimdSumToDouble(squares, d) / static_cast<double>(d));
    const float inverse = 1.0f / std::sqrt(mean + epsilon_);
    if (int8_output_) {
      quantized::FastQuantizeFloatToInt8({&inverse, 1}, output_, {Out<int8_t>(ctx, 0) + r, 1});
    } else {
      Out<float>(ctx, 0)[r] = inverse;
    }
  }

  int64_t rows_, depth_;
  float epsilon_;
  bool int8_input_;
  double input_scale_;
  int64_t input_zero_point_;
  bool int8_output_;
  quant::QuantParams output_;
};

bool PerTensor(const graph::Tensor& t) { return t.quant.scale.size() == 1; }

// One float32 element of a constant tensor.
bool ConstantScalar(const graph::Subgraph& sg, std::span<const uint8_t* const> constants, int32_t t,
                    float* value) {
  if (t < 0 || constants[t] == nullptr || sg.tensors[t].dtype != DType::kFloat32 ||
      sg.tensors[t].num_elements() != 1) {
    return false;
  }
  std::memcpy(value, constants[t], sizeof(float));
  return true;
}

}  // namespace

std::vector<InverseRmsMatch> FindInverseRmsPatterns(const graph::Subgraph& sg,
                                                    const std::vector<bool>& plain,
                                                    std::span<const uint8_t* const> constants) {
  const TensorUses uses = FindTensorUses(sg);
  const std::vector<int>&reader = uses.reader, &readers = uses.readers;
  const auto inner_producer = [&](int32_t t) { return uses.InnerProducer(t, plain); };
  const auto is_float = [&](int32_t t) {
    return sg.tensors[t].dtype == DType::kFloat32 && sg.tensors[t].quant.empty();
  };
  std::vector<InverseRmsMatch> found;
  for (size_t i = 0; i < sg.ops.size(); ++i) {
    const graph::Op& rsqrt = sg.ops[i];
    if (rsqrt.code != OpCode::kRsqrt || rsqrt.inputs.size() != 1 || rsqrt.outputs.size() != 1) {
      continue;
    }
    InverseRmsMatch m;
    m.rsqrt_op = static_cast<int>(i);
    m.out_op = m.rsqrt_op;
    m.output = rsqrt.outputs[0];
    if (!is_float(m.output)) continue;
    // A QUANTIZE to int8 per tensor as the only reader of the RSQRT's output.
    if (const int q = reader[m.output]; q >= 0 && plain[m.output] && readers[m.output] == 1 &&
                                        sg.ops[q].code == OpCode::kQuantize &&
                                        sg.ops[q].outputs.size() == 1) {
      const graph::Tensor& out = sg.tensors[sg.ops[q].outputs[0]];
      if (out.dtype == DType::kInt8 && PerTensor(out)) {
        m.inner.push_back(m.output);
        m.quantize_op = q;
        m.out_op = q;
        m.output = sg.ops[q].outputs[0];
      }
    }
    const int32_t sum = rsqrt.inputs[0];
    m.add_op = inner_producer(sum);
    if (m.add_op < 0 || !is_float(sum)) continue;
    const graph::Op& add = sg.ops[m.add_op];
    if (add.code != OpCode::kAdd || add.inputs.size() != 2 || !NoFusedActivation(add)) continue;
    int32_t mean = -1;
    for (int k = 0; k < 2; ++k) {
      if (ConstantScalar(sg, constants, add.inputs[1 - k], &m.epsilon)) mean = add.inputs[k];
    }
    m.mean_op = inner_producer(mean);
    if (m.mean_op < 0 || !is_float(mean)) continue;
    const graph::Op& reduce = sg.ops[m.mean_op];
    if (reduce.code != OpCode::kMean || reduce.inputs.size() != 2) continue;
    const int32_t squares = reduce.inputs[0], axes = reduce.inputs[1];
    if (axes < 0 || constants[axes] == nullptr || sg.tensors[axes].dtype != DType::kInt32 ||
        sg.tensors[axes].num_elements() != 1) {
      continue;
    }
    const auto rank = static_cast<int32_t>(sg.tensors[squares].shape.size());
    int32_t axis = 0;
    std::memcpy(&axis, constants[axes], sizeof(axis));
    if (rank == 0 || (axis != rank - 1 && axis != -1)) continue;
    m.square_op = inner_producer(squares);
    if (m.square_op < 0 || !is_float(squares)) continue;
    const graph::Op& square = sg.ops[m.square_op];
    if (square.code != OpCode::kMul || square.inputs.size() != 2 ||
        square.inputs[0] != square.inputs[1] || !NoFusedActivation(square)) {
      continue;
    }
    const int32_t x = square.inputs[0];
    if (x < 0 || !is_float(x) || sg.tensors[x].shape != sg.tensors[squares].shape) continue;
    m.input = x;
    m.inner.insert(m.inner.end(), {sum, mean, squares});
    // x = DEQUANTIZE(int8 per tensor), read by the square only: absorbed too.
    if (const int dq = inner_producer(x);
        dq >= 0 && sg.ops[dq].code == OpCode::kDequantize && sg.ops[dq].inputs.size() == 1) {
      const int32_t xq = sg.ops[dq].inputs[0];
      if (xq >= 0 && constants[xq] == nullptr && sg.tensors[xq].dtype == DType::kInt8 &&
          PerTensor(sg.tensors[xq])) {
        m.dequantize_op = dq;
        m.inner.push_back(x);
        m.input = xq;
      }
    }
    const std::vector<int32_t>& shape = sg.tensors[squares].shape;
    m.depth = shape.back();
    m.rows = m.depth > 0 ? sg.tensors[squares].num_elements() / m.depth : 0;
    if (m.depth <= 0 || sg.tensors[m.output].num_elements() != m.rows) continue;
    found.push_back(std::move(m));
  }
  return found;
}

std::unique_ptr<Kernel> MakeFusedInverseRmsKernel(const graph::Subgraph& sg,
                                                  const InverseRmsMatch& m) {
  const graph::Tensor& in = sg.tensors[m.input];
  const graph::Tensor& out = sg.tensors[m.output];
  const bool int8_input = m.dequantize_op >= 0;
  const bool int8_output = m.quantize_op >= 0;
  quant::QuantParams output;
  if (int8_output) {
    output.scale = out.quant.scale[0];
    output.zero_point =
        out.quant.zero_point.empty() ? 0 : static_cast<int32_t>(out.quant.zero_point[0]);
  }
  return std::make_unique<FusedInverseRmsKernel>(
      m, int8_input, int8_input ? static_cast<double>(in.quant.scale[0]) : 1.0,
      int8_input && !in.quant.zero_point.empty() ? in.quant.zero_point[0] : 0, int8_output, output);
}

}  // namespace liteq::runtime
