// The interface between the interpreter and the op kernels.
//
// Prepare (at Interpreter::Create) sees the op, its tensors' declared dtypes and
// shapes and the bytes of constant inputs. It validates everything that does not
// depend on input values, checks the declared output shapes against the ones it
// infers, precomputes strides/index maps, asks for scratch memory, and returns a
// Kernel. Kernel::Eval then does arithmetic only (no allocation); value-dependent
// errors (a GATHER index out of range) come back as a Status.
#ifndef LITEQ_RUNTIME_KERNELS_KERNEL_H_
#define LITEQ_RUNTIME_KERNELS_KERNEL_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"
#include "runtime/interpreter.h"

namespace liteq::runtime {

class ThreadPool;

// What the scratch holds after a kernel that left a derived form of its input there
// (the hybrid FC's quantized rows, the int8 FC's rows prepared for the VNNI dots): the
// kernel's step in the Invoke, the input's data and a description of the form. The
// kernel run right after, reading the same input and wanting the same form, may use it
// instead of deriving it again (the q/k/v and gate/up projections quantize or prepare
// one input once). Any kernel in between breaks the chain: `step` must be the previous
// one.
struct ScratchContents {
  int step = -2;
  const void* source = nullptr;
  std::array<uint64_t, 4> form{};
};

struct EvalContext {
  std::span<void* const> tensors;  // data of every tensor of the subgraph
  uint8_t* scratch = nullptr;      // shared by all kernels (ops run one at a time)
  ExecutionCounters* counters = nullptr;
  ThreadPool* pool = nullptr;                   // null: run on the calling thread
  int step = 0;                                 // the kernel's index in this Invoke
  ScratchContents* scratch_contents = nullptr;  // null: nothing is reused
};

// "op 7 FULLY_CONNECTED (inputs 'x', 'w' -> outputs 'y')"
std::string OpLabel(const graph::Subgraph& subgraph, int op_index);

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Status Eval(const EvalContext& ctx) = 0;

  // Called by the interpreter after Prepare: the tensors the kernel reads and writes
  // (`op`'s), and the op `op_index` of `subgraph` (which outlives the kernel) it runs,
  // named in its messages followed by `note` (a string literal). The label is built
  // only when asked for: a few thousand of them, with tensor names, were ~260 KB.
  void Bind(const graph::Op& op, const graph::Subgraph& subgraph, int op_index,
            const char* note = "") {
    inputs_ = op.inputs;
    outputs_ = op.outputs;
    subgraph_ = &subgraph;
    op_index_ = op_index;
    note_ = note;
  }
  const char* note() const { return note_; }
  std::string label() const {
    return subgraph_ != nullptr ? OpLabel(*subgraph_, op_index_) + note_ : std::string(note_);
  }

 protected:
  template <typename T>
  const T* In(const EvalContext& ctx, size_t i) const {
    return static_cast<const T*>(ctx.tensors[inputs_[i]]);
  }
  template <typename T>
  T* Out(const EvalContext& ctx, size_t i) const {
    return static_cast<T*>(ctx.tensors[outputs_[i]]);
  }
  // An error of this op at Eval, prefixed with the op's index, name and tensors.
  Status EvalError(StatusCode code, const std::string& what) const {
    return Status(code, label() + ": " + what);
  }

 private:
  std::vector<int32_t> inputs_, outputs_;
  const graph::Subgraph* subgraph_ = nullptr;
  int op_index_ = -1;
  const char* note_ = "";
};

// A tensor of the subgraph seen with other parameters by one Prepare (the one-row
// versions of an output head's tensors, row_select.h).
struct TensorOverride {
  int32_t index = -1;  // in the subgraph
  graph::Tensor tensor;
};

class PrepareContext {
 public:
  // `overrides` (kept alive by the caller as long as the kernel) replace the
  // subgraph's tensors at their indices for input() and output().
  PrepareContext(const graph::Subgraph& subgraph, int op_index,
                 std::span<const uint8_t* const> constant_data, int num_threads,
                 std::span<const TensorOverride> overrides = {});

  const graph::Op& op() const { return op_; }
  const graph::Subgraph& subgraph() const { return subgraph_; }
  size_t num_inputs() const { return op_.inputs.size(); }
  size_t num_outputs() const { return op_.outputs.size(); }
  bool has_input(size_t i) const { return i < op_.inputs.size() && op_.inputs[i] >= 0; }
  const graph::Tensor& input(size_t i) const { return TensorAt(op_.inputs[i]); }
  const graph::Tensor& output(size_t i) const { return TensorAt(op_.outputs[i]); }
  // Bytes of input i if it is a constant, else nullptr.
  const uint8_t* constant(size_t i) const;
  // Values of a constant int32/int64 input (axes, perm, shape...), or an error.
  Result<std::vector<int64_t>> ConstantInts(size_t i, const char* role) const;

  // "op 7 FULLY_CONNECTED (inputs 'x', 'w' -> outputs 'y')"
  const std::string& label() const { return label_; }
  Status Error(const std::string& what) const;
  Status Unsupported(const std::string& what) const;

  Status CheckArity(size_t min_inputs, size_t max_inputs, size_t outputs) const;
  Status CheckInputDType(size_t i, std::initializer_list<graph::DType> allowed) const;
  Status CheckOutputDType(size_t i, graph::DType expected) const;
  // Compares the declared output shape with the inferred one.
  Status CheckOutputShape(size_t i, const std::vector<int32_t>& inferred) const;

  // The kernel keeps its own copy of constant input i (packed weights, folded bias) and
  // never reads the original after Prepare, so the interpreter may hand the model
  // file's pages of it back entirely (Interpreter::Create).
  void ConstantCopied(size_t i) {
    if (i < 64) copied_inputs_ |= uint64_t{1} << i;
  }
  bool constant_copied(size_t i) const { return i < 64 && (copied_inputs_ >> i & 1) != 0; }

  // Scratch bytes this kernel needs at Eval (EvalContext::scratch has at least this).
  void RequestScratch(size_t bytes) { scratch_bytes_ = std::max(scratch_bytes_, bytes); }
  size_t scratch_bytes() const { return scratch_bytes_; }
  int num_threads() const { return num_threads_; }
  // InterpreterOptions::use_reference_kernels: kernels with a fast variant pick the
  // scalar reference instead.
  bool use_reference_kernels() const { return use_reference_kernels_; }
  void set_use_reference_kernels(bool value) { use_reference_kernels_ = value; }
  // InterpreterOptions::use_scalar_float_kernels.
  bool use_scalar_float_kernels() const { return use_scalar_float_kernels_; }
  void set_use_scalar_float_kernels(bool value) { use_scalar_float_kernels_ = value; }

 private:
  const graph::Tensor& TensorAt(int32_t t) const {
    for (const TensorOverride& o : overrides_) {
      if (o.index == t) return o.tensor;
    }
    return subgraph_.tensors[t];
  }

  const graph::Subgraph& subgraph_;
  const graph::Op& op_;
  std::span<const uint8_t* const> constant_data_;
  std::span<const TensorOverride> overrides_;
  int num_threads_;
  bool use_reference_kernels_ = false;
  bool use_scalar_float_kernels_ = false;
  size_t scratch_bytes_ = 0;
  uint64_t copied_inputs_ = 0;  // ConstantCopied, one bit per input
  std::string label_;
};

using PrepareFn = Result<std::unique_ptr<Kernel>> (*)(PrepareContext& ctx);

// The prepare function of an op code, or nullptr if the runtime has no kernel for it.
PrepareFn FindPrepareFn(graph::OpCode code);

// How output 0 of an op may share storage with input 0 (the memory planner decides
// whether it actually does; the kernel must handle both cases).
enum class OutputAlias {
  kNone,
  kView,           // same bytes reinterpreted (RESHAPE, SQUEEZE): never written again
  kInPlaceUpdate,  // output = input with a region overwritten (DYNAMIC_UPDATE_SLICE)
};
OutputAlias OutputAliasOf(graph::OpCode code);

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_KERNELS_KERNEL_H_
