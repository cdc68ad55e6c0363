#include "runtime/kernels/quantized/requantize_rows.h"

#include "runtime/kernels/quantized/int8_dot.h"

namespace liteq::runtime::quantized {

void FcRequantizePortable(const FcRequantizeArgs& args, const int32_t* dots, size_t n,
                          int8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = FcRequantizeOne(args, dots[i], i);
}

void FcRequantizeBlockPortable(const FcRequantizeArgs& args, const int32_t* dots, size_t ld_dots,
                               size_t rows, size_t n, int8_t* out, size_t ld_out) {
  for (size_t r = 0; r < rows; ++r)
    FcRequantizePortable(args, dots + r * ld_dots, n, out + r * ld_out);
}

void FcRequantizeBlockAvx2(const FcRequantizeArgs& args, const int32_t* dots, size_t ld_dots,
                           size_t rows, size_t n, int8_t* out, size_t ld_out) {
  for (size_t r = 0; r < rows; ++r) FcRequantizeAvx2(args, dots + r * ld_dots, n, out + r * ld_out);
}

void BatchMatMulRequantizePortable(const BatchMatMulRequantizeArgs& args, const int32_t* dots,
                                   size_t n, int8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = BatchMatMulRequantizeOne(args, dots[i], i);
}

void MulInt8RowPortable(const MulParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                        size_t b_step, int8_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<int8_t>(MulElement(p, a[i * a_step], b[i * b_step]));
  }
}

void AddSubInt8RowPortable(const AddSubParams& p, const int8_t* a, size_t a_step, const int8_t* b,
                           size_t b_step, int8_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<int8_t>(AddSubElement(p, a[i * a_step], b[i * b_step]));
  }
}

FcRequantizeFn BestFcRequantize() {
  return RequantizeAvx512Supported() ? &FcRequantizeAvx512
         : Int8DotsAvx2Supported()   ? &FcRequantizeAvx2
                                     : &FcRequantizePortable;
}

FcRequantizeBlockFn BestFcRequantizeBlock() {
  return RequantizeAvx512Supported() ? &FcRequantizeBlockAvx512
         : Int8DotsAvx2Supported()   ? &FcRequantizeBlockAvx2
                                     : &FcRequantizeBlockPortable;
}

BatchMatMulRequantizeFn BestBatchMatMulRequantize() {
  return RequantizeAvx512Supported() ? &BatchMatMulRequantizeAvx512
         : Int8DotsAvx2Supported()   ? &BatchMatMulRequantizeAvx2
                                     : &BatchMatMulRequantizePortable;
}

MulInt8RowFn BestMulInt8Row() {
  return RequantizeAvx512Supported() ? &MulInt8RowAvx512
         : Int8DotsAvx2Supported()   ? &MulInt8RowAvx2
                                     : &MulInt8RowPortable;
}

AddSubInt8RowFn BestAddSubInt8Row() {
  return RequantizeAvx512Supported() ? &AddSubInt8RowAvx512
         : Int8DotsAvx2Supported()   ? &AddSubInt8RowAvx2
                                     : &AddSubInt8RowPortable;
}

}  // namespace liteq::runtime::quantized
