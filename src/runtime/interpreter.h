// liteq's CPU runtime: executes the signatures of a graph::Model (as read from a
// .tflite file) with scalar reference kernels and SIMD matmuls.
//
// Create() does all the work that does not depend on input values: it validates every
// op (arity, dtypes, shapes, options), prepares the kernels, materialises constants,
// plans one arena for the intermediates of all signatures (only one signature runs at
// a time) and allocates every buffer. Invoke() then does arithmetic only.
//
// State tensors (the KV cache): a signature input whose name is also an output name
// of the same signature is state. Every signature that names it shares ONE buffer,
// bound to both its input and output tensor, so prefill and decode see the same
// cache. When the output is a DYNAMIC_UPDATE_SLICE of the input and nothing reads the
// input afterwards, the update is written in place (a decode step never copies the
// cache); otherwise the input is bound to a snapshot copied at the start of Invoke.
//
// An Interpreter and its runners are used from one thread at a time (Invoke uses the
// interpreter's own worker threads internally). TensorViews stay valid for the
// interpreter's lifetime; their contents change when a signature runs.
#ifndef LITEQ_RUNTIME_INTERPRETER_H_
#define LITEQ_RUNTIME_INTERPRETER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "liteq/status.h"

namespace liteq::runtime {

// Which fixed-point rules the int8 kernels follow.
enum class Int8Arithmetic {
  // TFLite's reference kernels (QUANT_SPEC.md; the fast kernels are bit-exact to them).
  kTfliteReference,
  // XNNPACK's, for the int8 ops LiteRT's XNNPACK delegate runs (QUANTIZE, ADD, SUB,
  // MUL, FULLY_CONNECTED int8 and hybrid, BATCH_MATMUL int8 with an rhs zero point
  // of 0: runtime/kernels/xnnpack_compat_kernels.h),
  // so logits can be compared with the official LiteRT runtime. Scalar kernels.
  kXnnpack,
};

struct InterpreterOptions {
  // Worker threads for FULLY_CONNECTED (output channels are split across them).
  int num_threads = 1;
  // Debug: give every intermediate its own memory so TensorByName can read all of
  // them after Invoke (disables arena reuse and in-place views of intermediates).
  bool preserve_all_tensors = false;
  // Run each attention block (QK^T, mask, softmax, V over the KV cache) as one kernel
  // that visits only the live cache positions (runtime/attention_fusion.h). Off, or
  // with preserve_all_tensors, every op runs as written.
  bool fuse_attention = true;
  // FULLY_CONNECTED reads int8/int4 weights of weight-only models directly instead of
  // a float copy made at load (runtime/weight_only_fusion.h). Off: fold DEQUANTIZE.
  bool integer_weights = true;
  // With integer_weights, FULLY_CONNECTED on int4 weights (weight_only_int4) with fewer
  // than 4 activation rows (decode) quantizes each group of 32 activations to int8 and
  // sums the int4 x int8 products in integers (kernels/weight_only_int4_q8.h), as
  // LiteRT's XNNPACK path (qd8-f32-qb4w) and llama.cpp (Q4_0 x Q8_0) do: the nibble
  // to float conversion made the float-activation GEMV compute-bound. On by default
  // for the decode speed (SmolLM2-135M shape: ~1.4x the float-activation decode); the
  // activation rounding moves the logits slightly (gemma3-tiny b32: dPPL +0.391% vs
  // +0.382%, numbers in the header). Prefill (4+ rows) is unaffected. Off: float
  // activations, equal to DEQUANTIZE then the float FULLY_CONNECTED up to
  // kWeightOnlyDotRelativeTolerance.
  bool int4_int8_activations = true;
  // Run the scalar reference kernels instead of the fast (SIMD, threaded) integer
  // kernels, e.g. to check that both give the same results. The environment variable
  // LITEQ_REFERENCE_KERNELS=1 sets it for every interpreter (CLI comparisons).
  bool use_reference_kernels = false;
  // Run the scalar float elementwise/MEAN kernels instead of the SIMD ones (tests
  // compare the two within named tolerances). Separate from use_reference_kernels
  // because only the integer kernels have bit-exact references: the float SIMD math
  // differs by an ulp or so, which would hide whether the integer paths agree.
  bool use_scalar_float_kernels = false;
  Int8Arithmetic int8_arithmetic = Int8Arithmetic::kTfliteReference;
};

struct TensorView {
  graph::DType dtype = graph::DType::kFloat32;
  std::vector<int32_t> shape;
  void* data = nullptr;
  size_t bytes = 0;

  // The data as elements of T; T must match the dtype's element size.
  template <typename T>
  std::span<T> as() const {
    return std::span<T>(static_cast<T*>(data), bytes / sizeof(T));
  }
};

// What the planner decided for one signature (for tests, `liteq bench`, debugging).
struct PlanReport {
  size_t arena_bytes = 0;                    // arena this signature needs
  size_t intermediate_bytes = 0;             // sum of its arena tensors' sizes (without reuse)
  size_t io_bytes = 0;                       // signature inputs/outputs (own buffers)
  std::vector<std::string> in_place_states;  // state names updated in place
  std::vector<std::string> snapshot_states;  // state inputs read after the update: copied
                                             // into a snapshot at the start of Invoke
  int aliased_tensors = 0;                   // views/in-place outputs sharing storage
  int fused_attention = 0;                   // attention blocks run by the fused kernel
  int integer_weight_fcs = 0;                // FCs reading int8/int4 weights directly
  int fused_inverse_rms = 0;                 // RMSNorm statistics run as one kernel
  int fused_fc_products = 0;                 // MUL(m, FC(x)) run by the FC's kernel
  int fused_rope = 0;                        // RoPE blocks (int8, float) run as one kernel
  int fused_silu = 0;                        // MUL(x, LOGISTIC(x)) run as one kernel
};

// Counters since Create (cheap; incremented at Eval).
struct ExecutionCounters {
  uint64_t invocations = 0;
  uint64_t dus_full_copies = 0;  // DYNAMIC_UPDATE_SLICE copied its whole operand
  uint64_t state_snapshots = 0;  // state buffers copied into a snapshot
  // A fused int8 attention block summed the value rows of hidden keys (some query gave
  // hidden keys a probability above zero; fused_attention_int8.h), per kv head.
  uint64_t attention_hidden_value_sums = 0;
  // A fused int8 attention block laid out a kv head's keys and values for the AVX-512
  // VNNI products (prefill-sized blocks on such CPUs; attention_vnni.h), per kv head.
  uint64_t attention_vnni_heads = 0;
  // Query rows x live keys a fused attention block left out because every row of the
  // block hides them (the causal cut of prefill, BlockLiveKeys in attention_fusion.h).
  uint64_t attention_keys_cut = 0;
  // A hybrid FULLY_CONNECTED used the quantized rows the FC before it left in the
  // scratch (the same input: q/k/v, gate/up; ScratchContents in kernel.h).
  uint64_t hybrid_inputs_reused = 0;
  // An int8 FULLY_CONNECTED used the input rows the FC before it left prepared for the
  // VNNI dots in the scratch (shifted to uint8; the same input: q/k/v, gate/up).
  uint64_t int8_inputs_reused = 0;
};

class Interpreter;

class SignatureRunner {
 public:
  ~SignatureRunner();
  // Writable input buffer (a state input returns the shared state buffer).
  Result<TensorView> Input(const std::string& name);
  // Valid after Invoke, until the next Invoke of this signature.
  Result<TensorView> Output(const std::string& name);
  // Any tensor of the signature's subgraph by tensor name: constants, inputs, outputs
  // and state always; intermediates only with preserve_all_tensors (they are valid
  // until the next Invoke of any signature).
  Result<TensorView> TensorByName(const std::string& tensor_name);
  // Computes only row `row` (along T) of a [1, T, ...] output from the next Invoke on,
  // for callers that read nothing else, e.g. generation reads the last prompt
  // position's logits (runtime/row_select.h); the other rows of that output are then
  // unspecified. row = -1 computes every row again. NotFound when the signature has no
  // such output, Unimplemented when its producer cannot be restricted to one row.
  Status SelectOutputRow(const std::string& output_name, int64_t row);
  // Runs every op; a value-dependent failure (an index out of range) returns an error
  // naming the op and leaves the outputs unspecified.
  Status Invoke();
  const graph::Signature& signature() const;
  const PlanReport& plan_report() const;
  const ExecutionCounters& counters() const;

 private:
  friend class Interpreter;
  friend class PlanBuilder;
  struct Plan;
  explicit SignatureRunner(Interpreter* interpreter);

  Interpreter* interpreter_;
  std::unique_ptr<Plan> plan_;
};

class Interpreter {
 public:
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  static Result<std::unique_ptr<Interpreter>> Create(std::shared_ptr<const graph::Model> model,
                                                     InterpreterOptions options = {});
  // Reads a .tflite file with liteq::tflite::ReadTflite and creates an interpreter.
  // (Defined only when the library is built with liteq_tflite.)
  static Result<std::unique_ptr<Interpreter>> Load(const std::string& tflite_path,
                                                   InterpreterOptions options = {});

  Result<SignatureRunner*> GetSignature(const std::string& key);
  std::vector<std::string> SignatureKeys() const;
  // State (KV cache) buffers shared by all signatures, by signature input name.
  Result<TensorView> State(const std::string& name);
  std::vector<std::string> StateNames() const;
  void ResetState();  // all state buffers to real zero (an integer cache: its zero point)

  const graph::Model& model() const { return *model_; }
  const InterpreterOptions& options() const { return options_; }
  // Bytes of the shared intermediate arena (max over signatures).
  size_t arena_bytes() const;
  // Bytes of float constants computed at Create by folding DEQUANTIZE of constant
  // (int8 weight-only) tensors; the interpreter owns them.
  size_t folded_constant_bytes() const;

 private:
  friend class SignatureRunner;
  friend class PlanBuilder;
  struct Impl;
  Interpreter();
  std::shared_ptr<const graph::Model> model_;
  InterpreterOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_INTERPRETER_H_
