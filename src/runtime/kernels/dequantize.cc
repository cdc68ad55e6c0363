// DEQUANTIZE (TFLite dequantize.cc): int8/int16/int4 -> float32 with
// real = scale * (q - zp), and float16 -> float32. int4 is packed two per byte, low
// nibble first, signed (TFLite unpacks it to int8 before the int8 path).
//   per tensor:  float(double(scale) * (q - zp))  (reference Dequantize uses a double scale)
//   per axis:    (q - zp[c]) * scale[c] in float  (reference PerChannelDequantize), int8 only
// The interpreter folds a DEQUANTIZE of a constant once at Create (plan_builder.cc), so
// weight-only models pay this once, not per step.
//
// Per-tensor int8 has an AVX2 path (static int8 models dequantize a few activations
// per layer and step, ~1 us each in scalar code): the same double product rounded
// to float, 4 lanes at a time, so the same floats as the scalar loop, which stays
// the reference (InterpreterOptions::use_reference_kernels).
#include <cmath>
#include <cstring>
#include <string>

#include "common/half.h"
#include "runtime/kernels/elementwise_parallel.h"
#include "runtime/kernels/kernels.h"
#include "runtime/kernels/quantized/int8_dot.h"
#include "runtime/kernels/shape_util.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace liteq::runtime {
namespace {

// out[i] = float(scale * double(in[i] - zp)) for per-tensor int8, |zp| <= 255.
void DequantizeInt8Scalar(const int8_t* in, int64_t n, double scale, int64_t zp, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    out[i] = static_cast<float>(scale * static_cast<double>(int64_t{in[i]} - zp));
  }
}

#if defined(__x86_64__) || defined(__i386__)
// The scalar loop's operations per lane: (q - zp) is exact in int32 and in double,
// vmulpd rounds the product as the scalar double multiply does and vcvtpd2ps rounds
// it to float as static_cast<float> does (round to nearest, the default MXCSR).
__attribute__((target("avx2"))) void DequantizeInt8Avx2(const int8_t* in, int64_t n, double scale,
                                                        int64_t zp, float* out) {
  const __m256d s = _mm256_set1_pd(scale);
  const __m128i z = _mm_set1_epi32(static_cast<int32_t>(zp));
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    int64_t eight;
    std::memcpy(&eight, in + i, sizeof(eight));
    const __m256i q = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(eight));
    const __m128i lo = _mm_sub_epi32(_mm256_castsi256_si128(q), z);
    const __m128i hi = _mm_sub_epi32(_mm256_extracti128_si256(q, 1), z);
    _mm_storeu_ps(out + i, _mm256_cvtpd_ps(_mm256_mul_pd(s, _mm256_cvtepi32_pd(lo))));
    _mm_storeu_ps(out + i + 4, _mm256_cvtpd_ps(_mm256_mul_pd(s, _mm256_cvtepi32_pd(hi))));
  }
  DequantizeInt8Scalar(in + i, n - i, scale, zp, out + i);
}
#endif

using DequantizeInt8Fn = void (*)(const int8_t*, int64_t, double, int64_t, float*);

DequantizeInt8Fn BestDequantizeInt8(bool use_reference) {
#if defined(__x86_64__) || defined(__i386__)
  if (!use_reference && quantized::Int8DotsAvx2Supported()) return &DequantizeInt8Avx2;
#endif
  (void)use_reference;
  return &DequantizeInt8Scalar;
}

}  // namespace

void FastDequantizeInt8(const int8_t* in, int64_t n, double scale, int64_t zp, float* out) {
  static const DequantizeInt8Fn best = BestDequantizeInt8(false);
  best(in, n, scale, zp, out);
}

namespace {

class DequantizeKernel : public Kernel {
 public:
  DequantizeKernel(graph::DType dtype, std::vector<int64_t> dims, graph::QuantParams quant,
                   bool use_reference)
      : dtype_(dtype),
        dims_(std::move(dims)),
        quant_(std::move(quant)),
        int8_per_tensor_(BestDequantizeInt8(use_reference)) {}

  Status Eval(const EvalContext& ctx) override {
    float* out = Out<float>(ctx, 0);
    switch (dtype_) {
      case graph::DType::kInt8:
        if (!quant_.per_axis()) {
          // Split over the pool: a static int8 model's prefill dequantizes every layer's
          // normalization input and new cache rows ([128, 576] on SmolLM2-135M).
          const int8_t* in = In<int8_t>(ctx, 0);
          const double scale = quant_.scale[0];
          const int64_t zero_point = quant_.zero_point.empty() ? 0 : quant_.zero_point[0];
          ParallelElementwise(
              ctx.pool, Count(), kParallelMinElementsCheap, [&](int64_t begin, int64_t end) {
                int8_per_tensor_(in + begin, end - begin, scale, zero_point, out + begin);
              });
        } else {
          Run(In<int8_t>(ctx, 0), out);
        }
        break;
      case graph::DType::kInt16:
        Run(In<int16_t>(ctx, 0), out);
        break;
      case graph::DType::kInt4:
        Run(Int4Reader{In<uint8_t>(ctx, 0)}, out);
        break;
      default: {  // float16
        const uint16_t* in = In<uint16_t>(ctx, 0);
        for (int64_t i = 0; i < Count(); ++i) out[i] = Fp16ToFloat(in[i]);
        break;
      }
    }
    return Status::Ok();
  }

 private:
  int64_t Count() const {
    int64_t n = 1;
    for (int64_t d : dims_) n *= d;
    return n;
  }

  // in[i] of a packed int4 tensor: the low nibble holds the even element.
  struct Int4Reader {
    const uint8_t* packed;
    int32_t operator[](int64_t i) const {
      const uint8_t byte = packed[i / 2];
      const int nibble = (i % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
      return nibble >= 8 ? nibble - 16 : nibble;
    }
  };

  // T: a pointer to int8/int16 or an Int4Reader.
  template <typename T>
  void Run(const T& in, float* out) const {
    const int64_t n = Count();
    if (!quant_.per_axis()) {
      const double scale = quant_.scale[0];
      const int64_t zp = quant_.zero_point.empty() ? 0 : quant_.zero_point[0];
      for (int64_t i = 0; i < n; ++i) {
        out[i] = static_cast<float>(scale * static_cast<double>(int64_t{in[i]} - zp));
      }
      return;
    }
    const size_t axis = static_cast<size_t>(quant_.quantized_dimension);
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < axis; ++d) outer *= dims_[d];
    for (size_t d = axis + 1; d < dims_.size(); ++d) inner *= dims_[d];
    const int64_t channels = dims_[axis];
    int64_t i = 0;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t c = 0; c < channels; ++c) {
        const float scale = quant_.scale[static_cast<size_t>(c)];
        const int32_t zp = static_cast<int32_t>(quant_.zero_point[static_cast<size_t>(c)]);
        for (int64_t k = 0; k < inner; ++k, ++i) {
          out[i] = static_cast<float>(static_cast<int32_t>(in[i]) - zp) * scale;
        }
      }
    }
  }

  graph::DType dtype_;
  std::vector<int64_t> dims_;
  graph::QuantParams quant_;
  DequantizeInt8Fn int8_per_tensor_;
};

}  // namespace

PrepareResult PrepareDequantize(PrepareContext& ctx) {
  LITEQ_RETURN_IF_ERROR(ctx.CheckArity(1, 1, 1));
  LITEQ_RETURN_IF_ERROR(ctx.CheckInputDType(
      0, {graph::DType::kInt8, graph::DType::kInt16, graph::DType::kInt4, graph::DType::kFloat16}));
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputDType(0, graph::DType::kFloat32));
  const graph::Tensor& in = ctx.input(0);
  LITEQ_RETURN_IF_ERROR(ctx.CheckOutputShape(0, in.shape));
  const graph::QuantParams& q = in.quant;
  if (in.dtype != graph::DType::kFloat16) {
    const std::string what = "input '" + in.name + "' ";
    if (q.empty()) return ctx.Error(what + "has no quantization parameters");
    if (q.block_size != 0) return ctx.Unsupported(what + "is blockwise quantized");
    if (!q.zero_point.empty() && q.zero_point.size() != q.scale.size()) {
      return ctx.Error(what + "has " + std::to_string(q.scale.size()) + " scales but " +
                       std::to_string(q.zero_point.size()) + " zero points");
    }
    if (q.per_axis()) {
      if (in.dtype == graph::DType::kInt16) {
        return ctx.Unsupported(what + "is per-axis " + graph::DTypeName(in.dtype) +
                               " (per-axis DEQUANTIZE takes int8 or int4, as TFLite's)");
      }
      const int32_t axis = q.quantized_dimension;
      if (axis < 0 || static_cast<size_t>(axis) >= in.shape.size() ||
          static_cast<size_t>(in.shape[static_cast<size_t>(axis)]) != q.scale.size() ||
          q.zero_point.size() != q.scale.size()) {
        return ctx.Error(what + "has " + std::to_string(q.scale.size()) +
                         " scales and zero points for quantized_dimension " + std::to_string(axis) +
                         " of shape " + ShapeToString(in.shape));
      }
    }
    for (float s : q.scale) {
      if (!(s > 0.0f) || !std::isfinite(s)) {
        return ctx.Error(what + "has scale " + std::to_string(s) +
                         " (must be positive and finite)");
      }
    }
    const int64_t limit = in.dtype == graph::DType::kInt16 ? 65535 : 255;
    for (int64_t zp : q.zero_point) {
      if (zp < -limit || zp > limit) {
        return ctx.Error(what + "has zero point " + std::to_string(zp) + " outside its type");
      }
    }
  }
  std::vector<int64_t> dims(in.shape.begin(), in.shape.end());
  return PrepareResult(std::make_unique<DequantizeKernel>(in.dtype, std::move(dims), q,
                                                          ctx.use_reference_kernels()));
}

}  // namespace liteq::runtime
