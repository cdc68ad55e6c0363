// Fast float32 -> int8 QUANTIZE, bit-exact with quant::QuantizeToInt8 (TFLite
// AffineQuantize: q = clamp(round(x / scale) + zp), round half away from zero,
// saturating for huge values and +-inf, NaN -> zp). The AVX2 path divides (not a
// reciprocal multiply, which would round differently), rounds half away from zero
// exactly as trunc(v) + sign(v) * (|v - trunc(v)| >= 0.5) (v - trunc(v) is exact),
// clamps in float to [qmin - zp, qmax - zp] before converting; chosen at run time,
// with the scalar reference on other CPUs and for the tail.
// Static int8 models quantize the float KV cache this way at every step, so this is
// on the decode path.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_QUANTIZE_FAST_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_QUANTIZE_FAST_H_

#include <cstdint>
#include <span>

#include "quant/quant_params.h"

namespace liteq::runtime::quantized {

// `params` as validated by the QUANTIZE kernel (finite scale > 0, zp in [-128, 127]).
void FastQuantizeFloatToInt8(std::span<const float> in, quant::QuantParams params,
                             std::span<int8_t> out);

// The hybrid FULLY_CONNECTED's per-row quantization, bit-exact with
// QuantizeHybridRow (hybrid_fully_connected.h): the range (max |x|, or min/max with
// 0) by lane-wise vmaxps/vminps, which ignore NaN exactly as std::max/std::min with
// the running value first do; then x * inverse (plus zp), rounded half away from
// zero as above, clamped, NaN -> 0. Hybrid models quantize every FC input row this
// way, prefill and decode.
// AVX-512 where the CPU has it (16 lanes, tails masked: 1.6-2x the AVX2 rows), else
// AVX2, else the reference.
quant::QuantParams FastQuantizeHybridRow(std::span<const float> row, bool asymmetric,
                                         std::span<int8_t> quantized);

// FastQuantizeHybridRow on one instruction set (tests run each the CPU has).
enum class QuantizeIsa { kPortable, kAvx2, kAvx512 };
bool QuantizeIsaSupported(QuantizeIsa isa);
quant::QuantParams FastQuantizeHybridRowOn(QuantizeIsa isa, std::span<const float> row,
                                           bool asymmetric, std::span<int8_t> quantized);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_QUANTIZE_FAST_H_
