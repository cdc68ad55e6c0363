// Elementwise int8 functions through a 256-entry lookup table built at Prepare from
// the float function, as TFLite's int8 LOGISTIC / TANH / GELU kernels do
// (activations.cc PopulateLookupTable, later common.h LUTPopulateInt8):
//   for q in [-128, 127]:
//     lut[uint8(q)] = clamp((int)(round(f(s_in * (q - zp_in)) * (1 / s_out)) + zp_out))
// with the float arithmetic in that order.
//
// RSQRT is tabulated too, but from TFLite's integer algorithm (elementwise.cc
// RsqrtEvalQuantized, see rsqrt_int.h), not from the float function.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_LUT_INT_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_LUT_INT_H_

#include <array>
#include <cstdint>
#include <span>

#include "runtime/kernels/quantized/quantized_common.h"

namespace liteq::runtime::quantized {

using Int8Lut = std::array<int8_t, 256>;  // indexed by uint8_t(q)

enum class LutFunction { kLogistic, kTanh, kGelu, kGeluApproximate, kRsqrt };

// The float function a table is built from (exposed so tests use the same one).
float EvaluateLutFunction(LutFunction function, float x);

// Validates the parameters; LOGISTIC requires output scale 1/256 and zero point -128
// as TFLite's kernel checks. (The quantizer gives TANH 1/128 and 0, per the spec, but
// TFLite's LUT kernel accepts any output parameters, and so does this one.)
Result<Int8Lut> PrepareInt8Lut(LutFunction function, quant::QuantParams input,
                               quant::QuantParams output);
void PopulateInt8Lut(quant::QuantParams input, quant::QuantParams output, float (*transform)(float),
                     Int8Lut& lut);
// output[i] = lut[uint8(input[i])]: AVX-512 VBMI where the CPU has it, else the
// portable loop (the reference the SIMD version is tested against).
void ApplyInt8Lut(const Int8Lut& lut, std::span<const int8_t> input, std::span<int8_t> output);
void ApplyInt8LutPortable(const Int8Lut& lut, std::span<const int8_t> input,
                          std::span<int8_t> output);
// y[i] = by_value[x[i] + 128] for a table in value order (entry 0 for -128), through
// ApplyInt8Lut; y may be x. (Softmax maps a long row's scores this way.)
void LookUpByValue(const std::array<int8_t, 256>& by_value, const int8_t* x, int8_t* y, size_t n);
// lut_int_avx512.cc: callable only when LutAvx512VbmiSupported().
bool LutAvx512VbmiSupported();
void ApplyInt8LutAvx512Vbmi(const Int8Lut& lut, const int8_t* input, int8_t* output, size_t n);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_LUT_INT_H_
