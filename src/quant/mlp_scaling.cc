#include "quant/mlp_scaling.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <utility>
#include <variant>

#include "quant/rewrite_util.h"

namespace liteq::quant {
namespace {

using graph::OpCode;

bool NoActivation(const graph::Op& op) {
  if (const auto* o = std::get_if<graph::FullyConnectedOptions>(&op.options)) {
    return o->activation == graph::Activation::kNone;
  }
  if (const auto* o = std::get_if<graph::BinaryOptions>(&op.options)) {
    return o->activation == graph::Activation::kNone;
  }
  return std::holds_alternative<graph::NoOptions>(op.options);
}

// A site of one subgraph, by the ops it touches.
struct LocalSite {
  MlpScalingSite site;
  int32_t up_op = -1, mul_op = -1, down_op = -1;
};

std::vector<LocalSite> FindLocal(const graph::Model& model, uint32_t s) {
  const graph::Subgraph& sg = model.subgraphs[s];
  std::map<int32_t, std::vector<std::pair<int32_t, size_t>>> readers;
  std::map<int32_t, int32_t> producer;
  for (size_t o = 0; o < sg.ops.size(); ++o) {
    for (size_t k = 0; k < sg.ops[o].inputs.size(); ++k) {
      readers[sg.ops[o].inputs[k]].emplace_back(static_cast<int32_t>(o), k);
    }
    for (int32_t t : sg.ops[o].outputs) producer[t] = static_cast<int32_t>(o);
  }
  const std::set<int32_t> outputs(sg.outputs.begin(), sg.outputs.end());
  auto valid = [&](int32_t t) { return t >= 0 && static_cast<size_t>(t) < sg.tensors.size(); };
  // The only reader of t, when there is exactly one and t is no graph output.
  auto sole_reader = [&](int32_t t) -> std::pair<int32_t, size_t> {
    auto it = readers.find(t);
    if (it == readers.end() || it->second.size() != 1 || outputs.count(t) != 0) return {-1, 0};
    return it->second[0];
  };
  std::vector<LocalSite> out;
  for (size_t d = 0; d < sg.ops.size(); ++d) {
    const graph::Op& down = sg.ops[d];
    if (down.code != OpCode::kFullyConnected || down.inputs.size() < 2 || !valid(down.inputs[0]) ||
        !valid(down.inputs[1]) || (down.inputs.size() > 2 && down.inputs[2] >= 0)) {
      continue;
    }
    const graph::Tensor& w_down = sg.tensors[down.inputs[1]];
    const int32_t h = down.inputs[0];
    if (!IsFloatConstant(model, w_down) || w_down.shape.size() != 2) continue;
    if (sole_reader(h) != std::pair<int32_t, size_t>{static_cast<int32_t>(d), 0}) continue;
    auto p = producer.find(h);
    if (p == producer.end()) continue;
    const graph::Op& mul = sg.ops[static_cast<size_t>(p->second)];
    if (mul.code != OpCode::kMul || mul.inputs.size() != 2 || !NoActivation(mul)) continue;
    for (int side = 0; side < 2; ++side) {
      const int32_t up_out = mul.inputs[side];
      if (!valid(up_out) || !valid(mul.inputs[1 - side])) continue;
      if (sg.tensors[up_out].shape != sg.tensors[h].shape ||
          sg.tensors[mul.inputs[1 - side]].shape != sg.tensors[h].shape) {
        continue;  // no broadcasting: channel c of up is channel c of h
      }
      if (sole_reader(up_out).first != p->second) continue;
      auto u = producer.find(up_out);
      if (u == producer.end()) continue;
      const graph::Op& up = sg.ops[static_cast<size_t>(u->second)];
      if (up.code != OpCode::kFullyConnected || up.inputs.size() < 2 || !valid(up.inputs[1]) ||
          (up.inputs.size() > 2 && up.inputs[2] >= 0) || !NoActivation(up)) {
        continue;
      }
      const graph::Tensor& w_up = sg.tensors[up.inputs[1]];
      if (!IsFloatConstant(model, w_up) || w_up.shape.size() != 2 ||
          w_up.shape[0] != w_down.shape[1] || w_up.buffer == w_down.buffer) {
        continue;
      }
      LocalSite local;
      local.site.hidden = sg.tensors[h].name;
      local.site.channels = w_up.shape[0];
      local.site.up_buffer = w_up.buffer;
      local.site.down_buffer = w_down.buffer;
      local.site.up_columns = w_up.shape[1];
      local.up_op = u->second;
      local.mul_op = p->second;
      local.down_op = static_cast<int32_t>(d);
      out.push_back(std::move(local));
      break;
    }
  }
  return out;
}

}  // namespace

Result<std::vector<MlpScalingSite>> FindMlpScalingSites(const graph::Model& model) {
  // Per (up, down) buffer pair: the ops of every subgraph that use them.
  std::map<std::pair<uint32_t, uint32_t>, std::set<std::pair<uint32_t, int32_t>>> site_ops;
  std::map<std::pair<uint32_t, uint32_t>, MlpScalingSite> first;
  std::vector<std::pair<uint32_t, uint32_t>> order;
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    for (const LocalSite& l : FindLocal(model, s)) {
      const std::pair<uint32_t, uint32_t> key{l.site.up_buffer, l.site.down_buffer};
      if (first.count(key) == 0) {
        first[key] = l.site;
        order.push_back(key);
      } else if (first[key].hidden != l.site.hidden || first[key].channels != l.site.channels) {
        first[key].channels = -1;  // the subgraphs disagree: not a site
      }
      site_ops[key].insert({s, l.up_op});
      site_ops[key].insert({s, l.down_op});
    }
  }
  // The weight buffers may be read by nothing but the sites' FCs, as weights.
  std::map<uint32_t, std::vector<std::tuple<uint32_t, int32_t, size_t>>> uses;
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    const graph::Subgraph& sg = model.subgraphs[s];
    for (size_t o = 0; o < sg.ops.size(); ++o) {
      for (size_t k = 0; k < sg.ops[o].inputs.size(); ++k) {
        const int32_t t = sg.ops[o].inputs[k];
        if (t < 0 || static_cast<size_t>(t) >= sg.tensors.size()) continue;
        if (sg.tensors[t].buffer != 0) {
          uses[sg.tensors[t].buffer].emplace_back(s, static_cast<int32_t>(o), k);
        }
      }
    }
    for (int32_t t : sg.outputs) {
      if (t >= 0 && static_cast<size_t>(t) < sg.tensors.size() && sg.tensors[t].buffer != 0) {
        uses[sg.tensors[t].buffer].emplace_back(s, -1, 0);
      }
    }
  }
  std::vector<MlpScalingSite> sites;
  for (const auto& key : order) {
    const MlpScalingSite& site = first[key];
    if (site.channels <= 0) continue;
    bool ok = true;
    for (uint32_t b : {key.first, key.second}) {
      for (const auto& [s, op, slot] : uses[b]) {
        ok = ok && slot == 1 && site_ops[key].count({s, op}) != 0;
      }
    }
    if (ok) sites.push_back(site);
  }
  return sites;
}

Status ScaleMlpChannels(graph::Model& model, const MlpScalingSite& site, std::span<const float> s,
                        const std::string& name_suffix) {
  LITEQ_RETURN_IF_ERROR(
      CheckChannelScales(s, site.channels, "MLP scaling of '" + site.hidden + "'"));
  const auto nb = static_cast<uint32_t>(model.buffers.size());
  if (site.up_buffer == 0 || site.up_buffer >= nb || site.down_buffer == 0 ||
      site.down_buffer >= nb) {
    return InvalidArgumentError("MLP scaling: bad weight buffer");
  }
  auto scales = std::make_shared<const std::vector<float>>(s.begin(), s.end());
  const auto columns = static_cast<size_t>(site.up_columns);
  model.buffers[site.up_buffer] =
      EditedBuffer(model.buffers[site.up_buffer], [scales, columns](std::span<float> w) {
        for (size_t i = 0; i < w.size(); ++i) w[i] /= (*scales)[i / columns];
      });
  model.buffers[site.down_buffer] =
      EditedBuffer(model.buffers[site.down_buffer], [scales](std::span<float> w) {
        const size_t f = scales->size();
        for (size_t i = 0; i < w.size(); ++i) w[i] *= (*scales)[i % f];
      });
  RenameBufferTensors(model, site.up_buffer, name_suffix);
  RenameBufferTensors(model, site.down_buffer, name_suffix);
  return Status::Ok();
}

Result<std::vector<float>> DownColumnAbsMax(const graph::Model& model, const MlpScalingSite& site) {
  if (site.down_buffer == 0 || site.down_buffer >= model.buffers.size()) {
    return InvalidArgumentError("bad weight buffer");
  }
  LITEQ_ASSIGN_OR_RETURN(std::vector<float> w, ReadFloats(model.buffers[site.down_buffer]));
  std::vector<float> out(static_cast<size_t>(site.channels), 0.0f);
  for (size_t i = 0; i < w.size(); ++i) {
    float& m = out[i % out.size()];
    m = std::max(m, std::fabs(w[i]));
  }
  return out;
}

}  // namespace liteq::quant
