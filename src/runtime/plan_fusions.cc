// PlanBuilder: the fusions planned before kernels are made (which ops a fused kernel
// absorbs and how long its operands live): attention blocks over the live cache rows,
// FULLY_CONNECTED on integer weights and the MUL that reads it, SiLU, RMSNorm's
// statistic, int8 RoPE.
#include <algorithm>

#include "runtime/attention_fusion.h"
#include "runtime/execution_plan.h"
#include "runtime/kernels/fused_attention_int8.h"
#include "runtime/rope_fusion.h"
#include "runtime/silu_fusion.h"
#include "runtime/weight_only_fusion.h"

namespace liteq::runtime {

void PlanBuilder::PlanAttentionFusion() {
  const int num_ops = static_cast<int>(subgraph_->ops.size());
  attention_at_.assign(num_ops, -1);
  absorbed_op_.assign(num_ops, 0);
  const InterpreterOptions& options = interpreter_.options_;
  if (!options.fuse_attention || options.preserve_all_tensors) return;
  std::vector<bool> plain(role_.size());
  for (size_t t = 0; t < role_.size(); ++t) plain[t] = role_[t] == Role::kIntermediate;
  attention_ = FindAttentionPatterns(*subgraph_, plain, constant_);
  // An int8 pattern whose parameters the fused kernel does not take runs op by op
  // (and the ops report what is wrong with them).
  // With use_reference_kernels the int8 ops run one by one on the scalar references
  // (tests compare them with the fused kernel), and in XNNPACK arithmetic as XNNPACK's.
  std::erase_if(attention_, [&](const AttentionMatch& m) {
    if (m.dtype != graph::DType::kInt8) return false;
    if (options.use_reference_kernels) return true;
    // The fused kernel computes TFLite's reference arithmetic only.
    if (options.int8_arithmetic != Int8Arithmetic::kTfliteReference) return true;
    size_t scratch = 0;
    return !MakeFusedAttentionInt8Kernel(*subgraph_, m, constant_, options.num_threads, &scratch)
                .ok();
  });
  for (size_t a = 0; a < attention_.size(); ++a) {
    const AttentionMatch& m = attention_[a];
    attention_at_[m.out_op] = static_cast<int>(a);
    for (int op : m.absorbed_ops) absorbed_op_[op] = 1;
    // The inner tensors are never written; the fused kernel reads its operands at
    // the last op of the block, so they must live until then.
    for (int32_t t : m.absorbed_tensors) {
      role_[t] = Role::kUnused;
      last_read_[t] = -1;
    }
    for (int32_t t : {m.q, m.k_cache, m.v_cache, m.mask, m.positions}) {
      if (t >= 0) last_read_[t] = std::max(last_read_[t], m.out_op);
    }
  }
  plan_->report.fused_attention = static_cast<int>(attention_.size());
}

void PlanBuilder::PlanWeightOnlyFullyConnected() {
  weight_only_at_.assign(subgraph_->ops.size(), -1);
  if (!interpreter_.options_.integer_weights || interpreter_.options_.preserve_all_tensors) return;
  std::vector<bool> plain(role_.size());
  for (size_t t = 0; t < role_.size(); ++t) plain[t] = role_[t] == Role::kIntermediate;
  WeightOnlyPlan found = FindWeightOnlyFullyConnected(*subgraph_, plain, constant_);
  weight_only_ = std::move(found.fcs);
  for (size_t k = 0; k < weight_only_.size(); ++k) {
    weight_only_at_[weight_only_[k].fc_op] = static_cast<int>(k);
  }
  for (int op : found.absorbed_ops) absorbed_op_[op] = 1;
  for (int32_t t : found.absorbed_tensors) {
    role_[t] = Role::kUnused;
    last_read_[t] = -1;
  }
  plan_->report.integer_weight_fcs = static_cast<int>(
      std::count_if(weight_only_.begin(), weight_only_.end(), [](auto& w) { return !w.gather; }));
}

void PlanBuilder::PlanSiluFusion() {
  silu_input_at_.assign(subgraph_->ops.size(), -1);
  silu_int8_logistic_at_.assign(subgraph_->ops.size(), -1);
  const InterpreterOptions& options = interpreter_.options_;
  if (options.preserve_all_tensors) return;
  // The float kernel is the SIMD one: the scalar float kernels stay unfused. The int8
  // table holds TFLite's arithmetic as the fast rows compute it; the reference kernels
  // run the ops one by one (the tests compare the two).
  const bool float_silu = !options.use_scalar_float_kernels;
  const bool int8_silu =
      !options.use_reference_kernels && options.int8_arithmetic == Int8Arithmetic::kTfliteReference;
  std::vector<bool> plain(role_.size());
  for (size_t t = 0; t < role_.size(); ++t) plain[t] = role_[t] == Role::kIntermediate;
  for (const SiluMatch& m : FindSiluPatterns(*subgraph_, plain)) {
    if (absorbed_op_[m.logistic_op] || absorbed_op_[m.mul_op] ||
        attention_at_[m.logistic_op] >= 0 || attention_at_[m.mul_op] >= 0 ||
        !(m.int8 ? int8_silu : float_silu)) {
      continue;
    }
    if (m.int8) {
      if (!MakeFusedSiluInt8Kernel(*subgraph_, m, constant_, options.num_threads).ok()) continue;
      silu_int8_logistic_at_[m.mul_op] = m.logistic_op;
    }
    absorbed_op_[m.logistic_op] = 1;
    silu_input_at_[m.mul_op] = m.x;
    role_[m.sigmoid] = Role::kUnused;
    last_read_[m.sigmoid] = -1;
    ++plan_->report.fused_silu;
  }
}

void PlanBuilder::PlanInverseRmsFusion() {
  inverse_rms_at_.assign(subgraph_->ops.size(), -1);
  const InterpreterOptions& options = interpreter_.options_;
  // The fused kernel computes the SIMD float kernels' values (the scalar MEAN sums in
  // another order) and TFLite's int8 arithmetic with the fast kernels (the reference
  // kernels run the ops one by one, so the tests compare the two).
  if (options.preserve_all_tensors || options.use_scalar_float_kernels ||
      options.use_reference_kernels ||
      options.int8_arithmetic != Int8Arithmetic::kTfliteReference) {
    return;
  }
  std::vector<bool> plain(role_.size());
  for (size_t t = 0; t < role_.size(); ++t) plain[t] = role_[t] == Role::kIntermediate;
  for (InverseRmsMatch& m : FindInverseRmsPatterns(*subgraph_, plain, constant_)) {
    const int ops[] = {m.dequantize_op, m.square_op, m.mean_op,
                       m.add_op,        m.rsqrt_op,  m.quantize_op};
    if (std::any_of(std::begin(ops), std::end(ops), [&](int op) {
          return op >= 0 && (absorbed_op_[op] || attention_at_[op] >= 0 ||
                             silu_input_at_[op] >= 0 || weight_only_at_[op] >= 0);
        })) {
      continue;
    }
    for (int op : ops) {
      if (op >= 0 && op != m.out_op) absorbed_op_[op] = 1;
    }
    for (int32_t t : m.inner) {
      role_[t] = Role::kUnused;
      last_read_[t] = -1;
    }
    last_read_[m.input] = std::max(last_read_[m.input], m.out_op);
    inverse_rms_at_[m.out_op] = static_cast<int>(inverse_rms_.size());
    inverse_rms_.push_back(std::move(m));
  }
  plan_->report.fused_inverse_rms = static_cast<int>(inverse_rms_.size());
}

// A gated MLP's up projection on integer weights is read only by act(gate) * up: run
// at the MUL, the FC kernel multiplies its values by act(gate) as it writes them
// (PrepareWeightOnlyFullyConnected's `product`) and the MUL's output overwrites
// act(gate) (PlanInPlaceElementwise), so `up` never takes arena space. A 128-token
// prefill chunk of SmolLM2-135M weight_only_int4 then needs one [128, 1536] float
// block (768 KB) less at its peak, the MLP. The FC moves to the MUL's place: its
// input lives until then.
void PlanBuilder::PlanFcProductFusion() {
  const auto& ops = subgraph_->ops;
  const auto& tensors = subgraph_->tensors;
  fc_product_at_.assign(ops.size(), -1);
  if (interpreter_.options_.preserve_all_tensors) return;
  std::vector<int> readers(tensors.size(), 0);
  for (const graph::Op& op : ops) {
    for (int32_t t : op.inputs) {
      if (t >= 0) ++readers[t];
    }
  }
  auto no_activation = [](const graph::Op& op) {
    const auto* o = std::get_if<graph::BinaryOptions>(&op.options);
    const auto* fc = std::get_if<graph::FullyConnectedOptions>(&op.options);
    return (o == nullptr || o->activation == graph::Activation::kNone) &&
           (fc == nullptr || fc->activation == graph::Activation::kNone);
  };
  for (int j = 0; j < static_cast<int>(ops.size()); ++j) {
    const graph::Op& mul = ops[j];
    if (mul.code != graph::OpCode::kMul || mul.inputs.size() != 2 || mul.outputs.size() != 1 ||
        absorbed_op_[j] || attention_at_[j] >= 0 || weight_only_at_[j] >= 0 ||
        silu_input_at_[j] >= 0 || inverse_rms_at_[j] >= 0 || !no_activation(mul)) {
      continue;
    }
    const graph::Tensor& out = tensors[mul.outputs[0]];
    for (int k = 0; k < 2; ++k) {
      const int32_t y = mul.inputs[k], m = mul.inputs[1 - k];
      if (y < 0 || m < 0 || y == m || role_[y] != Role::kIntermediate || readers[y] != 1) continue;
      const int p = producer_[y];
      if (p < 0 || weight_only_at_[p] < 0 || weight_only_[weight_only_at_[p]].gather) continue;
      const graph::Op& fc = ops[p];
      if (fc.outputs.size() != 1 || !no_activation(fc) || fc.inputs.empty() || fc.inputs[0] == m) {
        continue;
      }
      const graph::Tensor& yt = tensors[y];
      const graph::Tensor& mt = tensors[m];
      if (out.dtype != graph::DType::kFloat32 || yt.dtype != out.dtype || mt.dtype != out.dtype ||
          yt.shape != out.shape || mt.shape != out.shape) {
        continue;
      }
      absorbed_op_[p] = 1;
      fc_product_at_[j] = p;
      role_[y] = Role::kUnused;
      last_read_[y] = -1;
      for (int32_t t : fc.inputs) {
        if (t >= 0) last_read_[t] = std::max(last_read_[t], j);
      }
      ++plan_->report.fused_fc_products;
      break;
    }
  }
}

void PlanBuilder::PlanRopeFusion() {
  rope_at_.assign(subgraph_->ops.size(), -1);
  const InterpreterOptions& options = interpreter_.options_;
  // The reference kernels run the ops one by one (the tests compare the two). int8:
  // TFLite's int8 arithmetic with the fast rows (XNNPACK's arithmetic keeps its own
  // kernels); float: the SIMD rows, not the scalar float kernels.
  if (options.preserve_all_tensors || options.use_reference_kernels) return;
  const bool int8 = options.int8_arithmetic == Int8Arithmetic::kTfliteReference;
  const bool float32 = !options.use_scalar_float_kernels;
  std::vector<bool> plain(role_.size());
  for (size_t t = 0; t < role_.size(); ++t) plain[t] = role_[t] == Role::kIntermediate;
  for (RopeMatch& m : FindRopePatterns(*subgraph_, plain, constant_)) {
    if (m.float32 ? !float32 : !int8) continue;
    const int ops[] = {m.x1_op, m.x2_op, m.concat_op, m.cos_op, m.sin_op, m.add_op, m.scale_op};
    if (std::any_of(std::begin(ops), std::end(ops), [&](int op) {
          return op >= 0 &&
                 (absorbed_op_[op] || attention_at_[op] >= 0 || silu_input_at_[op] >= 0 ||
                  weight_only_at_[op] >= 0 || inverse_rms_at_[op] >= 0);
        })) {
      continue;
    }
    if (!MakeFusedRopeKernel(*subgraph_, m, constant_, options.num_threads).ok()) continue;
    for (int op : ops) {
      if (op >= 0 && op != m.out_op) absorbed_op_[op] = 1;
    }
    for (int32_t t : m.inner) {
      role_[t] = Role::kUnused;
      last_read_[t] = -1;
    }
    for (int32_t t : {m.x, m.cos, m.sin}) last_read_[t] = std::max(last_read_[t], m.out_op);
    rope_at_[m.out_op] = static_cast<int>(rope_.size());
    rope_.push_back(std::move(m));
  }
  plan_->report.fused_rope = static_cast<int>(rope_.size());
}

}  // namespace liteq::runtime
