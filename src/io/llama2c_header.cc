// llama2.c header decoding and the synthesised Hugging Face config.
#include <cstring>

#include "io/llama2c.h"

namespace liteq::io {
namespace {

// Generous bounds far above any llama2.c-exportable model; they reject garbage (and a
// random file sniffed as a legacy header) before any size arithmetic.
constexpr int32_t kMaxDim = 1 << 20;
constexpr int32_t kMaxLayers = 1 << 12;
constexpr int32_t kMaxVocab = 1 << 24;
constexpr int32_t kMaxSeqLen = 1 << 24;

int32_t LoadI32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;  // little-endian host (see dtype_convert.cc)
}

std::string HeaderText(const Llama2cHeader& h) {
  return "dim=" + std::to_string(h.dim) + " hidden_dim=" + std::to_string(h.hidden_dim) +
         " n_layers=" + std::to_string(h.n_layers) + " n_heads=" + std::to_string(h.n_heads) +
         " n_kv_heads=" + std::to_string(h.n_kv_heads) +
         " vocab_size=" + std::to_string(h.vocab_size) + " seq_len=" + std::to_string(h.seq_len);
}

Status CheckRange(const std::string& what, const char* field, int32_t value, int32_t max) {
  if (value <= 0 || value > max) {
    return DataLossError(what + ": " + field + " = " + std::to_string(value) +
                         " is out of range (1.." + std::to_string(max) + ")");
  }
  return Status::Ok();
}

Status Validate(const Llama2cHeader& h, const std::string& what) {
  LITEQ_RETURN_IF_ERROR(CheckRange(what, "dim", h.dim, kMaxDim));
  LITEQ_RETURN_IF_ERROR(CheckRange(what, "hidden_dim", h.hidden_dim, kMaxDim));
  LITEQ_RETURN_IF_ERROR(CheckRange(what, "n_layers", h.n_layers, kMaxLayers));
  LITEQ_RETURN_IF_ERROR(CheckRange(what, "n_heads", h.n_heads, h.dim));
  LITEQ_RETURN_IF_ERROR(CheckRange(what, "n_kv_heads", h.n_kv_heads, h.n_heads));
  LITEQ_RETURN_IF_ERROR(CheckRange(what, "vocab_size", h.vocab_size, kMaxVocab));
  LITEQ_RETURN_IF_ERROR(CheckRange(what, "seq_len", h.seq_len, kMaxSeqLen));
  if (h.dim % h.n_heads != 0) {
    return DataLossError(what + ": n_heads = " + std::to_string(h.n_heads) +
                         " does not divide dim = " + std::to_string(h.dim));
  }
  if (h.n_heads % h.n_kv_heads != 0) {
    return DataLossError(what + ": n_kv_heads = " + std::to_string(h.n_kv_heads) +
                         " does not divide n_heads = " + std::to_string(h.n_heads));
  }
  if (h.head_dim() % 2 != 0) {  // RoPE rotates pairs of a head's dimensions
    return DataLossError(what + ": head_dim = dim / n_heads = " + std::to_string(h.head_dim()) +
                         " is odd");
  }
  return Status::Ok();
}

}  // namespace

Result<Llama2cHeader> ParseLlama2cHeader(std::span<const uint8_t> bytes, const std::string& path) {
  Llama2cHeader h;
  const uint8_t* p = bytes.data();
  std::string what;
  if (bytes.size() >= 8 && static_cast<uint32_t>(LoadI32(p)) == kLlama2cMagic) {
    const int32_t version = LoadI32(p + 4);
    if (version != 1) {
      // Version 2 is llama2.c's int8 (Q8_0) export.
      return UnimplementedError(path + ": llama2.c checkpoint version " + std::to_string(version) +
                                " is not supported (only 1, fp32)");
    }
    if (bytes.size() < kLlama2cV1HeaderBytes) {
      return DataLossError(path + ": llama2.c version 1 header: file has " +
                           std::to_string(bytes.size()) + " bytes, the header alone needs " +
                           std::to_string(kLlama2cV1HeaderBytes));
    }
    h.version = 1;
    h.header_bytes = kLlama2cV1HeaderBytes;
    p += 8;
    what = path + ": llama2.c version 1 header";
  } else {
    if (bytes.size() < kLlama2cLegacyHeaderBytes) {
      return DataLossError(path + ": not a recognised checkpoint: " + std::to_string(bytes.size()) +
                           " bytes is too short even for a llama2.c legacy header");
    }
    h.version = 0;
    h.header_bytes = kLlama2cLegacyHeaderBytes;
    // Without the magic the file is sniffed as a legacy export; if that fails, the
    // file may well be something else entirely, so say what was tried.
    what = path +
           ": not a recognised checkpoint (expected a Hugging Face model directory, a "
           ".safetensors file or a llama2.c .bin); read as a legacy llama2.c header";
  }
  h.dim = LoadI32(p);
  h.hidden_dim = LoadI32(p + 4);
  h.n_layers = LoadI32(p + 8);
  h.n_heads = LoadI32(p + 12);
  h.n_kv_heads = LoadI32(p + 16);
  h.vocab_size = LoadI32(p + 20);
  h.seq_len = LoadI32(p + 24);
  if (h.version == 1) {
    const uint8_t shared = bytes[36];
    if (shared > 1) {
      return DataLossError(what + ": shared_classifier byte is " + std::to_string(shared) +
                           ", expected 0 or 1");
    }
    h.shared_classifier = shared == 1;
  } else {
    // run.c: "negative vocab size is hacky way of signaling unshared weights".
    h.shared_classifier = h.vocab_size > 0;
    if (h.vocab_size < 0 && h.vocab_size > -kMaxVocab - 1) h.vocab_size = -h.vocab_size;
  }
  Status valid = Validate(h, what);
  if (!valid.ok()) return Status(valid.code(), valid.message() + " (" + HeaderText(h) + ")");
  return h;
}

nlohmann::json Llama2cToHfConfig(const Llama2cHeader& h) {
  // Field names and defaults follow transformers' LlamaConfig; llama2.c's model.py
  // fixes norm_eps = 1e-5 and RoPE theta = 10000, and its tokenizer uses BOS=1, EOS=2.
  return nlohmann::json{
      {"architectures", nlohmann::json::array({"LlamaForCausalLM"})},
      {"model_type", "llama"},
      {"hidden_size", h.dim},
      {"intermediate_size", h.hidden_dim},
      {"num_hidden_layers", h.n_layers},
      {"num_attention_heads", h.n_heads},
      {"num_key_value_heads", h.n_kv_heads},
      {"head_dim", h.head_dim()},
      {"vocab_size", h.vocab_size},
      {"max_position_embeddings", h.seq_len},
      {"rms_norm_eps", 1e-5},
      {"rope_parameters", {{"rope_theta", 10000.0}, {"rope_type", "default"}}},
      {"hidden_act", "silu"},
      {"attention_bias", false},
      {"mlp_bias", false},
      {"tie_word_embeddings", h.shared_classifier},
      {"bos_token_id", 1},
      {"eos_token_id", 2},
      {"dtype", "float32"},
      {"liteq_source_format", "llama2c"},
      {"liteq_llama2c_version", h.version},
  };
}

}  // namespace liteq::io
