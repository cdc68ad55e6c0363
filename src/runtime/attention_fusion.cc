#include "runtime/attention_fusion.h"

#include <algorithm>
#include <cstring>
#include <variant>

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
    if (out_op.code != OpCode::kBatchMatmul || out_op.outputs.empty()) return false;
    dtype_ = sg_.tensors[out_op.outputs[0]].dtype;
    if (dtype_ != DType::kFloat32 && dtype_ != DType::kInt8) return false;
    if (!IsBatchMatMul(out_op, false, false)) return false;
    m.dtype = dtype_;
    m.out_op = op_index;
    m.out = out_op.outputs[0];
    // probs [-> reshape] <- SOFTMAX <- ADD(scores [<- reshape], mask)
    m.probs_in = out_op.inputs[0];
    m.probs = SkipReshape(out_op.inputs[0]);
    const graph::Op* softmax = Absorb(m.probs, OpCode::kSoftmax);
    if (softmax == nullptr || softmax->inputs.size() != 1) return false;
    const auto* so = std::get_if<graph::SoftmaxOptions>(&softmax->options);
    if (so != nullptr && so->beta != 1.0f) return false;
    const graph::Op* add = Absorb(softmax->inputs[0], OpCode::kAdd);
    if (add == nullptr || add->inputs.size() != 2) return false;
    const auto* ao = std::get_if<graph::BinaryOptions>(&add->options);
    if (ao != nullptr && ao->activation != graph::Activation::kNone) return false;
    m.mask = add->inputs[1];
    m.masked = softmax->inputs[0];
    m.scores_in = add->inputs[0];
    m.scores = SkipReshape(add->inputs[0]);
    const graph::Op* scores = Absorb(m.scores, OpCode::kBatchMatmul);
    if (scores == nullptr || !IsBatchMatMul(*scores, false, true)) return false;
    m.q = scores->inputs[0];
    m.keys = scores->inputs[1];
    m.values = out_op.inputs[1];
    m.k_cache = CacheOfTranspose(m.keys, &m.k_quantized);
    m.v_cache = CacheOfTranspose(m.values, &m.v_quantized);
    if (m.k_cache < 0 || m.v_cache < 0) return false;
    if (!CheckShapes(m)) return false;
    MatchMask(m);
    return Finish(m);
  }

 private:
  bool Float(int32_t t) const { return t >= 0 && sg_.tensors[t].dtype == DType::kFloat32; }
  // Of the pattern's type: float32, or int8 for the static int8 graph.
  bool OfType(int32_t t) const { return t >= 0 && sg_.tensors[t].dtype == dtype_; }

  bool IsBatchMatMul(const graph::Op& op, bool adj_x, bool adj_y) const {
    if (op.code != OpCode::kBatchMatmul || op.inputs.size() != 2 || op.outputs.size() != 1)
      return false;
    const auto* o = std::get_if<graph::BatchMatMulOptions>(&op.options);
    const bool x = o != nullptr && o->adj_x, y = o != nullptr && o->adj_y;
    return x == adj_x && y == adj_y && OfType(op.inputs[0]) && OfType(op.inputs[1]) &&
           OfType(op.outputs[0]);
  }

  // The op of `code` writing `t` (only read once, no signature output), recorded as
  // absorbed; nullptr if `t` is anything else.
  const graph::Op* Absorb(int32_t t, OpCode code) { return AbsorbOfType(t, code, dtype_); }
  const graph::Op* AbsorbOfType(int32_t t, OpCode code, DType dtype) {
    if (t < 0 || !plain_[t] || readers_[t] != 1 || sg_.tensors[t].dtype != dtype) return nullptr;
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

  // The cache tensor a TRANSPOSE(cache, [0, 2, 1, 3]) that wrote `t` reads, or -1. In
  // an int8 pattern the cache is int8 itself, or a float cache the TRANSPOSE reads
  // through QUANTIZE(cache) (absorbed: its output goes to *quantized).
  int32_t CacheOfTranspose(int32_t t, int32_t* quantized) {
    const graph::Op* tr = Absorb(t, OpCode::kTranspose);
    if (tr == nullptr || tr->inputs.size() != 2 || !OfType(tr->inputs[0])) return -1;
    const graph::Tensor& perm = sg_.tensors[tr->inputs[1]];
    const uint8_t* bytes = constants_[tr->inputs[1]];
    if (bytes == nullptr || perm.dtype != DType::kInt32 || perm.shape != std::vector<int32_t>{4})
      return -1;
    const int32_t want[4] = {0, 2, 1, 3};
    if (std::memcmp(bytes, want, sizeof(want)) != 0) return -1;
    const int32_t cache = tr->inputs[0];
    *quantized = -1;
    if (dtype_ == DType::kInt8 && producer_[cache] >= 0 &&
        sg_.ops[producer_[cache]].code == OpCode::kQuantize) {
      const graph::Op* quantize = AbsorbOfType(cache, OpCode::kQuantize, DType::kInt8);
      if (quantize == nullptr || quantize->inputs.size() != 1 || !Float(quantize->inputs[0]))
        return -1;
      *quantized = cache;
      return quantize->inputs[0];
    }
    return cache;
  }

  bool CheckShapes(AttentionMatch& m) const {
    const auto& q = sg_.tensors[m.q].shape;
    const auto& k = sg_.tensors[m.k_cache].shape;
    const auto& v = sg_.tensors[m.v_cache].shape;
    const auto& mask = sg_.tensors[m.mask].shape;
    const auto& out = sg_.tensors[m.out].shape;
    if (q.size() != 4 || k.size() != 4 || mask.size() != 2 || !OfType(m.mask)) return false;
    m.kv_heads = k[2];
    m.max_seq = k[1];
    m.head_dim = k[3];
    m.rows = q[2];
    m.tokens = mask[0];
    return q[0] == 1 && k[0] == 1 && q[1] == m.kv_heads && q[3] == m.head_dim && v == k &&
           out == q && mask[1] == m.max_seq && m.tokens > 0 && m.rows % m.tokens == 0;
  }

  // Sets m.positions (and m.window) when m.mask is the builder's mask (header). The
  // ops stay in the graph: only their structure is read.
  void MatchMask(AttentionMatch& m) const {
    const graph::Op* select = Producer(m.mask, OpCode::kSelectV2, 3);
    if (select == nullptr) return;
    if (dtype_ == DType::kFloat32) {
      float visible_value = 1.0f, hidden_value = 0.0f;
      if (!ScalarFloat(select->inputs[1], &visible_value) ||
          !ScalarFloat(select->inputs[2], &hidden_value) || visible_value != 0.0f ||
          !(hidden_value <= kAttentionHiddenBelow))
        return;
    } else {
      // The kernel checks that this value hides a key (it saturates the ADD).
      int8_t hidden_value = 0;
      if (!ScalarOf(select->inputs[2], DType::kInt8, &hidden_value)) return;
      m.mask_hidden_value = hidden_value;
    }
    int32_t query = -1;
    int64_t window = 0;
    const int32_t cond = select->inputs[0];
    if (const graph::Op* both = Producer(cond, OpCode::kLogicalAnd, 2)) {
      // Either order of the causal and the window condition.
      for (int first = 0; first < 2 && query < 0; ++first) {
        const int32_t causal = both->inputs[first], in_window = both->inputs[1 - first];
        const graph::Op* greater = Producer(in_window, OpCode::kGreater, 2);
        const int32_t q = CausalQuery(causal, m.max_seq);
        if (greater == nullptr || q < 0 || !IsKeyPositions(greater->inputs[0], m.max_seq)) continue;
        const graph::Op* sub = Producer(greater->inputs[1], OpCode::kSub, 2);
        int32_t w = 0;
        if (sub == nullptr || sub->inputs[0] != q || !ScalarInt(sub->inputs[1], &w) || w <= 0)
          continue;
        const auto* so = std::get_if<graph::BinaryOptions>(&sub->options);
        if (so != nullptr && so->activation != graph::Activation::kNone) continue;
        query = q;
        window = w;
      }
    } else {
      query = CausalQuery(cond, m.max_seq);
    }
    // query = RESHAPE(positions [T]) to [T, 1].
    const graph::Op* reshape = Producer(query, OpCode::kReshape, 1);
    if (reshape == nullptr || sg_.tensors[query].shape != std::vector<int32_t>{m.tokens, 1}) return;
    const int32_t positions = reshape->inputs[0];
    const graph::Tensor& p = sg_.tensors[positions];
    int64_t count = 1;
    for (int32_t d : p.shape) count *= d;
    if (p.dtype != DType::kInt32 || count != m.tokens) return;
    m.positions = positions;
    m.window = window;
  }

  // The op of `code` with at least `inputs` inputs (all present) and one output that
  // wrote `t`, or nullptr.
  const graph::Op* Producer(int32_t t, OpCode code, size_t inputs) const {
    if (t < 0 || producer_[t] < 0) return nullptr;
    const graph::Op& op = sg_.ops[producer_[t]];
    if (op.code != code || op.inputs.size() < inputs || op.outputs.size() != 1) return nullptr;
    for (size_t i = 0; i < inputs; ++i) {
      if (op.inputs[i] < 0) return nullptr;
    }
    return &op;
  }

  // `query` of visible = LESS_EQUAL(keys, query) written to `t`, or -1.
  int32_t CausalQuery(int32_t t, int max_seq) const {
    const graph::Op* le = Producer(t, OpCode::kLessEqual, 2);
    if (le == nullptr || !IsKeyPositions(le->inputs[0], max_seq)) return -1;
    return sg_.tensors[le->inputs[1]].dtype == DType::kInt32 ? le->inputs[1] : -1;
  }

  // A constant int32 [S] holding 0, 1, ..., S - 1.
  bool IsKeyPositions(int32_t t, int max_seq) const {
    const graph::Tensor& k = sg_.tensors[t];
    const uint8_t* bytes = constants_[t];
    if (bytes == nullptr || k.dtype != DType::kInt32 || k.shape != std::vector<int32_t>{max_seq})
      return false;
    for (int j = 0; j < max_seq; ++j) {
      int32_t v;
      std::memcpy(&v, bytes + sizeof(v) * j, sizeof(v));
      if (v != j) return false;
    }
    return true;
  }

  bool ScalarFloat(int32_t t, float* value) const { return ScalarOf(t, DType::kFloat32, value); }
  bool ScalarInt(int32_t t, int32_t* value) const { return ScalarOf(t, DType::kInt32, value); }
  template <typename T>
  bool ScalarOf(int32_t t, DType dtype, T* value) const {
    if (t < 0 || constants_[t] == nullptr || sg_.tensors[t].dtype != dtype) return false;
    for (int32_t d : sg_.tensors[t].shape) {
      if (d != 1) return false;
    }
    std::memcpy(value, constants_[t], sizeof(T));
    return true;
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
  DType dtype_ = DType::kFloat32;  // of the pattern being matched
  std::vector<int> producer_, readers_;
  std::vector<int> absorbed_;
};

}  // namespace

void WidenToLiveKeys(const int32_t* positions, int tokens, int64_t window, int max_seq, int& lo,
                     int& hi) {
  for (int t = 0; t < tokens; ++t) {
    const int64_t p = positions[t];
    const int64_t first = window > 0 ? std::max<int64_t>(0, p - window + 1) : 0;
    const int64_t last = std::min<int64_t>(max_seq - 1, p);
    if (last < first) continue;  // this token sees no key
    lo = std::min<int>(lo, static_cast<int>(first));
    hi = std::max<int>(hi, static_cast<int>(last));
  }
}

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
