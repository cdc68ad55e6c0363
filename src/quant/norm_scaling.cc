#include "quant/norm_scaling.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "quant/rewrite_util.h"

namespace liteq::quant {
namespace {

using graph::OpCode;

struct Use {
  uint32_t subgraph;
  int32_t op;
  size_t slot;
};

// A site candidate in one subgraph.
struct LocalSite {
  int32_t mul_op = -1;
  int32_t output = -1;
  uint32_t multiplier_buffer = 0;
  std::string multiplier_name;
  int64_t channels = 0;
  std::vector<int32_t> fc_ops;
};

int ParseLayer(const std::string& name) {
  const std::string key = "layers.";
  const size_t at = name.find(key);
  if (at == std::string::npos) return -1;
  size_t i = at + key.size();
  int layer = 0;
  bool digits = false;
  while (i < name.size() && name[i] >= '0' && name[i] <= '9' && layer < 1000000) {
    layer = layer * 10 + (name[i] - '0');
    digits = true;
    ++i;
  }
  return digits ? layer : -1;
}

NormSiteKind ParseKind(const std::string& name) {
  if (name.find(".attn.") != std::string::npos) return NormSiteKind::kAttention;
  if (name.find(".mlp.") != std::string::npos) return NormSiteKind::kMlp;
  return NormSiteKind::kOther;
}

// Candidates of one subgraph: MUL(activation, constant [d]) whose output only feeds
// FCs as their input, with constant [rows, d] weights.
std::vector<LocalSite> FindLocalSites(const graph::Model& model, uint32_t s) {
  const graph::Subgraph& sg = model.subgraphs[s];
  std::map<int32_t, std::vector<std::pair<int32_t, size_t>>> consumers;
  for (size_t o = 0; o < sg.ops.size(); ++o) {
    for (size_t k = 0; k < sg.ops[o].inputs.size(); ++k) {
      consumers[sg.ops[o].inputs[k]].emplace_back(static_cast<int32_t>(o), k);
    }
  }
  const std::set<int32_t> graph_outputs(sg.outputs.begin(), sg.outputs.end());
  auto valid = [&](int32_t t) { return t >= 0 && static_cast<size_t>(t) < sg.tensors.size(); };
  std::vector<LocalSite> out;
  for (size_t o = 0; o < sg.ops.size(); ++o) {
    const graph::Op& op = sg.ops[o];
    if (op.code != OpCode::kMul || op.inputs.size() != 2 || op.outputs.size() != 1) continue;
    if (!valid(op.inputs[0]) || !valid(op.inputs[1]) || !valid(op.outputs[0])) continue;
    const int konst = IsFloatConstant(model, sg.tensors[op.inputs[1]])   ? 1
                      : IsFloatConstant(model, sg.tensors[op.inputs[0]]) ? 0
                                                                         : -1;
    if (konst < 0) continue;
    const graph::Tensor& m = sg.tensors[op.inputs[konst]];
    const graph::Tensor& x = sg.tensors[op.inputs[1 - konst]];
    const graph::Tensor& y = sg.tensors[op.outputs[0]];
    if (x.buffer != 0 || m.shape.size() != 1 || x.shape.empty() || y.shape != x.shape ||
        m.shape[0] != x.shape.back() || m.shape[0] <= 0 ||
        model.buffers[m.buffer].size != static_cast<size_t>(m.shape[0]) * sizeof(float)) {
      continue;
    }
    const int32_t out_t = op.outputs[0];
    auto uses = consumers.find(out_t);
    if (uses == consumers.end() || graph_outputs.count(out_t) != 0) continue;
    LocalSite site{static_cast<int32_t>(o), out_t, m.buffer, m.name, m.shape[0], {}};
    bool ok = true;
    for (const auto& [c, slot] : uses->second) {
      const graph::Op& fc = sg.ops[static_cast<size_t>(c)];
      if (fc.code != OpCode::kFullyConnected || slot != 0 || fc.inputs.size() < 2 ||
          !valid(fc.inputs[1])) {
        ok = false;
        break;
      }
      const graph::Tensor& w = sg.tensors[fc.inputs[1]];
      if (!IsFloatConstant(model, w) || w.shape.size() != 2 || w.shape[1] != site.channels ||
          model.buffers[w.buffer].size != static_cast<size_t>(NumElements(w.shape)) * 4) {
        ok = false;
        break;
      }
      site.fc_ops.push_back(c);
    }
    if (ok) out.push_back(std::move(site));
  }
  return out;
}

}  // namespace

Result<std::vector<NormScalingSite>> FindNormScalingSites(const graph::Model& model) {
  // Candidates by multiplier buffer, from every subgraph.
  std::map<uint32_t, std::vector<std::pair<uint32_t, LocalSite>>> by_buffer;
  std::vector<uint32_t> order;  // multiplier buffers in first-seen order
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    for (LocalSite& site : FindLocalSites(model, s)) {
      if (by_buffer.count(site.multiplier_buffer) == 0) order.push_back(site.multiplier_buffer);
      by_buffer[site.multiplier_buffer].emplace_back(s, std::move(site));
    }
  }
  // Every use of every buffer, to check that the rewrite touches nothing else.
  std::map<uint32_t, std::vector<Use>> uses;
  std::set<uint32_t> in_graph_outputs;
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    const graph::Subgraph& sg = model.subgraphs[s];
    for (size_t o = 0; o < sg.ops.size(); ++o) {
      for (size_t k = 0; k < sg.ops[o].inputs.size(); ++k) {
        const int32_t t = sg.ops[o].inputs[k];
        if (t < 0 || static_cast<size_t>(t) >= sg.tensors.size()) continue;
        const uint32_t b = sg.tensors[t].buffer;
        if (b != 0) uses[b].push_back(Use{s, static_cast<int32_t>(o), k});
      }
    }
    for (int32_t t : sg.outputs) {
      if (t >= 0 && static_cast<size_t>(t) < sg.tensors.size() && sg.tensors[t].buffer != 0) {
        in_graph_outputs.insert(sg.tensors[t].buffer);
      }
    }
  }
  std::vector<NormScalingSite> sites;
  for (uint32_t mb : order) {
    const auto& locals = by_buffer[mb];
    // The ops this site may touch, per subgraph.
    std::set<std::pair<uint32_t, int32_t>> mul_ops, fc_ops;
    std::set<uint32_t> weight_buffers;
    NormScalingSite site;
    bool ok = true;
    for (const auto& [s, local] : locals) {
      const graph::Subgraph& sg = model.subgraphs[s];
      mul_ops.insert({s, local.mul_op});
      std::set<uint32_t> local_weights;
      for (int32_t c : local.fc_ops) {
        fc_ops.insert({s, c});
        local_weights.insert(sg.tensors[sg.ops[static_cast<size_t>(c)].inputs[1]].buffer);
      }
      if (site.norm_output.empty()) {
        site.norm_output = sg.tensors[local.output].name;
        site.channels = local.channels;
        site.multiplier_buffer = mb;
        site.multiplier_name = local.multiplier_name;
        weight_buffers = local_weights;
        for (int32_t c : local.fc_ops) {
          const graph::Tensor& w = sg.tensors[sg.ops[static_cast<size_t>(c)].inputs[1]];
          if (std::find(site.weight_buffers.begin(), site.weight_buffers.end(), w.buffer) ==
              site.weight_buffers.end()) {
            site.weight_buffers.push_back(w.buffer);
            site.weight_rows.push_back(w.shape[0]);
            site.weight_names.push_back(w.name);
          }
        }
      } else if (local_weights != weight_buffers || local.channels != site.channels) {
        ok = false;  // the subgraphs disagree on what the norm feeds
      }
    }
    auto only = [&](uint32_t b, const std::set<std::pair<uint32_t, int32_t>>& ops, size_t slot) {
      if (in_graph_outputs.count(b) != 0) return false;
      for (const Use& u : uses[b]) {
        if (ops.count({u.subgraph, u.op}) == 0) return false;
        if (slot != SIZE_MAX && u.slot != slot) return false;
      }
      return true;
    };
    ok = ok && only(mb, mul_ops, SIZE_MAX);
    for (uint32_t wb : weight_buffers) ok = ok && wb != mb && only(wb, fc_ops, 1);
    if (!ok) continue;
    site.layer = ParseLayer(site.norm_output);
    site.kind = ParseKind(site.norm_output);
    sites.push_back(std::move(site));
  }
  // Two sites sharing a weight buffer cannot both be scaled independently.
  std::map<uint32_t, int> weight_owner_count;
  for (const NormScalingSite& s : sites) {
    for (uint32_t b : s.weight_buffers) ++weight_owner_count[b];
  }
  std::erase_if(sites, [&](const NormScalingSite& s) {
    return std::any_of(s.weight_buffers.begin(), s.weight_buffers.end(),
                       [&](uint32_t b) { return weight_owner_count[b] > 1; });
  });
  return sites;
}


Status ScaleNormChannels(graph::Model& model, const NormScalingSite& site, std::span<const float> s,
                         const std::string& name_suffix) {
  LITEQ_RETURN_IF_ERROR(
      CheckChannelScales(s, site.channels, "norm scaling of '" + site.norm_output + "'"));
  const uint32_t nb = static_cast<uint32_t>(model.buffers.size());
  if (site.multiplier_buffer == 0 || site.multiplier_buffer >= nb) {
    return InvalidArgumentError("norm scaling: bad multiplier buffer");
  }
  auto scales = std::make_shared<const std::vector<float>>(s.begin(), s.end());
  model.buffers[site.multiplier_buffer] =
      EditedBuffer(model.buffers[site.multiplier_buffer], [scales](std::span<float> m) {
        for (size_t j = 0; j < m.size(); ++j) m[j] /= (*scales)[j];
      });
  RenameBufferTensors(model, site.multiplier_buffer, name_suffix);
  for (uint32_t wb : site.weight_buffers) {
    if (wb == 0 || wb >= nb) return InvalidArgumentError("norm scaling: bad weight buffer");
    model.buffers[wb] = EditedBuffer(model.buffers[wb], [scales](std::span<float> w) {
      const size_t cols = scales->size();
      for (size_t i = 0; i < w.size(); ++i) w[i] *= (*scales)[i % cols];
    });
    RenameBufferTensors(model, wb, name_suffix);
  }
  return Status::Ok();
}

Result<std::vector<float>> WeightColumnAbsMax(const graph::Model& model,
                                              const NormScalingSite& site) {
  std::vector<float> out(static_cast<size_t>(site.channels), 0.0f);
  for (uint32_t wb : site.weight_buffers) {
    if (wb == 0 || wb >= model.buffers.size()) return InvalidArgumentError("bad weight buffer");
    LITEQ_ASSIGN_OR_RETURN(std::vector<float> w, ReadFloats(model.buffers[wb]));
    for (size_t i = 0; i < w.size(); ++i) {
      float& m = out[i % out.size()];
      m = std::max(m, std::fabs(w[i]));
    }
  }
  return out;
}

}  // namespace liteq::quant
