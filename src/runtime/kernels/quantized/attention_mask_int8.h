// The int8 attention mask ADD, masked = ADD(score, mask), through a table: a mask row
// holds the quantized 0.0 for the keys a query sees and a value that saturates the sum
// to -128 for the ones it does not (causal and sliding-window masks), so the sum is a
// function of the score alone where the key is visible, and -128 elsewhere. The table
// holds ADD(s, visible) for all 256 scores s (AddSubElement, the arithmetic the SIMD
// ADD rows are tested against), built once at Prepare; a row is looked up 64 bytes at
// a time (ApplyInt8Lut) instead of ~20 instructions per 16 sums of TFLite's rounding.
// A row whose mask holds any other value is left to the ADD rows.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_ATTENTION_MASK_INT8_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_ATTENTION_MASK_INT8_H_

#include <cstddef>
#include <cstdint>

#include "runtime/kernels/quantized/elementwise_int.h"
#include "runtime/kernels/quantized/lut_int.h"

namespace liteq::runtime::quantized {

struct MaskAddTable {
  Int8Lut visible_sum;    // entry uint8(s): ADD(s, visible)
  int8_t visible = 0;     // the mask value of a visible key
  int hidden_max = -129;  // mask values <= this saturate ADD to -128 for every score
};

// `hidden_max`: the largest mask value with AddSubElement(add, 127, value) == -128.
MaskAddTable MakeMaskAddTable(const AddSubParams& add, int8_t visible, int hidden_max);

// row[j] = ADD(row[j], mask[j]) for j < n, in place, when every mask[j] is `visible` or
// at most `hidden_max`; otherwise returns false and leaves row as it was.
bool ApplyMaskAddTable(const MaskAddTable& table, const int8_t* mask, int8_t* row, size_t n);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_ATTENTION_MASK_INT8_H_
