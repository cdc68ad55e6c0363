#include "runtime/kernels/quantized/attention_mask_int8.h"

#include <span>

namespace liteq::runtime::quantized {

MaskAddTable MakeMaskAddTable(const AddSubParams& add, int8_t visible, int hidden_max) {
  MaskAddTable table;
  table.visible = visible;
  table.hidden_max = hidden_max;
  for (int s = -128; s <= 127; ++s) {
    table.visible_sum[static_cast<uint8_t>(s)] =
        static_cast<int8_t>(AddSubElement(add, s, visible));
  }
  return table;
}

bool ApplyMaskAddTable(const MaskAddTable& table, const int8_t* mask, int8_t* row, size_t n) {
  // Branch-free passes the compiler vectorizes: the check, the lookup, the hidden keys.
  bool known = true;
  for (size_t j = 0; j < n; ++j) {
    known &= (mask[j] == table.visible) | (mask[j] <= table.hidden_max);
  }
  if (!known) return false;
  ApplyInt8Lut(table.visible_sum, {row, n}, {row, n});
  for (size_t j = 0; j < n; ++j) {
    row[j] = mask[j] == table.visible ? row[j] : static_cast<int8_t>(-128);
  }
  return true;
}

}  // namespace liteq::runtime::quantized
