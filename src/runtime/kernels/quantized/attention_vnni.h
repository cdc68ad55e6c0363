// The two int8 products of a static int8 attention block (fused_attention_int8.h)
// with AVX-512 VNNI, for prefill blocks where many query rows share one kv head's
// keys and values: scores q . k and context probs x V, as exact int32 sums modulo
// 2^32 (the same integers as Int8Dots / KnDots, int8_dot.h and kn_dots.h).
//
// vpdpbusd adds 4 unsigned x signed byte products into each int32 lane, so the keys
// and values are first laid out with 4 consecutive summation bytes per lane (once
// per head and step, O(n * head_dim) byte moves), and the query row and the
// probabilities, the operands broadcast 4 bytes at a time, are shifted to uint8
// (x + 128). The shift is taken back out with the sums the kernel already has:
//   sum_d (q_d + 128) k_jd = q . k_j + 128 * sum_d k_jd    (the key row sums)
//   sum_j (p_j + 128) v_jd = (p V)_d + 128 * sum_j v_jd     (the value column sums)
// Rows and lanes past n are zero in the layouts and add nothing.
//
// Layouts (n live rows, head_dim D a multiple of 16):
//   keys:   groups of 16 keys; group g holds D/4 vectors of 16 lanes, lane l of vector
//           c = bytes 4c..4c+3 of key 16g + l. ceil(n/16) * 16 * D bytes.
//   values: quads of rows; quad q holds D lanes, lane d = v[4q .. 4q+3][d].
//           ceil(n/4) * 4 * D bytes.
#ifndef LITEQ_RUNTIME_KERNELS_QUANTIZED_ATTENTION_VNNI_H_
#define LITEQ_RUNTIME_KERNELS_QUANTIZED_ATTENTION_VNNI_H_

#include <cstddef>
#include <cstdint>

namespace liteq::runtime::quantized {

// The int8 products run on AVX-512 VNNI (BestPackedInt8Dots(), packed_int8.h: the CPU
// has it and LITEQ_INT8_DOTS does not choose another kernel) and head_dim suits the
// layouts (16, 32, 64, 128 or 256: the probs x V accumulators stay in registers).
bool AttentionVnniSupported(size_t head_dim);

size_t VnniKeysBytes(size_t n, size_t head_dim);
size_t VnniValuesBytes(size_t n, size_t head_dim);

// keys: n rows of head_dim bytes, `ld` bytes apart -> out (VnniKeysBytes).
void LayOutKeysVnni(const int8_t* keys, size_t ld, size_t n, size_t head_dim, int8_t* out);
// values: n rows of head_dim bytes, `ld` bytes apart -> out (VnniValuesBytes).
void LayOutValuesVnni(const int8_t* values, size_t ld, size_t n, size_t head_dim, int8_t* out);

// dots[r * ld_dots + j] = sum_d q[r * ldq + d] * k_j[d] for r < m, j < n;
// key_sums[j] = sum_d k_j[d] (modulo 2^32).
void QueryKeyDotsVnni(const int8_t* q, size_t ldq, size_t m, const int8_t* keys_laid_out,
                      const int32_t* key_sums, size_t n, size_t head_dim, int32_t* dots,
                      size_t ld_dots);

// out[d] = sum_j p[j] * v_j[d] for d < head_dim; value_sums[d] = sum_j v_j[d] (j < n,
// modulo 2^32).
void ProbValueDotsVnni(const int8_t* p, size_t n, const int8_t* values_laid_out,
                       const int32_t* value_sums, size_t head_dim, int32_t* out);

}  // namespace liteq::runtime::quantized

#endif  // LITEQ_RUNTIME_KERNELS_QUANTIZED_ATTENTION_VNNI_H_
