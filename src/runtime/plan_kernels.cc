// PlanBuilder: one kernel per op (fused attention, FCs on integer weights, the XNNPACK
// arithmetic, folded DEQUANTIZE of constants, and the row-selectable output head).
#include "runtime/execution_plan.h"
#include "runtime/kernels/fully_connected_weight_only.h"
#include "runtime/kernels/fused_attention.h"
#include "runtime/kernels/fused_attention_int8.h"
#include "runtime/kernels/gather_quantized.h"
#include "runtime/kernels/shape_util.h"
#include "runtime/kernels/xnnpack_compat_kernels.h"
#include "runtime/row_select.h"

namespace liteq::runtime {

Result<std::unique_ptr<Kernel>> PlanBuilder::PrepareOpKernel(
    int i, std::span<const TensorOverride> overrides, int product_op) {
  PrepareContext ctx(*subgraph_, i, constant_, interpreter_.options_.num_threads, overrides);
  ctx.set_use_reference_kernels(interpreter_.options_.use_reference_kernels);
  ctx.set_use_scalar_float_kernels(interpreter_.options_.use_scalar_float_kernels);
  std::unique_ptr<Kernel> kernel;
  if (weight_only_at_[i] >= 0) {
    const WeightOnlyFc& fc = weight_only_[weight_only_at_[i]];
    const graph::Tensor& q = subgraph_->tensors[fc.weights];
    const bool product = product_op >= 0;
    LITEQ_ASSIGN_OR_RETURN(
        kernel, fc.gather
                    ? PrepareWeightOnlyGather(ctx, q)
                    : PrepareWeightOnlyFullyConnected(
                          ctx, q, fc.block, interpreter_.options_.int4_int8_activations, product));
    graph::Op op = ctx.op();
    op.inputs[1] = fc.weights;
    if (fc.gather) op.inputs[0] = ctx.op().inputs[1];  // {indices, table}
    if (product) {
      // {x, q, bias or -1, m} -> the MUL's output (the FC's own output is never written).
      const graph::Op& mul = subgraph_->ops[product_op];
      op.inputs.resize(3, -1);
      op.inputs.push_back(mul.inputs[0] == ctx.op().outputs[0] ? mul.inputs[1] : mul.inputs[0]);
      op.outputs = mul.outputs;
      kernel->Bind(op, *subgraph_, product_op, " run with its FC on integer weights");
    } else {
      kernel->Bind(op, *subgraph_, i, " on integer weights");
    }
  } else {
    PrepareFn prepare = FindPrepareFn(ctx.op().code);
    if (prepare == nullptr) return ctx.Unsupported("liteq's runtime has no kernel for this op yet");
    LITEQ_ASSIGN_OR_RETURN(kernel, prepare(ctx));
    if (interpreter_.options_.int8_arithmetic == Int8Arithmetic::kXnnpack) {
      // The ops LiteRT's XNNPACK delegate runs get XNNPACK's arithmetic instead.
      LITEQ_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> xnnpack, PrepareXnnpackInt8Kernel(ctx));
      if (xnnpack != nullptr) kernel = std::move(xnnpack);
    }
    kernel->Bind(ctx.op(), *subgraph_, i);
  }
  plan_->scratch_bytes = std::max(plan_->scratch_bytes, ctx.scratch_bytes());
  MarkConstantsReadInPlace(ctx.op(), &ctx);
  return kernel;
}

void PlanBuilder::MarkConstantsReadInPlace(const graph::Op& op, const PrepareContext* ctx) {
  std::vector<uint8_t>& read_in_place = interpreter_.impl_->read_in_place;
  for (size_t i = 0; i < op.inputs.size(); ++i) {
    const int32_t t = op.inputs[i];
    if (t < 0 || constant_[t] == nullptr || (ctx != nullptr && ctx->constant_copied(i))) continue;
    const uint32_t buffer = subgraph_->tensors[t].buffer;
    if (buffer < read_in_place.size()) read_in_place[buffer] = 1;
  }
}

Status PlanBuilder::PrepareKernels() {
  const int num_ops = static_cast<int>(subgraph_->ops.size());
  // Output heads that can run on one row (row_select.h): by FC op index.
  std::vector<int> readers(subgraph_->tensors.size(), 0);
  for (const graph::Op& op : subgraph_->ops) {
    for (int32_t t : op.inputs) {
      if (t >= 0) ++readers[t];
    }
  }
  struct RowSelectable {
    std::string output;
    std::shared_ptr<const RowSelectableChain> chain;
    RowSelectableChain::Step step;
  };
  std::map<int, RowSelectable> row_selectable;  // by op index
  for (const auto& [name, t] : signature_.outputs) {
    if (state_outputs_.count(t) != 0) continue;
    auto chain = std::make_shared<const RowSelectableChain>(
        FindRowSelectableChain(*subgraph_, t, producer_, readers, constant_));
    bool usable = !chain->steps.empty();
    for (const RowSelectableChain::Step& step : chain->steps) {
      usable = usable && attention_at_[step.op] < 0 && !absorbed_op_[step.op];
    }
    if (!usable) continue;
    for (const RowSelectableChain::Step& step : chain->steps) {
      // Views (RESHAPE) compute nothing; they keep their kernel.
      if (OutputAliasOf(subgraph_->ops[step.op].code) == OutputAlias::kView) continue;
      row_selectable[step.op] = {name, chain, step};
    }
  }

  for (int i = 0; i < num_ops; ++i) {
    // Fused kernels (attention, SiLU, the integer-weight FC's absorbed DEQUANTIZE) read
    // their ops' constants as they are.
    if (absorbed_op_[i] || attention_at_[i] >= 0 || silu_input_at_[i] >= 0 ||
        inverse_rms_at_[i] >= 0 || rope_at_[i] >= 0) {
      MarkConstantsReadInPlace(subgraph_->ops[i]);
    }
    if (absorbed_op_[i]) continue;
    if (attention_at_[i] >= 0) {
      const AttentionMatch& m = attention_[attention_at_[i]];
      size_t scratch = 0;
      std::unique_ptr<Kernel> kernel;
      if (m.dtype == graph::DType::kInt8) {
        LITEQ_ASSIGN_OR_RETURN(
            kernel, MakeFusedAttentionInt8Kernel(*subgraph_, m, constant_,
                                                 interpreter_.options_.num_threads, &scratch));
      } else {
        kernel = MakeFusedAttentionKernel(m, interpreter_.options_.num_threads, &scratch);
      }
      graph::Op fused;
      fused.code = graph::OpCode::kBatchMatmul;
      fused.inputs = {m.q, m.k_cache, m.v_cache, m.mask};
      if (m.positions >= 0) fused.inputs.push_back(m.positions);
      fused.outputs = {m.out};
      kernel->Bind(fused, *subgraph_, i, " ending a fused attention block");
      plan_->scratch_bytes = std::max(plan_->scratch_bytes, scratch);
      plan_->kernels.push_back(std::move(kernel));
      continue;
    }
    const graph::Op& op = subgraph_->ops[i];
    if (silu_input_at_[i] >= 0) {
      std::unique_ptr<Kernel> kernel;
      if (const int logistic = silu_int8_logistic_at_[i]; logistic >= 0) {
        const SiluMatch m{logistic, i, silu_input_at_[i], subgraph_->ops[logistic].outputs[0],
                          /*int8=*/true};
        LITEQ_ASSIGN_OR_RETURN(kernel, MakeFusedSiluInt8Kernel(*subgraph_, m, constant_,
                                                               interpreter_.options_.num_threads));
      } else {
        kernel = MakeFusedSiluKernel(NumElements(subgraph_->tensors[op.outputs[0]].shape));
      }
      graph::Op fused;
      fused.code = graph::OpCode::kMul;
      fused.inputs = {silu_input_at_[i]};
      fused.outputs = op.outputs;
      kernel->Bind(fused, *subgraph_, i, " fused with its LOGISTIC operand (SiLU)");
      plan_->kernels.push_back(std::move(kernel));
      continue;
    }
    if (rope_at_[i] >= 0) {
      const RopeMatch& m = rope_[rope_at_[i]];
      LITEQ_ASSIGN_OR_RETURN(
          std::unique_ptr<Kernel> kernel,
          MakeFusedRopeKernel(*subgraph_, m, constant_, interpreter_.options_.num_threads));
      graph::Op fused;
      fused.code = op.code;
      fused.inputs = {m.x, m.cos, m.sin};
      fused.outputs = {m.output};
      kernel->Bind(fused, *subgraph_, i,
                   m.float32 ? " ending a fused RoPE" : " ending a fused int8 RoPE");
      plan_->kernels.push_back(std::move(kernel));
      continue;
    }
    if (fc_product_at_[i] >= 0) {
      LITEQ_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel,
                             PrepareOpKernel(fc_product_at_[i], {}, i));
      plan_->kernels.push_back(std::move(kernel));
      continue;
    }
    if (inverse_rms_at_[i] >= 0) {
      const InverseRmsMatch& m = inverse_rms_[inverse_rms_at_[i]];
      std::unique_ptr<Kernel> kernel = MakeFusedInverseRmsKernel(*subgraph_, m);
      graph::Op fused;
      fused.code = op.code;
      fused.inputs = {m.input};
      fused.outputs = {m.output};
      kernel->Bind(fused, *subgraph_, i, " ending a fused RMSNorm statistic");
      plan_->kernels.push_back(std::move(kernel));
      continue;
    }
    LITEQ_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel, PrepareOpKernel(i));
    if (op.code == graph::OpCode::kDequantize && constant_[op.inputs[0]] != nullptr &&
        role_[op.outputs[0]] == Role::kIntermediate) {
      LITEQ_RETURN_IF_ERROR(FoldDequantize(i, *kernel));
      continue;  // nothing left to do at Invoke
    }
    if (auto it = row_selectable.find(i); it != row_selectable.end()) {
      const RowSelectable& r = it->second;
      LITEQ_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> one_row,
                             PrepareOpKernel(i, *r.chain->one_row));
      const char* note = kernel->note();
      auto select = std::make_unique<RowSelectKernel>(std::move(kernel), std::move(one_row),
                                                      *subgraph_, *r.chain, r.step);
      select->Bind(op, *subgraph_, i, note);
      plan_->row_select[r.output].push_back(select.get());
      kernel = std::move(select);
    }
    plan_->kernels.push_back(std::move(kernel));
  }
  return Status::Ok();
}

// Weight-only models store int8 weights followed by DEQUANTIZE (QUANT_SPEC.md). Its
// output depends on constants only, so it is computed here once and the float weights
// are owned by the interpreter: Invoke runs the float kernels with no per-step
// dequantization. This trades memory (a float copy of every weight, on top of the
// mapped int8 file) for speed where no integer-weight kernel consumes the int8 directly.
Status PlanBuilder::FoldDequantize(int op_index, Kernel& kernel) {
  Interpreter::Impl& impl = *interpreter_.impl_;
  const graph::Op& op = subgraph_->ops[op_index];
  const int32_t in_t = op.inputs[0], out_t = op.outputs[0];
  const graph::Tensor& in = subgraph_->tensors[in_t];
  const graph::Tensor& out = subgraph_->tensors[out_t];
  auto same_params = [&](const Interpreter::Impl::FoldedConstant& f) {
    return f.buffer == in.buffer && f.dtype == in.dtype && f.shape == in.shape &&
           f.quant.scale == in.quant.scale && f.quant.zero_point == in.quant.zero_point &&
           f.quant.quantized_dimension == in.quant.quantized_dimension;
  };
  const uint8_t* folded = nullptr;
  if (in.buffer != 0) {
    for (const auto& f : impl.folded) {
      if (same_params(f)) folded = f.data.data();
    }
  }
  if (folded == nullptr) {
    const size_t bytes = graph::TensorBytes(out.dtype, NumElements(out.shape));
    AlignedBuffer data(bytes);
    std::vector<void*> tensors(subgraph_->tensors.size(), nullptr);
    tensors[in_t] = const_cast<uint8_t*>(constant_[in_t]);
    tensors[out_t] = data.data();
    EvalContext ctx;
    ctx.tensors = tensors;
    LITEQ_RETURN_IF_ERROR(kernel.Eval(ctx));
    folded = data.data();
    impl.folded_bytes += bytes;
    impl.folded.push_back({in.buffer, in.dtype, in.quant, in.shape, std::move(data)});
  }
  role_[out_t] = Role::kConstant;
  constant_[out_t] = folded;
  return Status::Ok();
}

}  // namespace liteq::runtime
