// The decoder skeleton shared by every family: signature inputs, RoPE tables, the
// attention masks and cache start index, embeddings, the layer loop (delegated to the
// family's Architecture), the final norm, the lm head, outputs and metadata.
#include <algorithm>
#include <filesystem>
#include <limits>
#include <set>

#include "model/architecture.h"
#include "model/blocks.h"
#include "model/model.h"
#include "model/rope.h"

namespace liteq::model {
namespace {

using graph::DType;
using graph::GraphBuilder;

// Added to the scores of masked keys; softmax gives them exactly 0 weight. The
// float minimum, as transformers' eager masks use (torch.finfo(float32).min).
constexpr float kMaskedScore = std::numeric_limits<float>::lowest();

std::unique_ptr<Architecture> MakeArchitecture(const ModelConfig& cfg) {
  switch (cfg.family) {
    case Family::kLlama:
      return MakeLlamaArchitecture(cfg);
    case Family::kGemma:
      return MakeGemmaArchitecture(cfg);
    case Family::kPhi3:
      return MakePhi3Architecture(cfg);
    case Family::kPhi:
      return MakePhiArchitecture(cfg);
    case Family::kStableLm:
      return MakeStableLmArchitecture(cfg);
    case Family::kFalcon:
      return MakeFalconArchitecture(cfg);
    case Family::kGemma3n:
      return MakeGemma3nArchitecture(cfg);
  }
  return nullptr;
}

Status ValidateOptions(const ExportOptions& opts) {
  if (opts.max_seq < 1 || opts.max_seq > (1 << 20)) {
    return InvalidArgumentError("max_seq must be in [1, 1048576], got " +
                                std::to_string(opts.max_seq));
  }
  if (opts.prefill_lengths.empty()) {
    return InvalidArgumentError("at least one prefill length is needed");
  }
  std::set<int> seen;
  for (int t : opts.prefill_lengths) {
    if (t < 1 || t > opts.max_seq) {
      return InvalidArgumentError("prefill length " + std::to_string(t) +
                                  " must be in [1, max_seq=" + std::to_string(opts.max_seq) + "]");
    }
    if (!seen.insert(t).second) {
      return InvalidArgumentError("prefill length " + std::to_string(t) + " given twice");
    }
  }
  return Status::Ok();
}

// RoPE rows for this signature's positions: gather [T, rot/2] from the constant
// tables, then [cos, cos] and [-sin, sin] as [1, T, 1, rot].
RopeTensors BuildRope(DecoderContext& ctx, const RopeConfig& rope, const std::string& name) {
  GraphBuilder& b = ctx.b;
  const int half = ctx.cfg.rotary_dim / 2;
  const int s = ctx.max_seq;
  // Key names the table contents: parameters, dims and length.
  const std::string key = "rope." + nlohmann::json{{"type", rope.type},
                                                   {"theta", rope.theta},
                                                   {"factor", rope.factor},
                                                   {"low", rope.low_freq_factor},
                                                   {"high", rope.high_freq_factor},
                                                   {"orig", rope.original_max_position_embeddings},
                                                   {"dim", ctx.cfg.rotary_dim},
                                                   {"rows", s}}
                                        .dump();
  GraphBuilder::Scope scope(b, name);
  RopeTables tables;
  auto tables_once = [&]() -> RopeTables& {
    if (tables.cos.empty()) tables = ComputeRopeTables(rope, ctx.cfg.rotary_dim, s);
    return tables;
  };
  const TensorId cos_table = b.Constant(
      key + ".cos", DType::kFloat32, {s, half},
      [&] { return graph::Buffer::FromValues(tables_once().cos); }, name + ".cos_table");
  const TensorId sin_table = b.Constant(
      key + ".sin", DType::kFloat32, {s, half},
      [&] { return graph::Buffer::FromValues(tables_once().sin); }, name + ".sin_table");
  const TensorId cos = b.Gather(cos_table, ctx.input_pos, 0, "cos_half");
  const TensorId sin = b.Gather(sin_table, ctx.input_pos, 0, "sin_half");
  const TensorId cos_full = b.Concat({cos, cos}, 1, "cos_full");
  const TensorId sin_full = b.Concat({b.Neg(sin, "neg_sin"), sin}, 1, "sin_signed_full");
  RopeTensors r;
  r.cos = b.Reshape(cos_full, {1, ctx.tokens, 1, ctx.cfg.rotary_dim}, "cos");
  r.sin_signed = b.Reshape(sin_full, {1, ctx.tokens, 1, ctx.cfg.rotary_dim}, "sin_signed");
  return r;
}

// Additive mask [T, S]: key j is visible to query t iff j <= input_pos[t] (and
// j > input_pos[t] - window for sliding layers: transformers masking_utils
// sliding_window_overlay, kv_idx > q_idx - sliding_window).
TensorId BuildMask(DecoderContext& ctx, AttentionKind kind) {
  GraphBuilder& b = ctx.b;
  const int s = ctx.max_seq;
  const bool sliding = kind == AttentionKind::kSliding;
  GraphBuilder::Scope scope(b, sliding ? "sliding_mask" : "causal_mask");
  std::vector<int32_t> key_pos(s);
  for (int j = 0; j < s; ++j) key_pos[j] = j;
  const TensorId keys = b.ConstInt32(key_pos, {s}, "key_positions");
  const TensorId query = b.Reshape(ctx.input_pos, {ctx.tokens, 1}, "query_positions");
  TensorId visible = b.LessEqual(keys, query, "causal");
  if (sliding) {
    const TensorId window = b.ConstInt32({ctx.cfg.sliding_window}, {1});
    const TensorId oldest = b.Sub(query, window, "window_start");
    visible = b.LogicalAnd(visible, b.Greater(keys, oldest, "in_window"), "visible");
  }
  return b.SelectV2(visible, b.ScalarFloat(0.0f), b.ScalarFloat(kMaskedScore), "additive");
}

std::string ConfigSource(const io::Checkpoint& ckpt) {
  std::error_code ec;
  if (std::filesystem::is_directory(ckpt.path(), ec)) {
    return (std::filesystem::path(ckpt.path()) / "config.json").string();
  }
  return ckpt.path() + " (config)";
}

// One signature: subgraph `key` with T = tokens.
void BuildSignature(GraphBuilder& b, Weights& w, const ModelConfig& cfg, const Architecture& arch,
                    const std::string& key, int tokens, int max_seq) {
  const uint32_t sg = b.BeginSubgraph(key);
  DecoderContext ctx{b, w, cfg};
  ctx.tokens = tokens;
  ctx.max_seq = max_seq;
  const int layers = cfg.num_layers;
  graph::Signature sig;
  sig.key = key;
  sig.subgraph = sg;

  const TensorId token_ids = b.Input("tokens", DType::kInt32, {1, tokens});
  ctx.token_ids = token_ids;
  ctx.input_pos = b.Input("input_pos", DType::kInt32, {tokens});
  sig.inputs.emplace_back("tokens", token_ids);
  sig.inputs.emplace_back("input_pos", ctx.input_pos);
  const graph::Shape cache_shape = {1, max_seq, cfg.num_kv_heads, cfg.head_dim};
  ctx.k_cache_in.assign(layers, -1);
  ctx.v_cache_in.assign(layers, -1);
  for (int i = 0; i < layers; ++i) {
    if (!cfg.OwnsKvCache(i)) continue;  // KV-shared layers read another layer's cache
    const std::string k = "kv_cache_k_" + std::to_string(i);
    const std::string v = "kv_cache_v_" + std::to_string(i);
    ctx.k_cache_in[i] = b.Input(k, DType::kFloat32, cache_shape);
    ctx.v_cache_in[i] = b.Input(v, DType::kFloat32, cache_shape);
    sig.inputs.emplace_back(k, ctx.k_cache_in[i]);
    sig.inputs.emplace_back(v, ctx.v_cache_in[i]);
  }
  ctx.k_cache_out.assign(layers, -1);
  ctx.v_cache_out.assign(layers, -1);

  // Shared per-signature tensors: cache start (0, input_pos[0], 0, 0), RoPE, masks.
  {
    GraphBuilder::Scope scope(b, "cache_start");
    const TensorId first = b.Slice(ctx.input_pos, {0}, {1}, "first_pos");
    const TensorId zero = b.ConstInt32({0}, {1});
    ctx.cache_start = b.Concat({zero, first, zero, zero}, 0, "indices");
  }
  const bool sliding = cfg.HasSliding();
  bool full = false;
  for (AttentionKind t : cfg.layer_types) full = full || t == AttentionKind::kFull;
  const int kFull = static_cast<int>(AttentionKind::kFull);
  const int kSliding = static_cast<int>(AttentionKind::kSliding);
  if (full) {
    ctx.rope[kFull] = BuildRope(ctx, cfg.rope_full, "rope");
    ctx.mask[kFull] = BuildMask(ctx, AttentionKind::kFull);
  }
  if (sliding) {
    ctx.rope[kSliding] = full && cfg.rope_sliding == cfg.rope_full
                             ? ctx.rope[kFull]
                             : BuildRope(ctx, cfg.rope_sliding, full ? "rope_local" : "rope");
    ctx.mask[kSliding] = BuildMask(ctx, AttentionKind::kSliding);
  }

  const TopLevelNames names = arch.names();
  const TensorId table = w.Get(names.embedding, {cfg.vocab_size, cfg.hidden_size});
  TensorId x = b.Gather(table, token_ids, 0, "embedding.lookup");
  if (cfg.embedding_scale != 1.0f) {
    x = b.Mul(x, b.ScalarFloat(cfg.embedding_scale), "embedding.output");
  } else {
    b.Rename(x, "embedding.output");
  }
  x = arch.BeforeLayers(ctx, x);
  for (int i = 0; i < layers; ++i) {
    GraphBuilder::Scope scope(b, "layers." + std::to_string(i));
    x = arch.Layer(ctx, i, x);
    b.Rename(x, b.ScopedName("output"));
  }
  x = arch.AfterLayers(ctx, x);
  x = Norm(ctx, x, names.final_norm, "final_norm");
  b.Rename(x, "final_norm.output");
  const TensorId head =
      cfg.tie_word_embeddings ? table : w.Get(names.lm_head, {cfg.vocab_size, cfg.hidden_size});
  const TensorId head_bias =
      names.lm_head_bias.empty() ? -1 : w.Get(names.lm_head_bias, {cfg.vocab_size});
  TensorId logits = b.FullyConnected(x, head, head_bias, true, "lm_head");
  if (cfg.final_logit_softcap != 0) {
    // Gemma2: logits = tanh(logits / cap) * cap.
    const float cap = cfg.final_logit_softcap;
    logits = b.Mul(logits, b.ScalarFloat(1.0f / cap), "lm_head.over_cap");
    logits = b.Tanh(logits, "lm_head.tanh");
    logits = b.Mul(logits, b.ScalarFloat(cap), "logits");
  } else {
    b.Rename(logits, "logits");
  }

  b.MarkOutput(logits);
  sig.outputs.emplace_back("logits", logits);
  for (int i = 0; i < layers; ++i) {
    if (!cfg.OwnsKvCache(i)) continue;
    if (ctx.k_cache_out[i] < 0 || ctx.v_cache_out[i] < 0) {
      b.Fail(InternalError("layer " + std::to_string(i) + " did not update its KV cache"));
      return;
    }
    b.MarkOutput(ctx.k_cache_out[i]);
    b.MarkOutput(ctx.v_cache_out[i]);
    sig.outputs.emplace_back("kv_cache_k_" + std::to_string(i), ctx.k_cache_out[i]);
    sig.outputs.emplace_back("kv_cache_v_" + std::to_string(i), ctx.v_cache_out[i]);
  }
  b.model().signatures.push_back(std::move(sig));
}

}  // namespace

Result<ModelConfig> ReadModelConfig(const io::Checkpoint& ckpt) {
  return ParseModelConfig(ckpt.config(), ConfigSource(ckpt));
}

Result<graph::Model> BuildModel(std::shared_ptr<const io::Checkpoint> ckpt,
                                const ExportOptions& opts) {
  if (ckpt == nullptr) return InvalidArgumentError("BuildModel: no checkpoint");
  LITEQ_RETURN_IF_ERROR(ValidateOptions(opts));
  LITEQ_ASSIGN_OR_RETURN(ModelConfig cfg, ReadModelConfig(*ckpt));
  std::unique_ptr<Architecture> arch = MakeArchitecture(cfg);
  if (arch == nullptr) return InternalError("no architecture for " + cfg.model_type);

  graph::Model model;
  model.description = "liteq export of " + cfg.model_type + " (" + ckpt->path() + ")";
  GraphBuilder b(model);
  Weights w(b, ckpt);
  std::vector<int> lengths = opts.prefill_lengths;
  std::sort(lengths.begin(), lengths.end());
  for (int t : lengths) {
    const std::string key = lengths.size() == 1 ? "prefill" : "prefill_" + std::to_string(t);
    BuildSignature(b, w, cfg, *arch, key, t, opts.max_seq);
  }
  BuildSignature(b, w, cfg, *arch, "decode", 1, opts.max_seq);
  if (!b.ok()) return b.status();

  model.metadata[kConfigMetadataKey] = cfg.ToJson().dump();
  nlohmann::json signatures = nlohmann::json::object();
  for (const auto& s : model.signatures) {
    signatures[s.key] = {
        {"tokens", model.subgraphs[s.subgraph].tensors[s.inputs[0].second].shape[1]}};
  }
  model.metadata[kExportMetadataKey] = nlohmann::json{
      {"max_seq", opts.max_seq},
      {"prefill_lengths", lengths},
      {"signatures", signatures},
      {"kv_cache_shape", {1, opts.max_seq, cfg.num_kv_heads, cfg.head_dim}},
      {"source", ckpt->path()}}.dump();
  model.metadata[kTokenizerMetadataKey] = nlohmann::json{
      {"bos_token_id", cfg.bos_token_id},
      {"eos_token_ids", cfg.eos_token_ids},
      {"pad_token_id", cfg.pad_token_id}}.dump();
  return model;
}

}  // namespace liteq::model
