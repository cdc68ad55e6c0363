#include "graph/prune.h"

#include <vector>

namespace liteq::graph {

PruneReport PruneUnused(Model& model) {
  PruneReport report;
  std::vector<bool> buffer_used(model.buffers.size(), false);
  buffer_used[0] = true;
  for (uint32_t s = 0; s < model.subgraphs.size(); ++s) {
    Subgraph& sg = model.subgraphs[s];
    std::vector<bool> used(sg.tensors.size(), false);
    auto mark = [&](int32_t t) {
      if (t >= 0 && static_cast<size_t>(t) < used.size()) used[static_cast<size_t>(t)] = true;
    };
    for (const Op& op : sg.ops) {
      for (int32_t t : op.inputs) mark(t);
      for (int32_t t : op.outputs) mark(t);
    }
    for (int32_t t : sg.inputs) mark(t);
    for (int32_t t : sg.outputs) mark(t);
    for (const Signature& sig : model.signatures) {
      if (sig.subgraph != s) continue;
      for (const auto& [name, t] : sig.inputs) mark(t);
      for (const auto& [name, t] : sig.outputs) mark(t);
    }
    std::vector<int32_t> remap(sg.tensors.size(), -1);
    std::vector<Tensor> kept;
    for (size_t t = 0; t < sg.tensors.size(); ++t) {
      if (!used[t]) {
        ++report.tensors_removed;
        continue;
      }
      remap[t] = static_cast<int32_t>(kept.size());
      kept.push_back(std::move(sg.tensors[t]));
    }
    sg.tensors = std::move(kept);
    auto apply = [&](int32_t& t) {
      if (t >= 0) t = remap[static_cast<size_t>(t)];
    };
    for (Op& op : sg.ops) {
      for (int32_t& t : op.inputs) apply(t);
      for (int32_t& t : op.outputs) apply(t);
    }
    for (int32_t& t : sg.inputs) apply(t);
    for (int32_t& t : sg.outputs) apply(t);
    for (Signature& sig : model.signatures) {
      if (sig.subgraph != s) continue;
      for (auto& [name, t] : sig.inputs) apply(t);
      for (auto& [name, t] : sig.outputs) apply(t);
    }
    for (const Tensor& t : sg.tensors) {
      if (t.buffer < buffer_used.size()) buffer_used[t.buffer] = true;
    }
  }
  std::vector<uint32_t> buffer_remap(model.buffers.size(), 0);
  std::vector<Buffer> kept_buffers;
  for (size_t b = 0; b < model.buffers.size(); ++b) {
    if (!buffer_used[b]) {
      ++report.buffers_removed;
      continue;
    }
    buffer_remap[b] = static_cast<uint32_t>(kept_buffers.size());
    kept_buffers.push_back(std::move(model.buffers[b]));
  }
  model.buffers = std::move(kept_buffers);
  for (Subgraph& sg : model.subgraphs) {
    for (Tensor& t : sg.tensors) {
      if (t.buffer < buffer_remap.size()) t.buffer = buffer_remap[t.buffer];
    }
  }
  return report;
}

}  // namespace liteq::graph
