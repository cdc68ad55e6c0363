#include "model/config_parse.h"

#include <algorithm>

namespace liteq::model::config_internal {
namespace {

// One rope parameter object: {rope_type|type, rope_theta, factor, ...}.
Status ParseRopeObject(const Keys& k, RopeConfig* rope) {
  LITEQ_ASSIGN_OR_RETURN(std::string type, k.String("rope_type", ""));
  if (type.empty()) {
    LITEQ_ASSIGN_OR_RETURN(type, k.String("type", "default"));
  }
  if (k.Has("rope_theta")) {
    LITEQ_ASSIGN_OR_RETURN(rope->theta, k.Number("rope_theta"));
  }
  rope->type = type;
  if (type == "default") return Status::Ok();
  if (type == "linear") {
    LITEQ_ASSIGN_OR_RETURN(rope->factor, k.Number("factor"));
    if (rope->factor <= 0) return k.Error("factor", "must be positive");
    return Status::Ok();
  }
  if (type == "llama3") {
    LITEQ_ASSIGN_OR_RETURN(rope->factor, k.Number("factor"));
    LITEQ_ASSIGN_OR_RETURN(rope->low_freq_factor, k.Number("low_freq_factor"));
    LITEQ_ASSIGN_OR_RETURN(rope->high_freq_factor, k.Number("high_freq_factor"));
    LITEQ_ASSIGN_OR_RETURN(rope->original_max_position_embeddings,
                           k.Number("original_max_position_embeddings"));
    if (rope->factor <= 0 || rope->low_freq_factor <= 0 ||
        rope->high_freq_factor <= rope->low_freq_factor ||
        rope->original_max_position_embeddings <= 0) {
      return k.Error("rope_type",
                     "llama3 needs factor > 0 and high_freq_factor > "
                     "low_freq_factor > 0 and original_max_position_embeddings > 0");
    }
    return Status::Ok();
  }
  return Status(StatusCode::kUnimplemented,
                k.source() + ": key '" + k.prefix() + "rope_type': RoPE type '" + type +
                    "' is not supported (supported: default, linear, llama3)");
}

}  // namespace

Status ParseRope(const json& j, const Keys& k, const RopeDefaults& d, bool local_global,
                 ModelConfig* c, double* partial) {
  c->rope_full = RopeConfig{};
  c->rope_full.theta = d.theta;
  *partial = d.partial;
  LITEQ_ASSIGN_OR_RETURN(*partial, k.Number("partial_rotary_factor", d.partial));
  if (k.Has("rope_parameters")) {
    const json& rp = j.at("rope_parameters");
    if (!rp.is_object()) return k.Error("rope_parameters", "must be an object");
    if (rp.contains("full_attention") || rp.contains("sliding_attention")) {
      const char* kinds[2] = {"full_attention", "sliding_attention"};
      RopeConfig* targets[2] = {&c->rope_full, &c->rope_sliding};
      c->rope_sliding = RopeConfig{};
      c->rope_sliding.theta = d.local_theta;
      for (int i = 0; i < 2; ++i) {
        if (!rp.contains(kinds[i])) continue;
        const json& sub = rp.at(kinds[i]);
        if (!sub.is_object()) {
          return k.Error("rope_parameters",
                         std::string("entry '") + kinds[i] + "' must be an object");
        }
        const Keys sk(sub, k.source(), std::string("rope_parameters.") + kinds[i] + ".");
        LITEQ_RETURN_IF_ERROR(ParseRopeObject(sk, targets[i]));
        if (i == 0) {
          LITEQ_ASSIGN_OR_RETURN(*partial, sk.Number("partial_rotary_factor", *partial));
        }
      }
      if (!rp.contains("full_attention")) c->rope_full = c->rope_sliding;
      if (!rp.contains("sliding_attention")) c->rope_sliding = c->rope_full;
      return Status::Ok();
    }
    const Keys rk(rp, k.source(), "rope_parameters.");
    LITEQ_RETURN_IF_ERROR(ParseRopeObject(rk, &c->rope_full));
    LITEQ_ASSIGN_OR_RETURN(*partial, rk.Number("partial_rotary_factor", *partial));
    c->rope_sliding = c->rope_full;
    if (local_global) {  // old-style local frequency may still sit beside rope_parameters
      c->rope_sliding = RopeConfig{};
      LITEQ_ASSIGN_OR_RETURN(c->rope_sliding.theta,
                             k.Number("rope_local_base_freq", d.local_theta));
    }
    return Status::Ok();
  }
  // Older keys.
  LITEQ_ASSIGN_OR_RETURN(c->rope_full.theta, k.Number("rope_theta", d.theta));
  if (k.Has("rope_scaling")) {
    const json& rs = j.at("rope_scaling");
    if (!rs.is_object()) return k.Error("rope_scaling", "must be an object or null");
    const double theta = c->rope_full.theta;
    LITEQ_RETURN_IF_ERROR(ParseRopeObject(Keys(rs, k.source(), "rope_scaling."), &c->rope_full));
    c->rope_full.theta = theta;  // rope_scaling never carries the base
  }
  c->rope_sliding = c->rope_full;
  if (local_global) {
    // Gemma 3: sliding layers use the plain local base frequency, without scaling.
    c->rope_sliding = RopeConfig{};
    LITEQ_ASSIGN_OR_RETURN(c->rope_sliding.theta, k.Number("rope_local_base_freq", d.local_theta));
  }
  return Status::Ok();
}

Result<std::vector<int>> ParseTokenIds(const Keys& k, const json& j, const char* key) {
  std::vector<int> ids;
  if (!k.Has(key)) return ids;
  const json& v = j.at(key);
  if (v.is_array()) {
    for (const json& e : v) {
      if (!e.is_number_integer()) return k.Error(key, "must hold integers, got " + v.dump());
      ids.push_back(e.get<int>());
    }
    return ids;
  }
  LITEQ_ASSIGN_OR_RETURN(int id, k.Int(key));
  ids.push_back(id);
  return ids;
}

Status ParseLayerTypes(const json& j, const Keys& k, ModelConfig* c) {
  const int n = c->num_layers;
  c->layer_types.assign(n, AttentionKind::kFull);
  if (k.Has("layer_types")) {
    const json& lt = j.at("layer_types");
    if (!lt.is_array() || static_cast<int>(lt.size()) != n) {
      return k.Error("layer_types",
                     "must be a list of num_hidden_layers (" + std::to_string(n) + ") strings");
    }
    for (int i = 0; i < n; ++i) {
      const std::string t = lt[i].is_string() ? lt[i].get<std::string>() : lt[i].dump();
      if (t == "full_attention") {
        c->layer_types[i] = AttentionKind::kFull;
      } else if (t == "sliding_attention") {
        c->layer_types[i] = AttentionKind::kSliding;
      } else {
        return Status(StatusCode::kUnimplemented, k.source() + ": key 'layer_types': entry " +
                                                      std::to_string(i) + " '" + t +
                                                      "' is not supported");
      }
    }
  } else if (c->model_type == "gemma2") {
    // Gemma2DecoderLayer: is_sliding = not bool(layer_idx % 2).
    for (int i = 0; i < n; ++i) {
      if (i % 2 == 0) c->layer_types[i] = AttentionKind::kSliding;
    }
  } else if (c->model_type == "gemma3_text") {
    int pattern = 6;
    if (k.Has("sliding_window_pattern")) {
      LITEQ_ASSIGN_OR_RETURN(pattern, k.Int("sliding_window_pattern"));
    } else {
      LITEQ_ASSIGN_OR_RETURN(pattern, k.Int("_sliding_window_pattern", 6));
    }
    if (pattern <= 0) return k.Error("sliding_window_pattern", "must be positive");
    // Every pattern-th layer is global: sliding iff (i + 1) % pattern != 0.
    for (int i = 0; i < n; ++i) {
      if ((i + 1) % pattern != 0) c->layer_types[i] = AttentionKind::kSliding;
    }
  } else if (c->model_type == "qwen2" || c->model_type == "qwen3") {
    LITEQ_ASSIGN_OR_RETURN(int max_window_layers, k.Int("max_window_layers", 28));
    for (int i = 0; i < n; ++i) {
      if (c->sliding_window > 0 && i >= max_window_layers) {
        c->layer_types[i] = AttentionKind::kSliding;
      }
    }
  } else if (c->sliding_window > 0) {
    // mistral, phi3: a sliding_window applies to every layer.
    c->layer_types.assign(n, AttentionKind::kSliding);
  }
  if (c->HasSliding() && c->sliding_window <= 0) {
    return k.Error("sliding_window",
                   "must be a positive integer when layers use "
                   "sliding_attention");
  }
  return Status::Ok();
}

Status ParseIntermediateSizes(const json& j, const Keys& k, ModelConfig* c) {
  const int n = c->num_layers;
  if (n <= 0) return k.Error("num_hidden_layers", "must be positive");
  if (k.Has("intermediate_size") && j.at("intermediate_size").is_array()) {
    const json& list = j.at("intermediate_size");
    if (static_cast<int>(list.size()) != n) {
      return k.Error("intermediate_size",
                     "must list num_hidden_layers (" + std::to_string(n) + ") widths");
    }
    for (const json& v : list) {
      if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (1 << 28)) {
        return k.Error("intermediate_size", "entries must be positive integers, got " + v.dump());
      }
      c->intermediate_sizes.push_back(v.get<int>());
    }
  } else {
    LITEQ_ASSIGN_OR_RETURN(int width, k.Int("intermediate_size", 16384));
    c->intermediate_sizes.assign(n, width);
  }
  c->intermediate_size = 0;
  for (int w : c->intermediate_sizes) c->intermediate_size = std::max(c->intermediate_size, w);
  return Status::Ok();
}

Status ParseGemma3n(const json& j, const Keys& k, ModelConfig* c) {
  const int n = c->num_layers;
  // Gemma3nTextConfig defaults.
  LITEQ_ASSIGN_OR_RETURN(c->altup_num_inputs, k.Int("altup_num_inputs", 4));
  LITEQ_ASSIGN_OR_RETURN(c->altup_active_idx, k.Int("altup_active_idx", 0));
  LITEQ_ASSIGN_OR_RETURN(c->altup_correct_scale, k.Bool("altup_correct_scale", true));
  // An explicit null disables the clamp (AltUp.correct: `if altup_coef_clip is not None`).
  const double clip_default = j.contains("altup_coef_clip") ? 0.0 : 120.0;
  LITEQ_ASSIGN_OR_RETURN(double clip, k.Number("altup_coef_clip", clip_default));
  c->altup_coef_clip = static_cast<float>(clip);
  LITEQ_ASSIGN_OR_RETURN(c->laurel_rank, k.Int("laurel_rank", 64));
  LITEQ_ASSIGN_OR_RETURN(c->hidden_size_per_layer_input, k.Int("hidden_size_per_layer_input", 256));
  LITEQ_ASSIGN_OR_RETURN(c->vocab_size_per_layer_input,
                         k.Int("vocab_size_per_layer_input", 262144));
  LITEQ_ASSIGN_OR_RETURN(c->num_kv_shared_layers, k.Int("num_kv_shared_layers", 15));
  if (c->altup_num_inputs < 1 || c->altup_num_inputs > 64) {
    return k.Error("altup_num_inputs", "must be in [1, 64]");
  }
  if (c->altup_active_idx < 0 || c->altup_active_idx >= c->altup_num_inputs) {
    return k.Error("altup_active_idx", "must index one of the altup_num_inputs streams");
  }
  if (c->altup_coef_clip < 0) return k.Error("altup_coef_clip", "must not be negative");
  if (c->laurel_rank <= 0) return k.Error("laurel_rank", "must be positive");
  if (c->hidden_size_per_layer_input <= 0) {
    return k.Error("hidden_size_per_layer_input", "must be positive");
  }
  if (c->vocab_size_per_layer_input <= 0) {
    return k.Error("vocab_size_per_layer_input", "must be positive");
  }
  if (int64_t{n} * c->hidden_size_per_layer_input * c->vocab_size_per_layer_input >=
      (int64_t{1} << 31)) {
    return k.Error("vocab_size_per_layer_input", "gives a per-layer table that is too large");
  }
  if (c->num_kv_shared_layers < 0 || c->num_kv_shared_layers > n) {
    return k.Error("num_kv_shared_layers", "must be in [0, num_hidden_layers]");
  }
  for (int i = 0; i < n; ++i) {
    if (c->KvCacheLayer(i) < 0) {
      return k.Error("num_kv_shared_layers", "leaves layer " + std::to_string(i) +
                                                 " without an earlier layer of its type to share");
    }
  }
  // Gemma3nTextConfig: None means no sparsity anywhere; otherwise one value per layer.
  c->activation_sparsity.assign(n, 0.0f);
  if (k.Has("activation_sparsity_pattern")) {
    const json& asp = j.at("activation_sparsity_pattern");
    if (!asp.is_array() || static_cast<int>(asp.size()) != n) {
      return k.Error("activation_sparsity_pattern",
                     "must list num_hidden_layers (" + std::to_string(n) + ") values");
    }
    for (int i = 0; i < n; ++i) {
      if (!asp[i].is_number() || !(asp[i].get<double>() >= 0.0 && asp[i].get<double>() < 1.0)) {
        return k.Error("activation_sparsity_pattern",
                       "entries must be in [0, 1), got " + asp[i].dump());
      }
      c->activation_sparsity[i] = asp[i].get<float>();
    }
  }
  return Status::Ok();
}

}  // namespace liteq::model::config_internal
