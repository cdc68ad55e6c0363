#include "model/matformer.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <set>

#include "model/config.h"
#include "model/model.h"

namespace liteq::model {
namespace {

using nlohmann::json;

constexpr char kLayerPrefix[] = "model.layers.";
constexpr char kPerLayerTable[] = "model.embed_tokens_per_layer.weight";           // [V, L * P]
constexpr char kPerLayerProjection[] = "model.per_layer_model_projection.weight";  // [L * P, H]

std::string Str(int v) { return std::to_string(v); }

Result<std::vector<int>> IntList(const json& j, const std::string& source, const char* key) {
  std::vector<int> out;
  if (j.is_number_integer()) {
    out.push_back(j.get<int>());
  } else if (j.is_array()) {
    for (const json& v : j) {
      if (!v.is_number_integer()) {
        return InvalidArgumentError(source + ": '" + key + "' entries must be integers, got " +
                                    v.dump());
      }
      out.push_back(v.get<int>());
    }
  } else {
    return InvalidArgumentError(source + ": '" + key + "' must be an integer or a list of them");
  }
  return out;
}

// A tensor of the sub-model: a tensor of the full model, optionally cut to ranges of
// its rows (axis 0) or columns (axis 1) of a 2-D [rows, cols] layout.
struct SlicedTensor {
  std::string source;
  int axis = -1;                                    // -1: as stored
  std::vector<std::pair<int64_t, int64_t>> ranges;  // [begin, end) along `axis`
};

class MatformerCheckpoint : public io::Checkpoint {
 public:
  MatformerCheckpoint(std::shared_ptr<const io::Checkpoint> base, json config,
                      std::vector<io::TensorInfo> tensors, std::map<std::string, SlicedTensor> map)
      : base_(std::move(base)),
        config_(std::move(config)),
        tensors_(std::move(tensors)),
        map_(std::move(map)) {}

  const json& config() const override { return config_; }
  const std::string& path() const override { return base_->path(); }
  const std::vector<io::TensorInfo>& tensors() const override { return tensors_; }

  Result<std::span<const uint8_t>> RawBytes(const std::string& name) const override {
    LITEQ_ASSIGN_OR_RETURN(const SlicedTensor* s, Lookup(name));
    if (s->axis >= 0) {
      return FailedPreconditionError(path() + ": tensor '" + name +
                                     "' is a MatFormer slice; read it as float32");
    }
    return base_->RawBytes(s->source);
  }

  Status ReadFloat32(const std::string& name, std::span<float> out) const override {
    LITEQ_ASSIGN_OR_RETURN(const SlicedTensor* s, Lookup(name));
    if (s->axis < 0) return base_->ReadFloat32(s->source, out);
    const io::TensorInfo* info = base_->Find(s->source);
    if (info == nullptr || info->shape.size() != 2) {
      return InternalError("MatFormer slice of '" + s->source + "' needs a 2-D tensor");
    }
    LITEQ_ASSIGN_OR_RETURN(std::vector<float> all, base_->ReadFloat32(s->source));
    const int64_t rows = info->shape[0], cols = info->shape[1];
    size_t n = 0;
    auto put = [&](float v) -> bool {
      if (n >= out.size()) return false;
      out[n++] = v;
      return true;
    };
    bool fits = true;
    if (s->axis == 0) {
      for (const auto& [b, e] : s->ranges)
        for (int64_t r = b; r < e && fits; ++r)
          for (int64_t c = 0; c < cols && fits; ++c) fits = put(all[r * cols + c]);
    } else {
      for (int64_t r = 0; r < rows && fits; ++r)
        for (const auto& [b, e] : s->ranges)
          for (int64_t c = b; c < e && fits; ++c) fits = put(all[r * cols + c]);
    }
    if (!fits || n != out.size()) {
      return InvalidArgumentError(path() + ": MatFormer slice '" + name + "' has " +
                                  std::to_string(n) + " values, the output " +
                                  std::to_string(out.size()));
    }
    return Status::Ok();
  }

 private:
  Result<const SlicedTensor*> Lookup(const std::string& name) const {
    auto it = map_.find(name);
    if (it == map_.end()) return NotFoundError(path() + ": no tensor named '" + name + "'");
    return &it->second;
  }

  std::shared_ptr<const io::Checkpoint> base_;
  json config_;
  std::vector<io::TensorInfo> tensors_;
  std::map<std::string, SlicedTensor> map_;
};

// "model.layers.12.mlp.up_proj.weight" -> (12, "mlp.up_proj.weight"); false otherwise.
bool SplitLayerName(const std::string& name, int* layer, std::string* rest) {
  if (name.rfind(kLayerPrefix, 0) != 0) return false;
  const char* begin = name.data() + sizeof(kLayerPrefix) - 1;
  const char* end = name.data() + name.size();
  auto [ptr, ec] = std::from_chars(begin, end, *layer);
  if (ec != std::errc() || ptr == begin || ptr == end || *ptr != '.') return false;
  *rest = std::string(ptr + 1, end);
  return true;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> MatformerPresets() {
  return {{"full", "every layer at its full FFN width (no change; the baseline)"},
          {"half", "every FFN at half its width (rounded down), no layer skipped"}};
}

Result<MatformerLayout> ParseMatformerLayout(const json& j, const std::string& source) {
  if (!j.is_object()) return InvalidArgumentError(source + ": a MatFormer layout is a JSON object");
  MatformerLayout layout;
  layout.source = source;
  for (const auto& [key, value] : j.items()) {
    if (key == "ffn_widths") {
      LITEQ_ASSIGN_OR_RETURN(layout.ffn_widths, IntList(value, source, "ffn_widths"));
    } else if (key == "skip_layers") {
      if (!value.is_array()) return InvalidArgumentError(source + ": 'skip_layers' must be a list");
      LITEQ_ASSIGN_OR_RETURN(layout.skip_layers, IntList(value, source, "skip_layers"));
    } else {
      return InvalidArgumentError(source + ": unknown key '" + key +
                                  "' (a layout has 'ffn_widths' and 'skip_layers')");
    }
  }
  return layout;
}

Result<MatformerLayout> LoadMatformerLayout(const std::string& preset_or_file) {
  if (preset_or_file == "full" || preset_or_file == "half") {
    MatformerLayout layout;
    layout.source = preset_or_file;
    if (preset_or_file == "half") layout.width_fraction = 0.5;
    return layout;
  }
  if (!preset_or_file.empty() && preset_or_file[0] == '{') {  // inline JSON
    json j = json::parse(preset_or_file, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded())
      return InvalidArgumentError("--matformer " + preset_or_file + ": not valid JSON");
    return ParseMatformerLayout(j, preset_or_file);
  }
  std::ifstream in(preset_or_file);
  if (!in) {
    std::string presets;
    for (const auto& [name, d] : MatformerPresets())
      presets += (presets.empty() ? "" : ", ") + name;
    return NotFoundError("--matformer " + preset_or_file + ": neither a preset (" + presets +
                         "), inline JSON nor a readable JSON file");
  }
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgumentError(preset_or_file + ": not valid JSON");
  return ParseMatformerLayout(j, preset_or_file);
}

json MatformerPlan::ToJson(const MatformerLayout& layout) const {
  std::vector<int> skipped;
  for (int i = 0; i < static_cast<int>(full_widths.size()); ++i) {
    if (!std::binary_search(kept_layers.begin(), kept_layers.end(), i)) skipped.push_back(i);
  }
  return json{{"layout", layout.source},
              {"kept_layers", kept_layers},
              {"skip_layers", skipped},
              {"ffn_widths", ffn_widths},
              {"full_num_layers", full_widths.size()},
              {"full_ffn_widths", full_widths}};
}

Result<MatformerPlan> PlanMatformer(const io::Checkpoint& ckpt, const MatformerLayout& layout) {
  LITEQ_ASSIGN_OR_RETURN(ModelConfig full, ReadModelConfig(ckpt));
  const std::string where = "--matformer " + layout.source;
  if (full.family != Family::kGemma3n) {
    return InvalidArgumentError(where + ": MatFormer layouts apply to gemma3n_text models, " +
                                ckpt.path() + " is '" + full.model_type + "'");
  }
  const int n = full.num_layers;
  MatformerPlan plan;
  for (int i = 0; i < n; ++i) plan.full_widths.push_back(full.IntermediateSize(i));
  std::set<int> skip;
  for (int s : layout.skip_layers) {
    if (s < 0 || s >= n) {
      return InvalidArgumentError(where + ": skip_layers entry " + Str(s) +
                                  " is out of range (the model has layers 0.." + Str(n - 1) + ")");
    }
    if (!skip.insert(s).second) {
      return InvalidArgumentError(where + ": skip_layers lists layer " + Str(s) + " twice");
    }
  }
  for (int i = 0; i < n; ++i) {
    if (skip.count(i) == 0) plan.kept_layers.push_back(i);
  }
  if (plan.kept_layers.empty()) {
    return InvalidArgumentError(where + ": skip_layers removes all " + Str(n) + " layers");
  }
  const int kept = static_cast<int>(plan.kept_layers.size());
  const std::vector<int>& w = layout.ffn_widths;
  for (int k = 0; k < kept; ++k) {
    const int layer = plan.kept_layers[k];
    int width = plan.full_widths[layer];
    if (layout.width_fraction > 0) {
      width = std::max(1, static_cast<int>(width * layout.width_fraction));
    } else if (w.size() == 1) {
      width = w[0];
    } else if (static_cast<int>(w.size()) == n) {
      width = w[layer];
    } else if (static_cast<int>(w.size()) == kept) {
      width = w[k];
    } else if (!w.empty()) {
      return InvalidArgumentError(where + ": ffn_widths has " + Str(static_cast<int>(w.size())) +
                                  " entries; give one, one per layer (" + Str(n) +
                                  ") or one per kept layer (" + Str(kept) + ")");
    }
    if (width < 1 || width > plan.full_widths[layer]) {
      return InvalidArgumentError(where + ": FFN width " + Str(width) + " of layer " + Str(layer) +
                                  " is outside 1.." + Str(plan.full_widths[layer]) +
                                  " (its width in the full model)");
    }
    plan.ffn_widths.push_back(width);
  }

  // A kept KV-shared layer must still find the cache it reads in the full model.
  for (int layer : plan.kept_layers) {
    const int want = full.KvCacheLayer(layer);
    if (want != layer && skip.count(want) != 0) {
      return InvalidArgumentError(
          where + ": layer " + Str(layer) + " reads the KV cache of layer " + Str(want) +
          ", which is skipped; skip layer " + Str(layer) + " too or keep layer " + Str(want));
    }
  }

  // The sub-model's config.json: every per-layer key written out explicitly.
  json config = ckpt.config();
  json types = json::array(), sparsity = json::array();
  const json* pattern = config.contains("activation_sparsity_pattern") &&
                                config["activation_sparsity_pattern"].is_array()
                            ? &config["activation_sparsity_pattern"]
                            : nullptr;
  const int first_shared = n - full.num_kv_shared_layers;
  int shared = 0;
  for (int layer : plan.kept_layers) {
    types.push_back(full.layer_types[layer] == AttentionKind::kSliding ? "sliding_attention"
                                                                       : "full_attention");
    if (pattern != nullptr) sparsity.push_back((*pattern)[layer]);
    if (full.num_kv_shared_layers > 0 && layer >= first_shared) ++shared;
  }
  config["num_hidden_layers"] = kept;
  config["intermediate_size"] = plan.ffn_widths;
  config["layer_types"] = types;
  if (pattern != nullptr) config["activation_sparsity_pattern"] = sparsity;
  config["num_kv_shared_layers"] = shared;
  auto sub = ParseModelConfig(config, where + " (sub-model of " + ckpt.path() + ")");
  if (!sub.ok()) return sub.status();
  for (int k = 0; k < kept; ++k) {
    const int source = sub->KvCacheLayer(k);
    const int want = full.KvCacheLayer(plan.kept_layers[k]);
    if (source < 0 || plan.kept_layers[source] != want) {  // excluded by the check above
      return InternalError(where + ": KV sharing of layer " + Str(plan.kept_layers[k]) +
                           " changed in the sub-model");
    }
  }
  plan.config = std::move(config);
  return plan;
}

Result<std::shared_ptr<const io::Checkpoint>> ExtractMatformer(
    std::shared_ptr<const io::Checkpoint> ckpt, const MatformerPlan& plan) {
  LITEQ_ASSIGN_OR_RETURN(ModelConfig full, ReadModelConfig(*ckpt));
  const int n = full.num_layers;
  if (static_cast<int>(plan.full_widths.size()) != n || plan.kept_layers.empty() ||
      plan.kept_layers.size() != plan.ffn_widths.size()) {
    return InvalidArgumentError("MatFormer plan does not fit " + ckpt->path());
  }
  std::map<int, int> new_index;
  for (size_t k = 0; k < plan.kept_layers.size(); ++k) {
    new_index[plan.kept_layers[k]] = static_cast<int>(k);
  }
  // Column (table) / row (projection) blocks of the kept layers' per-layer inputs.
  const int64_t p = full.hidden_size_per_layer_input;
  std::vector<std::pair<int64_t, int64_t>> blocks;
  for (int layer : plan.kept_layers) blocks.push_back({layer * p, (layer + 1) * p});
  const bool skips = static_cast<int>(plan.kept_layers.size()) != n;

  std::vector<io::TensorInfo> tensors;
  std::map<std::string, SlicedTensor> map;
  for (const io::TensorInfo& t : ckpt->tensors()) {
    io::TensorInfo out = t;
    SlicedTensor s{.source = t.name};
    int layer = -1;
    std::string rest;
    if (SplitLayerName(t.name, &layer, &rest)) {
      auto it = new_index.find(layer);
      if (layer >= n || it == new_index.end()) continue;  // skipped layer
      out.name = kLayerPrefix + Str(it->second) + "." + rest;
      const int64_t width = plan.ffn_widths[it->second];
      if (width != plan.full_widths[layer]) {
        if (rest == "mlp.gate_proj.weight" || rest == "mlp.up_proj.weight") {
          s.axis = 0;
        } else if (rest == "mlp.down_proj.weight") {
          s.axis = 1;
        }
        if (s.axis >= 0) s.ranges = {{0, width}};
      }
    } else if (skips && t.name == kPerLayerTable) {
      s.axis = 1;
      s.ranges = blocks;
    } else if (skips && t.name == kPerLayerProjection) {
      s.axis = 0;
      s.ranges = blocks;
    }
    if (s.axis >= 0) {
      if (t.shape.size() != 2) {
        return InvalidArgumentError(ckpt->path() + ": tensor '" + t.name +
                                    "' is not 2-D; cannot take a MatFormer slice");
      }
      int64_t kept = 0;
      for (const auto& [b, e] : s.ranges) {
        if (e > t.shape[s.axis]) {
          return InvalidArgumentError(ckpt->path() + ": tensor '" + t.name + "' has " +
                                      std::to_string(t.shape[s.axis]) + " entries on axis " +
                                      Str(s.axis) + ", the layout needs " + std::to_string(e));
        }
        kept += e - b;
      }
      out.shape[s.axis] = kept;
      out.nbytes = static_cast<uint64_t>(out.num_elements()) * io::WeightDTypeSize(t.dtype);
      out.raw_layout_differs = true;
    }
    map[out.name] = std::move(s);
    tensors.push_back(std::move(out));
  }
  std::sort(tensors.begin(), tensors.end(),
            [](const io::TensorInfo& a, const io::TensorInfo& b) { return a.name < b.name; });
  return std::shared_ptr<const io::Checkpoint>(std::make_shared<MatformerCheckpoint>(
      std::move(ckpt), plan.config, std::move(tensors), std::move(map)));
}

}  // namespace liteq::model
