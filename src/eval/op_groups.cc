// Op groups by tensor name (sensitivity.h).
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "eval/sensitivity.h"

namespace liteq::eval {
namespace {

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

struct Classified {
  std::string kind;
  int layer = -1;
};

// The builder's names (src/model/blocks.cc, decoder.cc): "layers.N.attn.q",
// "layers.N.attn.norm.rsqrt", "layers.N.mlp.up", "layers.N.attn_residual", ...
Classified Classify(const std::string& name) {
  if (StartsWith(name, "embedding")) return {"embedding"};
  if (name == "logits" || StartsWith(name, "logits.") || StartsWith(name, "lm_head"))
    return {"lm_head"};
  if (StartsWith(name, "final_norm")) return {"final_norm"};
  if (!StartsWith(name, "layers.")) return {"other"};
  size_t i = 7;
  int layer = 0;
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return {"other"};
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
    layer = std::min(layer * 10 + (name[i] - '0'), 1 << 20);
  }
  if (i >= name.size() || name[i] != '.') return {"other"};
  const std::string rest = name.substr(i + 1);
  // The pre-attention / pre-MLP norm ("attn.norm", "mlp.norm" and their statistics)
  // travels with the projections that read its output: whether that output is int8 is
  // one quantization step, taken by the norm's last MUL (static int8 output) or by a
  // QUANTIZE in front of the projections (float norm, int8 projection). Keeping only one
  // of the pair float removes nothing, so a sweep over them separately finds no gain
  // (an outlier channel in the norm's weight wrecks exactly that step).
  // `sub` is the op `base` or one of its parts ("up" and "up.bias").
  auto is = [](const std::string& sub, const char* base) {
    return sub == base || StartsWith(sub, std::string(base) + ".");
  };
  auto is_pre_norm = [&](const std::string& sub) { return is(sub, "norm"); };
  auto is_other_norm = [](const std::string& sub) {
    return StartsWith(sub, "post_norm") || StartsWith(sub, "pre_norm");
  };
  if (StartsWith(rest, "attn.")) {
    const std::string sub = rest.substr(5);
    // The projections themselves; their reshapes into heads ("q_heads") are data
    // movement that follows the projection's output parameters.
    if (is_pre_norm(sub) || is(sub, "q") || is(sub, "k") || is(sub, "v") || is(sub, "qkv")) {
      return {"attn_in", layer};
    }
    if (is(sub, "o")) return {"attn_out", layer};
    if (is_other_norm(sub)) return {"norm", layer};
    return {"attn_core", layer};
  }
  if (StartsWith(rest, "mlp.")) {
    const std::string sub = rest.substr(4);
    if (is_pre_norm(sub) || is(sub, "gate") || is(sub, "up")) return {"mlp_in", layer};
    if (is_other_norm(sub)) return {"norm", layer};
    return {"mlp_out", layer};
  }
  return {"residual", layer};
}

}  // namespace

std::vector<OpGroup> DefineOpGroups(const graph::Model& float_model, GroupGranularity granularity) {
  std::set<std::string> names;
  for (const graph::Subgraph& sg : float_model.subgraphs) {
    for (const graph::Op& op : sg.ops) {
      for (int32_t t : op.outputs) {
        if (t < 0 || static_cast<size_t>(t) >= sg.tensors.size()) continue;
        if (sg.tensors[t].dtype == graph::DType::kFloat32) names.insert(sg.tensors[t].name);
      }
    }
  }
  std::map<std::pair<int, std::string>, OpGroup> groups;  // ordered by layer, then kind
  for (const std::string& name : names) {
    Classified c = Classify(name);
    const int layer = granularity == GroupGranularity::kLayer ? c.layer : -1;
    OpGroup& g = groups[{layer, c.kind}];
    if (g.name.empty()) {
      g.kind = c.kind;
      g.layer = layer;
      g.name = layer >= 0 ? "layers." + std::to_string(layer) + "." + c.kind : c.kind;
    }
    g.tensors.push_back(name);
  }
  std::vector<OpGroup> out;
  for (auto& [key, g] : groups) out.push_back(std::move(g));
  return out;
}

std::string FloatTensorsRegex(const std::vector<const OpGroup*>& groups) {
  std::string alternatives;
  for (const OpGroup* g : groups) {
    for (const std::string& name : g->tensors) {
      if (!alternatives.empty()) alternatives += '|';
      for (char c : name) {
        if (std::string("\\^$.|?*+()[]{}").find(c) != std::string::npos) alternatives += '\\';
        alternatives += c;
      }
    }
  }
  return alternatives.empty() ? std::string() : "^(?:" + alternatives + ")$";
}

std::string CombineRegex(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return "(?:" + a + ")|(?:" + b + ")";
}

}  // namespace liteq::eval
