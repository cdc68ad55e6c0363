// Computing one row of a multi-row output: generation only needs the logits of the
// last prompt position, but a prefill signature's `logits` output is [1, T, vocab]
// (DESIGN.md). The FULLY_CONNECTED that produces it (the output head: vocab x hidden
// multiply-accumulates per row, 21% of SmolLM2-135M's prefill) can run on that one
// row instead of all T; llama.cpp's prefill does the same (it computes the outputs
// of the requested positions only).
//
// The plan prepares, next to the op's normal kernel, a second kernel for a one-row
// version of the op and wraps both in a RowSelectKernel; SignatureRunner::
// SelectOutputRow picks a row (or all rows again) before Invoke. The ops between the
// FC and the output must work row by row (RESHAPE, DEQUANTIZE, QUANTIZE, TANH,
// LOGISTIC, or MUL/DIV by a constant scalar: Gemma 2's logit soft-capping), so the
// selected row of the output depends on the selected row of the FC only; the other
// rows of the output hold unspecified values.
#ifndef LITEQ_RUNTIME_ROW_SELECT_H_
#define LITEQ_RUNTIME_ROW_SELECT_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "graph/graph.h"
#include "runtime/kernels/kernel.h"

namespace liteq::runtime {

struct RowSelectableChain {
  int64_t rows = 0;  // rows of every tensor on the chain (the T of the output)
  // The ops from the FULLY_CONNECTED to the output, each with the input that carries
  // the rows (views such as RESHAPE included: they compute nothing).
  struct Step {
    int op = -1;
    int32_t row_input = -1;
  };
  std::vector<Step> steps;
  // The tensors that carry the rows (each step's row input and output), as one row:
  // the one-row kernels are prepared on the subgraph with these in place of its own
  // (PrepareContext overrides). Kernels may keep references into them, so they live
  // as long as the RowSelectKernels.
  std::shared_ptr<const std::vector<TensorOverride>> one_row;
};

// The FULLY_CONNECTED whose output reaches tensor `output` through row-wise ops, when
// it has more than one row (steps empty otherwise); `producer[t]` is the op writing t
// (or -1) and `readers[t]` how many ops read t (an intermediate read elsewhere too
// cannot be left partly unspecified).
RowSelectableChain FindRowSelectableChain(const graph::Subgraph& sg, int32_t output,
                                          std::span<const int> producer,
                                          std::span<const int> readers,
                                          std::span<const uint8_t* const> constants);

// Runs `all_rows` (the op as written) or, once a row is selected, `one_row` (the op
// prepared for a single row) on that row of the same buffers: of its input
// `row_input` and of its output.
class RowSelectKernel : public Kernel {
 public:
  RowSelectKernel(std::unique_ptr<Kernel> all_rows, std::unique_ptr<Kernel> one_row,
                  const graph::Subgraph& sg, const RowSelectableChain& chain,
                  const RowSelectableChain::Step& step);
  Status Eval(const EvalContext& ctx) override;
  int64_t rows() const { return rows_; }
  // row in [0, rows) or -1 for all rows.
  void set_row(int64_t row) { row_ = row; }

 private:
  std::unique_ptr<Kernel> all_rows_, one_row_;
  std::shared_ptr<const std::vector<TensorOverride>> one_row_tensors_;
  int32_t input_ = -1, output_ = -1;
  size_t input_row_bytes_ = 0, output_row_bytes_ = 0;
  int64_t rows_ = 0;
  int64_t row_ = -1;
  std::vector<void*> tensors_;  // the context's tensor table with the row's addresses
};

}  // namespace liteq::runtime

#endif  // LITEQ_RUNTIME_ROW_SELECT_H_
