// Builds one signature's execution plan: validates tensors and ops, prepares the
// kernels, decides which outputs share storage with an input (views, in-place
// DYNAMIC_UPDATE_SLICE, the KV cache) and places the intermediates in the arena.
#include <algorithm>
#include <numeric>
#include <set>

#include "runtime/execution_plan.h"
#include "runtime/kernels/fully_connected_weight_only.h"
#include "runtime/kernels/fused_attention.h"
#include "runtime/kernels/fused_attention_int8.h"
#include "runtime/kernels/gather_quantized.h"
#include "runtime/kernels/shape_util.h"
#include "runtime/kernels/xnnpack_compat_kernels.h"
#include "runtime/memory_planner.h"

namespace liteq::runtime {
namespace {

bool KnownDType(graph::DType t) {
  switch (t) {
    case graph::DType::kFloat32:
    case graph::DType::kFloat16:
    case graph::DType::kInt32:
    case graph::DType::kUInt8:
    case graph::DType::kInt64:
    case graph::DType::kBool:
    case graph::DType::kInt16:
    case graph::DType::kInt8:
    case graph::DType::kInt4:
      return true;
  }
  return false;
}

// Binary ops of binary.cc (float32: BinaryKernel) whose output element j depends on
// element j of a full-shape operand only.
bool IsElementwiseBinary(graph::OpCode code) {
  switch (code) {
    case graph::OpCode::kAdd:
    case graph::OpCode::kSub:
    case graph::OpCode::kMul:
    case graph::OpCode::kDiv:
    case graph::OpCode::kMaximum:
    case graph::OpCode::kMinimum:
    case graph::OpCode::kSquaredDifference:
      return true;
    default:
      return false;
  }
}

// Address given to zero-byte constants (never dereferenced).
alignas(kTensorAlignment) uint8_t g_empty_tensor[kTensorAlignment];

// Largest tensor the runtime accepts (2^44 bytes): keeps every offset product in int64.
constexpr int64_t kMaxTensorBytes = int64_t{1} << 44;

std::string TensorLabel(const graph::Subgraph& sg, int32_t t) {
  return "tensor " + std::to_string(t) + " '" + sg.tensors[t].name + "'";
}

}  // namespace

std::string PlanBuilder::Where() const {
  return "signature '" + signature_.key + "' (subgraph " + std::to_string(signature_.subgraph) +
         ")";
}

int PlanBuilder::ViewRoot(int t) const {
  while (view_parent_[t] != t) t = view_parent_[t];
  return t;
}

int PlanBuilder::StorageRoot(int t) const {
  while (storage_parent_[t] != t) t = storage_parent_[t];
  return t;
}

Result<const uint8_t*> PlanBuilder::ConstantBytes(uint32_t index) {
  Interpreter::Impl& impl = *interpreter_.impl_;
  if (impl.constants[index] != nullptr) return impl.constants[index];
  const graph::Buffer& b = interpreter_.model_->buffers[index];
  const bool aligned = b.data != nullptr && reinterpret_cast<uintptr_t>(b.data) % 8 == 0;
  if (aligned && b.size > kLargestCopiedConstant) {
    impl.constants[index] = b.data;
  } else {
    // Materialise lazy buffers once; copy misaligned ones so typed loads are valid,
    // and small ones so that the model file's pages around them can be handed back
    // after Prepare (Interpreter::Create).
    AlignedBuffer copy(b.size);
    if (b.data != nullptr) {
      std::memcpy(copy.data(), b.data, b.size);
    } else if (b.producer) {
      Status s = b.producer(std::span<uint8_t>(copy.data(), b.size));
      if (!s.ok()) return s.WithContext("materialising buffer " + std::to_string(index));
    } else {
      return InvalidArgumentError("buffer " + std::to_string(index) + " has " +
                                  std::to_string(b.size) +
                                  " bytes but neither data nor a producer");
    }
    impl.constants[index] = copy.data();
    impl.constant_copies.push_back(std::move(copy));
  }
  return impl.constants[index];
}

Status PlanBuilder::ValidateTensors() {
  const graph::Model& model = *interpreter_.model_;
  const auto& tensors = subgraph_->tensors;
  const size_t n = tensors.size();
  role_.assign(n, Role::kUnused);
  constant_.assign(n, nullptr);
  for (size_t t = 0; t < n; ++t) {
    const graph::Tensor& tensor = tensors[t];
    const std::string label = TensorLabel(*subgraph_, static_cast<int32_t>(t));
    if (!KnownDType(tensor.dtype)) {
      return InvalidArgumentError(label + " has unknown dtype " +
                                  std::to_string(static_cast<int>(tensor.dtype)));
    }
    if (tensor.shape.size() > static_cast<size_t>(kMaxRuntimeRank)) {
      return UnimplementedError(label + " has rank " + std::to_string(tensor.shape.size()) +
                                " (the runtime supports up to " + std::to_string(kMaxRuntimeRank) +
                                ")");
    }
    int64_t count = 1;
    for (int32_t d : tensor.shape) {
      if (d < 0)
        return InvalidArgumentError(label + " has negative dimension in " +
                                    ShapeToString(tensor.shape));
      if (d != 0 && count > kMaxTensorBytes / d) {
        return InvalidArgumentError(label + " shape " + ShapeToString(tensor.shape) +
                                    " is too large");
      }
      count *= d;
    }
    if (static_cast<int64_t>(graph::TensorBytes(tensor.dtype, count)) > kMaxTensorBytes) {
      return InvalidArgumentError(label + " shape " + ShapeToString(tensor.shape) +
                                  " is too large");
    }
    if (tensor.buffer != 0) {
      if (tensor.buffer >= model.buffers.size()) {
        return InvalidArgumentError(label + " refers to buffer " + std::to_string(tensor.buffer) +
                                    " but the model has " + std::to_string(model.buffers.size()));
      }
      const graph::Buffer& b = model.buffers[tensor.buffer];
      const size_t expected = graph::TensorBytes(tensor.dtype, count);
      if (count == 0) {
        role_[t] = Role::kConstant;
        constant_[t] = g_empty_tensor;
      } else if (b.size > 0) {
        if (b.size != expected) {
          return InvalidArgumentError(
              label + ": constant buffer " + std::to_string(tensor.buffer) + " has " +
              std::to_string(b.size) + " bytes but " + graph::DTypeName(tensor.dtype) + " " +
              ShapeToString(tensor.shape) + " needs " + std::to_string(expected));
        }
        role_[t] = Role::kConstant;
        Result<const uint8_t*> bytes = ConstantBytes(tensor.buffer);
        if (!bytes.ok()) return bytes.status().WithContext(label);
        constant_[t] = *bytes;
      }
    }
    if (tensor.is_variable && role_[t] == Role::kUnused) role_[t] = Role::kVariable;
  }
  auto check_list = [&](const std::vector<std::pair<std::string, int32_t>>& list,
                        const char* kind) -> Status {
    std::set<std::string> names;
    for (const auto& [name, t] : list) {
      if (t < 0 || static_cast<size_t>(t) >= n) {
        return InvalidArgumentError(std::string(kind) + " '" + name + "' refers to tensor " +
                                    std::to_string(t) + " but the subgraph has " +
                                    std::to_string(n) + " tensors");
      }
      if (!names.insert(name).second)
        return InvalidArgumentError(std::string(kind) + " '" + name + "' appears twice");
    }
    return Status::Ok();
  };
  LITEQ_RETURN_IF_ERROR(check_list(signature_.inputs, "input"));
  LITEQ_RETURN_IF_ERROR(check_list(signature_.outputs, "output"));
  for (const auto& [name, t] : signature_.inputs) {
    if (role_[t] == Role::kConstant) {
      return InvalidArgumentError("input '" + name + "' is the constant " +
                                  TensorLabel(*subgraph_, t));
    }
    role_[t] = Role::kInput;
  }
  for (const auto& [name, t] : signature_.outputs) {
    if (role_[t] == Role::kUnused || role_[t] == Role::kVariable) role_[t] = Role::kOutput;
    for (const auto& [in_name, in_t] : signature_.inputs) {
      if (in_name == name) {  // a state (KV cache) tensor
        state_inputs_[in_t] = name;
        state_outputs_[t] = name;
      }
    }
  }
  for (const auto& [t, name] : state_inputs_) role_[t] = Role::kState;
  for (const auto& [t, name] : state_outputs_) role_[t] = Role::kState;
  return Status::Ok();
}

Status PlanBuilder::ValidateOps() {
  const auto& ops = subgraph_->ops;
  const int n = static_cast<int>(subgraph_->tensors.size());
  const int num_ops = static_cast<int>(ops.size());
  producer_.assign(n, -1);
  last_read_.assign(n, -1);
  for (int i = 0; i < num_ops; ++i) {
    const graph::Op& op = ops[i];
    const std::string label = "op " + std::to_string(i) + " " + graph::OpCodeName(op.code);
    for (size_t k = 0; k < op.inputs.size(); ++k) {
      if (op.inputs[k] < -1 || op.inputs[k] >= n) {
        return InvalidArgumentError(label + ": input " + std::to_string(k) + " refers to tensor " +
                                    std::to_string(op.inputs[k]) + " but the subgraph has " +
                                    std::to_string(n) + " tensors");
      }
    }
    for (size_t k = 0; k < op.outputs.size(); ++k) {
      const int32_t t = op.outputs[k];
      if (t < 0 || t >= n) {
        return InvalidArgumentError(label + ": output " + std::to_string(k) + " refers to tensor " +
                                    std::to_string(t) + " but the subgraph has " +
                                    std::to_string(n) + " tensors");
      }
      const std::string what = label + " writes " + TensorLabel(*subgraph_, t);
      if (role_[t] == Role::kConstant) return InvalidArgumentError(what + ", which is a constant");
      if (role_[t] == Role::kInput || state_inputs_.count(t) != 0) {
        return InvalidArgumentError(what + ", which is a signature input");
      }
      if (producer_[t] >= 0) {
        return InvalidArgumentError(what + ", which op " + std::to_string(producer_[t]) +
                                    " already writes");
      }
      producer_[t] = i;
      if (role_[t] == Role::kUnused || role_[t] == Role::kVariable) role_[t] = Role::kIntermediate;
    }
  }
  auto available_before = [&](int32_t t, int op) {
    return role_[t] == Role::kConstant || role_[t] == Role::kInput || role_[t] == Role::kVariable ||
           state_inputs_.count(t) != 0 || (producer_[t] >= 0 && producer_[t] < op);
  };
  for (int i = 0; i < num_ops; ++i) {
    const graph::Op& op = ops[i];
    for (int32_t t : op.inputs) {
      if (t < 0) continue;
      if (!available_before(t, i)) {
        const std::string label = "op " + std::to_string(i) + " " + graph::OpCodeName(op.code) +
                                  " reads " + TensorLabel(*subgraph_, t);
        if (producer_[t] >= i) {
          return InvalidArgumentError(label + " before op " + std::to_string(producer_[t]) +
                                      " writes it");
        }
        return InvalidArgumentError(
            label + ", which is neither a constant, a signature input nor written by an op");
      }
      last_read_[t] = i;
    }
  }
  for (const auto& [name, t] : signature_.outputs) {
    if (!available_before(t, num_ops)) {
      return InvalidArgumentError("output '" + name + "' (" + TensorLabel(*subgraph_, t) +
                                  ") is never written");
    }
    last_read_[t] = num_ops;
  }
  return Status::Ok();
}

Status PlanBuilder::BindStates() {
  Interpreter::Impl& impl = *interpreter_.impl_;
  for (const auto& [in_t, name] : state_inputs_) {
    const graph::Tensor& in = subgraph_->tensors[in_t];
    int32_t out_t = -1;
    for (const auto& [n, t] : signature_.outputs) {
      if (n == name) out_t = t;
    }
    const graph::Tensor& out = subgraph_->tensors[out_t];
    if (in.dtype != out.dtype || in.shape != out.shape) {
      return InvalidArgumentError("state '" + name + "': input is " + graph::DTypeName(in.dtype) +
                                  " " + ShapeToString(in.shape) + " but output is " +
                                  graph::DTypeName(out.dtype) + " " + ShapeToString(out.shape));
    }
    auto it = impl.states.find(name);
    if (it == impl.states.end()) {
      Interpreter::Impl::State state{
          in.dtype, in.shape, AlignedBuffer(graph::TensorBytes(in.dtype, NumElements(in.shape)))};
      if (in.quant.zero_point.size() == 1)
        state.zero_point = static_cast<int32_t>(in.quant.zero_point[0]);
      state.Clear();
      it = impl.states.emplace(name, std::move(state)).first;
    } else if (it->second.dtype != in.dtype || it->second.shape != in.shape) {
      return InvalidArgumentError("state '" + name + "' is " + graph::DTypeName(in.dtype) + " " +
                                  ShapeToString(in.shape) + " here but " +
                                  graph::DTypeName(it->second.dtype) + " " +
                                  ShapeToString(it->second.shape) + " in an earlier signature");
    }
  }
  return Status::Ok();
}

void PlanBuilder::PlanAliases() {
  const auto& ops = subgraph_->ops;
  const int n = static_cast<int>(subgraph_->tensors.size());
  const bool preserve = interpreter_.options_.preserve_all_tensors;
  view_parent_.resize(n);
  std::iota(view_parent_.begin(), view_parent_.end(), 0);
  // Views: RESHAPE/SQUEEZE outputs that are plain intermediates share their input's
  // bytes. Tensors are written once, so sharing is safe unless something mutates the
  // bytes later, which the in-place checks below rule out per view class.
  for (const graph::Op& op : ops) {
    if (preserve || OutputAliasOf(op.code) != OutputAlias::kView) continue;
    if (op.inputs.empty() || op.inputs[0] < 0 || op.outputs.size() != 1) continue;
    const int32_t out = op.outputs[0];
    if (role_[out] != Role::kIntermediate) continue;
    view_parent_[out] = ViewRoot(op.inputs[0]);
    ++plan_->report.aliased_tensors;
  }
  // Last op reading any member of each view class.
  std::vector<int> class_last_read(n, -1);
  for (int t = 0; t < n; ++t) {
    const int r = ViewRoot(t);
    class_last_read[r] = std::max(class_last_read[r], last_read_[t]);
  }
  auto reads_class_besides_operand = [&](const graph::Op& op, int root) {
    for (size_t k = 1; k < op.inputs.size(); ++k) {
      if (op.inputs[k] >= 0 && ViewRoot(op.inputs[k]) == root) return true;
    }
    return false;
  };
  storage_parent_ = view_parent_;
  // State: the input may share the state buffer unless something reads it after the
  // op that writes the new state. If that op is DYNAMIC_UPDATE_SLICE of the input, the
  // update happens in place.
  for (const auto& [in_t, name] : state_inputs_) {
    int32_t out_t = -1;
    for (const auto& [n_out, t] : signature_.outputs) {
      if (n_out == name) out_t = t;
    }
    if (out_t == in_t) continue;  // passed through unchanged
    const int p = producer_[out_t];
    const int v = ViewRoot(in_t);
    const graph::Op& op = ops[p];
    const bool dus_of_input = op.code == graph::OpCode::kDynamicUpdateSlice && !op.inputs.empty() &&
                              op.inputs[0] >= 0 && ViewRoot(op.inputs[0]) == v &&
                              !reads_class_besides_operand(op, v);
    if (dus_of_input && class_last_read[v] <= p) {
      plan_->report.in_place_states.push_back(name);
    } else if (class_last_read[v] >= p) {
      state_input_snapshot_[in_t] = true;
      plan_->report.snapshot_states.push_back(name);
    }
  }
  if (preserve) return;
  // In-place DYNAMIC_UPDATE_SLICE of an intermediate nobody reads afterwards.
  for (int i = 0; i < static_cast<int>(ops.size()); ++i) {
    const graph::Op& op = ops[i];
    if (OutputAliasOf(op.code) != OutputAlias::kInPlaceUpdate) continue;
    if (op.inputs.empty() || op.inputs[0] < 0 || op.outputs.size() != 1) continue;
    const int32_t out = op.outputs[0];
    const int v = ViewRoot(op.inputs[0]);
    const int s = StorageRoot(op.inputs[0]);
    if (role_[out] != Role::kIntermediate || role_[s] != Role::kIntermediate) continue;
    if (class_last_read[v] > i || reads_class_besides_operand(op, v)) continue;
    storage_parent_[out] = s;
    ++plan_->report.aliased_tensors;
  }
  PlanInPlaceElementwise();
}

// A float elementwise binary op writes element j of its output from element j of an
// operand of the output's shape, so the output can take that operand's storage when
// nothing reads the operand (or anything sharing its bytes) afterwards: in a prefill
// MLP, silu(gate) = gate * sigmoid(gate) and silu(gate) * up then need no block of
// their own: SmolLM2-135M's prefill arena drops from 3.6 to 2.8 MB (2.3 MB with the
// sigmoid fused, silu_fusion.h). The kernels
// (broadcast_kernel.h, float_math_simd.cc) load each element before storing the
// element of the same index, also in their tails and across threads.
//
// int8 ADD, SUB and MUL (TFLite's arithmetic: the fast rows of requantize_rows.h and
// the reference's element loop, binary_quantized.cc) do the same, so a static int8
// prefill's residual adds, norm products and RoPE products reuse an operand too. The
// XNNPACK-compatible kernels are not checked for it and keep their own outputs.
bool PlanBuilder::InPlaceInt8Arithmetic(graph::OpCode code, graph::DType dtype) const {
  return dtype == graph::DType::kInt8 &&
         interpreter_.options_.int8_arithmetic == Int8Arithmetic::kTfliteReference &&
         (code == graph::OpCode::kAdd || code == graph::OpCode::kSub ||
          code == graph::OpCode::kMul);
}

void PlanBuilder::PlanInPlaceElementwise() {
  const auto& ops = subgraph_->ops;
  const auto& tensors = subgraph_->tensors;
  const int n = static_cast<int>(tensors.size());
  // Last op reading any tensor of each storage class (by root), kept up to date as
  // classes merge below.
  std::vector<int> storage_last_read(n, -1);
  for (int t = 0; t < n; ++t) {
    const int r = StorageRoot(t);
    storage_last_read[r] = std::max(storage_last_read[r], last_read_[t]);
  }
  for (int i = 0; i < static_cast<int>(ops.size()); ++i) {
    const graph::Op& op = ops[i];
    if (absorbed_op_[i] || attention_at_[i] >= 0 || weight_only_at_[i] >= 0 || rope_at_[i] >= 0) {
      continue;
    }
    if (!IsElementwiseBinary(op.code) || op.inputs.size() != 2 || op.outputs.size() != 1) {
      continue;
    }
    const int32_t out = op.outputs[0];
    const graph::DType dtype = tensors[out].dtype;
    if (role_[out] != Role::kIntermediate || StorageRoot(out) != out ||
        !(dtype == graph::DType::kFloat32 || InPlaceInt8Arithmetic(op.code, dtype))) {
      continue;
    }
    for (int32_t t : op.inputs) {
      if (t < 0 || tensors[t].dtype != dtype || tensors[t].shape != tensors[out].shape) {
        continue;
      }
      const int s = StorageRoot(t);
      if (role_[s] != Role::kIntermediate || storage_last_read[s] > i) continue;
      // A fused FC (PlanFcProductFusion) reads all of its input for every output.
      const int fc = fc_product_at_[i];
      if (fc >= 0 && ops[fc].inputs[0] >= 0 && StorageRoot(ops[fc].inputs[0]) == s) continue;
      // The other operand must not read these bytes through another tensor (a view
      // of another shape would see elements already overwritten).
      const int32_t other = op.inputs[0] == t ? op.inputs[1] : op.inputs[0];
      if (other >= 0 && other != t && StorageRoot(other) == s) continue;
      storage_parent_[out] = s;
      storage_last_read[s] = std::max(storage_last_read[s], storage_last_read[out]);
      ++plan_->report.aliased_tensors;
      break;
    }
  }
}

Status PlanBuilder::AssignStorage() {
  Interpreter::Impl& impl = *interpreter_.impl_;
  const auto& tensors = subgraph_->tensors;
  const int n = static_cast<int>(tensors.size());
  const int num_ops = static_cast<int>(subgraph_->ops.size());
  const bool preserve = interpreter_.options_.preserve_all_tensors;
  auto bytes_of = [&](int t) {
    return graph::TensorBytes(tensors[t].dtype, NumElements(tensors[t].shape));
  };
  plan_->tensor_data.assign(n, nullptr);
  plan_->readable.assign(n, 0);
  // Roots first: every storage class gets memory through its root.
  std::vector<int> arena_request(n, -1);
  std::vector<ArenaRequest> requests;
  for (int t = 0; t < n; ++t) {
    if (StorageRoot(t) != t) continue;
    switch (role_[t]) {
      case Role::kUnused:
        break;
      case Role::kConstant:
        plan_->tensor_data[t] = const_cast<uint8_t*>(constant_[t]);
        break;
      case Role::kInput:
      case Role::kOutput:
      case Role::kVariable:
        plan_->owned.emplace_back(bytes_of(t));
        plan_->tensor_data[t] = plan_->owned.back().data();
        plan_->report.io_bytes += bytes_of(t);
        break;
      case Role::kState: {
        const std::string& name =
            state_inputs_.count(t) ? state_inputs_.at(t) : state_outputs_.at(t);
        uint8_t* state = impl.states.at(name).buffer.data();
        plan_->tensor_data[t] = state;
        if (state_input_snapshot_.count(t) != 0 && state_outputs_.count(t) == 0) {
          plan_->owned.emplace_back(bytes_of(t));
          plan_->tensor_data[t] = plan_->owned.back().data();
          plan_->snapshots.push_back({state, plan_->owned.back().data(), bytes_of(t)});
        }
        break;
      }
      case Role::kIntermediate: {
        arena_request[t] = static_cast<int>(requests.size());
        const int first = preserve ? 0 : producer_[t];
        requests.push_back(
            {bytes_of(t), first, preserve ? num_ops : std::max(first, last_read_[t])});
        break;
      }
    }
  }
  // Members widen their root's lifetime (and size, for safety).
  for (int t = 0; t < n; ++t) {
    const int r = StorageRoot(t);
    if (r == t || arena_request[r] < 0) continue;
    ArenaRequest& req = requests[arena_request[r]];
    req.bytes = std::max(req.bytes, bytes_of(t));
    if (!preserve) {
      req.first_op = std::min(req.first_op, producer_[t]);
      req.last_op = std::max(req.last_op, last_read_[t]);
    }
  }
  const ArenaPlan arena = PlanArena(requests);
  plan_->report.arena_bytes = arena.arena_bytes;
  for (int t = 0; t < n; ++t) {
    const int r = StorageRoot(t);
    if (role_[t] == Role::kIntermediate) plan_->report.intermediate_bytes += bytes_of(t);
    if (arena_request[r] >= 0) {
      plan_->arena_tensors.emplace_back(t, arena.offsets[arena_request[r]]);
    } else if (r != t) {
      plan_->tensor_data[t] = plan_->tensor_data[r];
    }
    plan_->readable[t] = role_[t] != Role::kUnused && (role_[t] != Role::kIntermediate || preserve);
  }
  return Status::Ok();
}

Result<std::unique_ptr<SignatureRunner>> PlanBuilder::Build() {
  const graph::Model& model = *interpreter_.model_;
  if (signature_.subgraph >= model.subgraphs.size()) {
    return InvalidArgumentError(Where() + ": the model has " +
                                std::to_string(model.subgraphs.size()) + " subgraphs");
  }
  subgraph_ = &model.subgraphs[signature_.subgraph];
  runner_.reset(new SignatureRunner(&interpreter_));
  runner_->plan_ = std::make_unique<SignatureRunner::Plan>();
  plan_ = runner_->plan_.get();
  plan_->model = &model;
  plan_->signature = &signature_;
  plan_->subgraph = subgraph_;
  Status status = ValidateTensors();
  if (status.ok()) status = ValidateOps();
  if (status.ok()) {
    PlanAttentionFusion();
    PlanWeightOnlyFullyConnected();
    PlanSiluFusion();
    PlanInverseRmsFusion();
    PlanRopeFusion();
    PlanFcProductFusion();
    status = PrepareKernels();
  }
  if (status.ok()) status = BindStates();
  if (status.ok()) {
    PlanAliases();
    status = AssignStorage();
  }
  if (!status.ok()) return status.WithContext(Where());
  return std::move(runner_);
}

}  // namespace liteq::runtime
