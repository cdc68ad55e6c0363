// llama2.c checkpoints (github.com/karpathy/llama2.c, export.py and run.c), exposed
// under Hugging Face Llama tensor names so that one Llama graph builder serves both.
//
// Legacy ("version 0", legacy_export): 7 x int32 header {dim, hidden_dim, n_layers,
// n_heads, n_kv_heads, vocab_size, seq_len}; a negative vocab_size means the classifier
// is not shared with the embedding. Then fp32 arrays, each concatenated over layers:
// tok_embeddings, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final,
// freq_cis_real, freq_cis_imag [seq_len, head_dim/2], and wcls when unshared.
//
// Version 1 (version1_export): uint32 magic 0x616b3432 ("ak42"), int32 version = 1,
// the same 7 int32, uint8 shared_classifier at byte 36, zero padding to 256 bytes;
// then fp32 rms_att, rms_ffn, rms_final, tok_embeddings, wq, wk, wv, wo, w1, w2, w3,
// and wcls when unshared. No freq_cis.
//
// Names: tok_embeddings -> model.embed_tokens.weight, rms_att/rms_ffn ->
// model.layers.{i}.input_layernorm / post_attention_layernorm, wq/wk/wv/wo ->
// self_attn.{q,k,v,o}_proj, w1/w3/w2 -> mlp.{gate,up,down}_proj, rms_final ->
// model.norm.weight, wcls -> lm_head.weight (only when unshared).
//
// RoPE layout: llama2.c (like Meta's original Llama) rotates adjacent pairs (2i, 2i+1)
// of each head, Hugging Face Llama rotates (i, i + head_dim/2) ("rotate_half"). HF's
// convert_llama_weights_to_hf.py reconciles the two by permuting the rows of q_proj and
// k_proj per head:
//   w.view(n_heads, head_dim/2, 2, in).transpose(1, 2).reshape(n_heads*head_dim, in)
// i.e. HF row h*head_dim + j*head_dim/2 + i = llama2.c row h*head_dim + 2*i + j
// (j in {0,1}): the even rows of each head first, then the odd rows. ReadFloat32()
// returns q_proj/k_proj in that HF order. Their stored bytes are in llama2.c order, so
// RawBytes() refuses these two tensors (FailedPrecondition) rather than hand out rows in
// an order that silently differs from the name's meaning; TensorInfo::raw_layout_differs
// marks them, and offset/nbytes describe the stored (unpermuted) bytes.
#ifndef LITEQ_IO_LLAMA2C_H_
#define LITEQ_IO_LLAMA2C_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "common/mapped_file.h"
#include "io/checkpoint.h"
#include "liteq/status.h"

namespace liteq::io {

inline constexpr uint32_t kLlama2cMagic = 0x616b3432;  // "ak42" read as little-endian uint32
inline constexpr uint64_t kLlama2cLegacyHeaderBytes = 7 * 4;
inline constexpr uint64_t kLlama2cV1HeaderBytes = 256;

struct Llama2cHeader {
  int version = 0;  // 0 = legacy, 1 = "ak42" version 1
  int32_t dim = 0;
  int32_t hidden_dim = 0;
  int32_t n_layers = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t vocab_size = 0;  // always positive here; the legacy sign is in shared_classifier
  int32_t seq_len = 0;
  bool shared_classifier = true;
  uint64_t header_bytes = 0;
  int32_t head_dim() const { return dim / n_heads; }
  int32_t kv_dim() const { return head_dim() * n_kv_heads; }
};

// Decodes and validates the header (positive, bounded values; n_heads divides dim;
// n_kv_heads divides n_heads; even head_dim). Errors name `path`.
Result<Llama2cHeader> ParseLlama2cHeader(std::span<const uint8_t> bytes, const std::string& path);

// The equivalent Hugging Face LlamaConfig (config.json) for a llama2.c model.
nlohmann::json Llama2cToHfConfig(const Llama2cHeader& header);

// Opens a llama2.c checkpoint; the file size must equal the header-implied size.
Result<std::unique_ptr<Checkpoint>> OpenLlama2cCheckpoint(std::shared_ptr<const MappedFile> file);

}  // namespace liteq::io

#endif  // LITEQ_IO_LLAMA2C_H_
