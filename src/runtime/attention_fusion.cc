#include "runtime/attention_fusion.h"

#include <cstring>

namespace liteq::runtime {
namespace {

using graph::DType;
using graph::OpCode;

class Matcher {
 public:
  Matcher(const graph::Subgraph& sg, const std::vector<bool>& plain,
          std::span<const uint8_t* const> constants)
      : sg_(sg), plain_(plain), constants_(constants) {
    producer_.assign(sg.tensors.size(), -1);
    readers_.assign(sg.tensors.size(), 0);
    for (int i = 0; i < static_cast<int>(sg.ops.size()); ++i) {
      for (int32_t t : sg.ops[i].inputs) {
        if (t >= 0) ++readers_[t];
      }
      for (int32_t t : sg.ops[i].outputs) {
        if (t >= 0) producer_[t] = i;
      }
    }
  }

  bool Match(int op_index, AttentionMatch& m) {
    m = AttentionMatch{};
    absorbed_.clear();
    const graph::Op& out_op = sg_.ops[op_index];
    if (!IsBatchMatMul(out_op, false, false)) return false;
    m.out_op = op_index;
    m.out = out_op.outputs[0];
    // probs [-> reshape] <- SOFTMAX <- ADD(scores [<- reshape], mask)
    int32_t probs = SkipReshape(out_op.inputs[0]);
    const graph::Op* softmax = Absorb(probs, OpCode::kSoftmax);
    if (softmax == nullptr || softmax->inputs.size() != 1) return false;
    const auto* so = std::get_if<graph::SoftmaxOptions>(&softmax->options);
    if (so != nullptr && so->beta != 1.0f) return false;
    const graph::Op* add = Absorb(softmax->inputs[0], OpCode::kAdd);
    if (add == nullptr || add->inputs.size() != 2) return false;
    const auto* ao = std::get_if<graph::BinaryOptions>(&add->options);
    if (ao != nullptr && ao->activation != graph::Activation::kNone) return false;
    m.mask = add->inputs[1];
    const graph::Op* scores = Absorb(SkipReshape(add->inputs[0]), OpCode::kBatchMatmul);
    if (scores == nullptr || !IsBatchMatMul(*scores, false, true)) return false;
    m.q = scores->inputs[0];
    m.k_cache = CacheOfTranspose(scores->inputs[1]);
    m.v_cache = CacheOfTranspose(out_op.inputs[1]);
    if (m.k_cache < 0 || m.v_cache < 0) return false;
    return CheckShapes(m) && Finish(m);
  }

 private:
  bool Float(int32_t t) const { return t >= 0 && sg_.tensors[t].dtype == DType::kFloat32; }

  bool IsBatchMatMul(const graph::Op& op, bool adj_x, bool adj_y) const {
    if (op.code != OpCode::kBatchMatmul || op.inputs.size() != 2 || op.outputs.size() != 1)
      return false;
    const auto* o = std::get_if<graph::BatchMatMulOptions>(&op.options);
    const bool x = o != nullptr && o->adj_x, y = o != nullptr && o->adj_y;
    return x == adj_x && y == adj_y && Float(op.inputs[0]) && Float(op.inputs[1]) &&
           Float(op.outputs[0]);
  }

  // The op of `code` writing `t` (only read once, no signature output), recorded as
  // absorbed; nullptr if `t` is anything else.
  const graph::Op* Absorb(int32_t t, OpCode code) {
    if (t < 0 || !plain_[t] || readers_[t] != 1 || !Float(t)) return nullptr;
    const int p = producer_[t];
    if (p < 0 || sg_.ops[p].code != code || sg_.ops[p].outputs.size() != 1) return nullptr;
    absorbed_.push_back(p);
    return &sg_.ops[p];
  }

  // `t` itself, or the input of the RESHAPE that wrote it (absorbed).
  int32_t SkipReshape(int32_t t) {
    if (t < 0 || producer_[t] < 0 || sg_.ops[producer_[t]].code != OpCode::kReshape) return t;
    const graph::Op* r = Absorb(t, OpCode::kReshape);
    return r == nullptr || r->inputs.empty() ? -1 : r->inputs[0];
  }

  // The cache tensor a TRANSPOSE(cache, [0, 2, 1, 3]) that wrote `t` reads, or -1.
  int32_t CacheOfTranspose(int32_t t) {
    const graph::Op* tr = Absorb(t, OpCode::kTranspose);
    if (tr == nullptr || tr->inputs.size() != 2 || !Float(tr->inputs[0])) return -1;
    const graph::Tensor& perm = sg_.tensors[tr->inputs[1]];
    const uint8_t* bytes = constants_[tr->inputs[1]];
    if (bytes == nullptr || perm.dtype != DType::kInt32 || perm.shape != std::vector<int32_t>{4})
      return -1;
    const int32_t want[4] = {0, 2, 1, 3};
    if (std::memcmp(bytes, want, sizeof(want)) != 0) return -1;
    return tr->inputs[0];
  }

  bool CheckShapes(AttentionMatch& m) const {
    const auto& q = sg_.tensors[m.q].shape;
    const auto& k = sg_.tensors[m.k_cache].shape;
    const auto& v = sg_.tensors[m.v_cache].shape;
    const auto& mask = sg_.tensors[m.mask].shape;
    const auto& out = sg_.tensors[m.out].shape;
    if (q.size() != 4 || k.size() != 4 || mask.size() != 2 || !Float(m.mask)) return false;
    m.kv_heads = k[2];
    m.max_seq = k[1];
    m.head_dim = k[3];
    m.rows = q[2];
    m.tokens = mask[0];
    return q[0] == 1 && k[0] == 1 && q[1] == m.kv_heads && q[3] == m.head_dim && v == k &&
           out == q && mask[1] == m.max_seq && m.tokens > 0 && m.rows % m.tokens == 0;
  }

  bool Finish(AttentionMatch& m) {
    for (int op : absorbed_) {
      m.absorbed_ops.push_back(op);
      m.absorbed_tensors.push_back(sg_.ops[op].outputs[0]);
    }
    return true;
  }

 private:
  const graph::Subgraph& sg_;
  const std::vector<bool>& plain_;
  std::span<const uint8_t* const> constants_;
  std::vector<int> producer_, readers_;
  std::vector<int> absorbed_;
};

}  // namespace

std::vector<AttentionMatch> FindAttentionPatterns(const graph::Subgraph& sg,
                                                  const std::vector<bool>& plain,
                                                  std::span<const uint8_t* const> constants) {
  std::vector<AttentionMatch> matches;
  Matcher matcher(sg, plain, constants);
  for (int i = 0; i < static_cast<int>(sg.ops.size()); ++i) {
    AttentionMatch m;
    if (matcher.Match(i, m)) matches.push_back(std::move(m));
  }
  return matches;
}

}  // namespace liteq::runtime
