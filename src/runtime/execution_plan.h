// Internal state of the interpreter and of each signature's execution plan, and the
// PlanBuilder that turns one graph::Signature into a plan at Create.
#ifndef LITEQ_RUNTIME_EXECUTION_PLAN_H_
#define LITEQ_RUNTIME_EXECUTION_PLAN_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/aligned_buffer.h"
#include "runtime/attention_fusion.h"
#include "runtime/interpreter.h"
#include "runtime/inverse_rms_fusion.h"
#include "runtime/kernels/kernel.h"
#include "runtime/rope_fusion.h"
#include "runtime/silu_fusion.h"
#include "runtime/thread_pool.h"
#include "runtime/weight_only_fusion.h"

namespace liteq::runtime {

class RowSelectKernel;

struct SignatureRunner::Plan {
  const graph::Model* model = nullptr;
  const graph::Signature* signature = nullptr;
  const graph::Subgraph* subgraph = nullptr;
  std::vector<void*> tensor_data;                // per subgraph tensor; nullptr = unused
  std::vector<uint8_t> readable;                 // per tensor: TensorByName may return it
  std::vector<std::unique_ptr<Kernel>> kernels;  // one per op, in order
  std::vector<AlignedBuffer> owned;              // signature I/O, snapshots, variables
  struct Snapshot {
    const uint8_t* state;
    uint8_t* copy;
    size_t bytes;
  };
  std::vector<Snapshot> snapshots;
  // Tensors placed in the shared arena: (tensor index, offset). Resolved to pointers
  // once the interpreter has sized the arena over all signatures.
  std::vector<std::pair<int32_t, size_t>> arena_tensors;
  size_t scratch_bytes = 0;
  // Outputs computed row by row from a FC (row_select.h): the kernels that can run on
  // one row, by output name.
  std::map<std::string, std::vector<RowSelectKernel*>> row_select;
  PlanReport report;
  ExecutionCounters counters;
};

// Constants up to this size are copied at Prepare rather than read in place from the
// model file (PlanBuilder::ConstantBytes): after Prepare the interpreter hands back
// every file page that holds no larger constant read in place (the flatbuffer's tables,
// quantization vectors, small constants), and 64 KiB is also the span the kernel maps
// around a faulting page, so reading a small constant in place would pull its
// neighbourhood back in.
inline constexpr size_t kLargestCopiedConstant = size_t{64} << 10;

struct Interpreter::Impl {
  // Materialised bytes per model buffer index (nullptr until first used).
  std::vector<const uint8_t*> constants;
  std::vector<AlignedBuffer> constant_copies;  // lazy, misaligned or small buffers
  // Per model buffer: some kernel may read it at Invoke (as a tensor of its op, not
  // through a copy it made at Prepare: PrepareContext::ConstantCopied). The model
  // file's pages of the others are handed back after Prepare.
  std::vector<uint8_t> read_in_place;
  // DEQUANTIZE of a constant, evaluated once at Create and shared by every signature
  // that dequantizes the same buffer with the same parameters.
  struct FoldedConstant {
    uint32_t buffer;
    graph::DType dtype;
    graph::QuantParams quant;
    std::vector<int32_t> shape;
    AlignedBuffer data;
  };
  std::vector<FoldedConstant> folded;
  size_t folded_bytes = 0;
  struct State {
    graph::DType dtype;
    std::vector<int32_t> shape;
    AlignedBuffer buffer;
    // Integer states (an int8/int16 KV cache): the zero point, so that an empty cache
    // holds real zeros as a float cache does (QUANTIZE(0.0) = zero point). Rows not yet
    // written are masked, but an integer softmax still gives them a tiny weight, so
    // their content must match the float cache's for the two to agree.
    int32_t zero_point = 0;
    void Clear();  // every element = real zero
  };
  std::map<std::string, State> states;
  AlignedBuffer arena;
  size_t arena_bytes = 0;
  AlignedBuffer scratch;
  std::unique_ptr<ThreadPool> pool;
  std::vector<std::unique_ptr<SignatureRunner>> runners;
};

class PlanBuilder {
 public:
  PlanBuilder(Interpreter& interpreter, const graph::Signature& signature)
      : interpreter_(interpreter), signature_(signature) {}
  Result<std::unique_ptr<SignatureRunner>> Build();

 private:
  enum class Role : uint8_t {
    kUnused,
    kConstant,
    kInput,
    kOutput,
    kState,
    kVariable,
    kIntermediate
  };

  Status ValidateTensors();
  Status ValidateOps();
  // Finds the attention blocks to fuse and takes their inner tensors out of the plan.
  void PlanAttentionFusion();
  // Finds the FCs that read int8/int4 weights directly (weight_only_fusion.h).
  void PlanWeightOnlyFullyConnected();
  // Finds MUL(x, LOGISTIC(x)) and absorbs the LOGISTIC (silu_fusion.h).
  void PlanSiluFusion();
  // Finds RMSNorm's rsqrt(mean(x^2) + eps) chains (inverse_rms_fusion.h).
  void PlanInverseRmsFusion();
  // Finds int8 RoPE (slices, CONCAT, MUL, MUL, ADD[, MUL]: rope_fusion.h).
  void PlanRopeFusion();
  // Finds MUL(m, FC(x)) with the FC on integer weights and moves the FC into the MUL.
  void PlanFcProductFusion();
  Status PrepareKernels();
  // The kernel of op i, prepared with `overrides` in place of some of its tensors (the
  // one-row versions of an output head's, row_select.h).
  // With `product_op`, op i is an FC on integer weights run by the MUL `product_op`
  // (PlanFcProductFusion).
  Result<std::unique_ptr<Kernel>> PrepareOpKernel(int i,
                                                  std::span<const TensorOverride> overrides = {},
                                                  int product_op = -1);
  // Evaluates a DEQUANTIZE of a constant once and makes its output a constant.
  Status FoldDequantize(int op_index, Kernel& kernel);
  Status BindStates();
  void PlanAliases();
  // Float elementwise binary ops that overwrite an operand nobody reads afterwards.
  void PlanInPlaceElementwise();
  // int8 ops whose kernels may write over an operand (PlanInPlaceElementwise).
  bool InPlaceInt8Arithmetic(graph::OpCode code, graph::DType dtype) const;
  Status AssignStorage();
  Result<const uint8_t*> ConstantBytes(uint32_t buffer_index);
  // Records that the kernel of `op` may read its constant inputs at Invoke, except
  // those `ctx` (when given) says it copied.
  void MarkConstantsReadInPlace(const graph::Op& op, const PrepareContext* ctx = nullptr);
  std::string Where() const;

  int ViewRoot(int t) const;
  int StorageRoot(int t) const;

  Interpreter& interpreter_;
  const graph::Signature& signature_;
  const graph::Subgraph* subgraph_ = nullptr;
  std::unique_ptr<SignatureRunner> runner_;
  SignatureRunner::Plan* plan_ = nullptr;
  std::vector<Role> role_;
  std::vector<const uint8_t*> constant_;  // per tensor
  std::vector<int> producer_;             // op index or -1
  std::vector<int> last_read_;            // op index, num_ops for signature outputs, -1
  std::vector<int> view_parent_, storage_parent_;
  // State tensors of this signature: input tensor -> name, output tensor -> name.
  std::map<int32_t, std::string> state_inputs_, state_outputs_;
  std::map<int32_t, bool> state_input_snapshot_;
  std::vector<AttentionMatch> attention_;     // fused attention blocks
  std::vector<int> attention_at_;             // per op: index into attention_, or -1
  std::vector<uint8_t> absorbed_op_;          // per op: run inside a fused kernel
  std::vector<WeightOnlyFc> weight_only_;     // FCs on integer weights
  std::vector<int> weight_only_at_;           // per op: index into weight_only_, or -1
  std::vector<int32_t> silu_input_at_;        // per op: x of a fused SiLU MUL, or -1
  std::vector<int> silu_int8_logistic_at_;    // per op: an int8 SiLU MUL's LOGISTIC, or -1
  std::vector<InverseRmsMatch> inverse_rms_;  // fused RMSNorm statistics
  std::vector<int> inverse_rms_at_;           // per op: index into inverse_rms_, or -1
  std::vector<int> fc_product_at_;            // per MUL op: the FC op it runs, or -1
  std::vector<RopeMatch> rope_;               // fused RoPE (int8 or float)
  std::vector<int> rope_at_;                  // per op: index into rope_, or -1
};

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_EXECUTION_PLAN_H_
