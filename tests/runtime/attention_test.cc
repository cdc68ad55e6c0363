// End to end: a one-head attention layer with a KV cache, a causal mask built from
// input_pos, prefill (T=3) then decode (T=1), against attention computed directly.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "graph_builder.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

constexpr int kDim = 4, kMaxSeq = 6;

struct Weights {
  std::vector<float> q, k, v, o;  // [kDim, kDim] each, FC layout [out, in]
};

void AddAttentionSignature(GraphBuilder& g, const std::string& key, int t, const Weights& w) {
  g.BeginSignature(key);
  const int x = g.Input("x", DType::kFloat32, {t, kDim});
  const int pos = g.Input("input_pos", DType::kInt32, {t});
  const int kv_k = g.Input("kv_cache_k_0", DType::kFloat32, {kMaxSeq, kDim});
  const int kv_v = g.Input("kv_cache_v_0", DType::kFloat32, {kMaxSeq, kDim});
  auto fc = [&](const std::string& name, int in, const std::vector<float>& weights) {
    const int wt = g.ConstF(name + ".w", {kDim, kDim}, weights);
    const int out = g.Tensor(name, DType::kFloat32, {t, kDim});
    g.Op(OpCode::kFullyConnected, {in, wt, -1}, {out}, graph::FullyConnectedOptions{});
    return out;
  };
  const int q = fc("q", x, w.q), k = fc("k", x, w.k), v = fc("v", x, w.v);
  const int p0 = g.Tensor("pos0", DType::kInt32, {1});
  g.Op(OpCode::kSlice, {pos, g.ConstI("b0", {1}, {0}), g.ConstI("s1", {1}, {1})}, {p0});
  const int start = g.Tensor("start", DType::kInt32, {2});
  g.Op(OpCode::kConcatenation, {p0, g.ConstI("zero", {1}, {0})}, {start},
       graph::ConcatenationOptions{0});
  const int k_cache = g.Tensor("k_cache", DType::kFloat32, {kMaxSeq, kDim});
  g.Op(OpCode::kDynamicUpdateSlice, {kv_k, k, start}, {k_cache});
  const int v_cache = g.Tensor("v_cache", DType::kFloat32, {kMaxSeq, kDim});
  g.Op(OpCode::kDynamicUpdateSlice, {kv_v, v, start}, {v_cache});
  const int scores = g.Tensor("scores", DType::kFloat32, {t, kMaxSeq});
  g.Op(OpCode::kBatchMatmul, {q, k_cache}, {scores}, graph::BatchMatMulOptions{false, true});
  const int scaled = g.Tensor("scaled", DType::kFloat32, {t, kMaxSeq});
  g.Op(OpCode::kMul, {scores, g.ConstF("scale", {}, {1.0f / std::sqrt(float(kDim))})}, {scaled},
       graph::BinaryOptions{});
  const int qpos = g.Tensor("qpos", DType::kInt32, {t, 1});
  g.Op(OpCode::kReshape, {pos, g.ConstI("qshape", {2}, {t, 1})}, {qpos});
  std::vector<int32_t> kpos_values(kMaxSeq);
  for (int i = 0; i < kMaxSeq; ++i) kpos_values[i] = i;
  const int allowed = g.Tensor("allowed", DType::kBool, {t, kMaxSeq});
  g.Op(OpCode::kLessEqual, {g.ConstI("kpos", {kMaxSeq}, kpos_values), qpos}, {allowed});
  const int masked = g.Tensor("masked", DType::kFloat32, {t, kMaxSeq});
  g.Op(OpCode::kSelectV2, {allowed, scaled, g.ConstF("neg_inf", {}, {-1e9f})}, {masked});
  const int probs = g.Tensor("probs", DType::kFloat32, {t, kMaxSeq});
  g.Op(OpCode::kSoftmax, {masked}, {probs}, graph::SoftmaxOptions{1.0f});
  const int attn = g.Tensor("attn", DType::kFloat32, {t, kDim});
  g.Op(OpCode::kBatchMatmul, {probs, v_cache}, {attn}, graph::BatchMatMulOptions{});
  const int out = fc("out", attn, w.o);
  g.Output("out", out);
  g.Output("kv_cache_k_0", k_cache);
  g.Output("kv_cache_v_0", v_cache);
}

std::vector<float> Linear(const std::vector<float>& w, const float* x) {
  std::vector<float> y(kDim, 0.0f);
  for (int o = 0; o < kDim; ++o)
    for (int i = 0; i < kDim; ++i) y[o] += w[o * kDim + i] * x[i];
  return y;
}

// Causal attention over all tokens, computed directly (double accumulation).
std::vector<float> DirectAttention(const Weights& w, const std::vector<float>& xs, int n) {
  std::vector<std::vector<float>> q, k, v;
  for (int i = 0; i < n; ++i) {
    q.push_back(Linear(w.q, &xs[i * kDim]));
    k.push_back(Linear(w.k, &xs[i * kDim]));
    v.push_back(Linear(w.v, &xs[i * kDim]));
  }
  std::vector<float> out;
  for (int i = 0; i < n; ++i) {
    std::vector<double> s(i + 1);
    double max = -1e300, sum = 0.0;
    for (int j = 0; j <= i; ++j) {
      for (int d = 0; d < kDim; ++d) s[j] += double(q[i][d]) * k[j][d];
      s[j] /= std::sqrt(double(kDim));
      max = std::max(max, s[j]);
    }
    for (double& e : s) sum += (e = std::exp(e - max));
    std::vector<float> a(kDim, 0.0f);
    for (int j = 0; j <= i; ++j)
      for (int d = 0; d < kDim; ++d) a[d] += static_cast<float>(s[j] / sum * v[j][d]);
    auto o = Linear(w.o, a.data());
    out.insert(out.end(), o.begin(), o.end());
  }
  return out;
}

void RunPrefillThenDecode(int num_threads) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  auto random = [&](int n) {
    std::vector<float> v(n);
    for (float& e : v) e = dist(rng);
    return v;
  };
  Weights w{random(kDim * kDim), random(kDim * kDim), random(kDim * kDim), random(kDim * kDim)};
  const std::vector<float> xs = random(4 * kDim);
  GraphBuilder g;
  AddAttentionSignature(g, "prefill", 3, w);
  AddAttentionSignature(g, "decode", 1, w);
  InterpreterOptions options;
  options.num_threads = num_threads;
  ASSERT_OK_AND_ASSIGN(auto interp, Interpreter::Create(g.model(), options));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * prefill, interp->GetSignature("prefill"));
  ASSERT_OK_AND_ASSIGN(SignatureRunner * decode, interp->GetSignature("decode"));
  EXPECT_EQ(decode->plan_report().in_place_states,
            (std::vector<std::string>{"kv_cache_k_0", "kv_cache_v_0"}));
  const std::vector<float> want = DirectAttention(w, xs, 4);

  ASSERT_OK_AND_ASSIGN(TensorView x, prefill->Input("x"));
  ASSERT_OK_AND_ASSIGN(TensorView pos, prefill->Input("input_pos"));
  std::copy(xs.begin(), xs.begin() + 3 * kDim, x.as<float>().begin());
  for (int i = 0; i < 3; ++i) pos.as<int32_t>()[i] = i;
  ASSERT_OK(prefill->Invoke());
  ASSERT_OK_AND_ASSIGN(TensorView out, prefill->Output("out"));
  for (int i = 0; i < 3 * kDim; ++i) EXPECT_NEAR(out.as<float>()[i], want[i], 1e-5f) << i;

  ASSERT_OK_AND_ASSIGN(TensorView dx, decode->Input("x"));
  ASSERT_OK_AND_ASSIGN(TensorView dpos, decode->Input("input_pos"));
  std::copy(xs.begin() + 3 * kDim, xs.end(), dx.as<float>().begin());
  dpos.as<int32_t>()[0] = 3;
  ASSERT_OK(decode->Invoke());
  ASSERT_OK_AND_ASSIGN(TensorView dout, decode->Output("out"));
  for (int i = 0; i < kDim; ++i) EXPECT_NEAR(dout.as<float>()[i], want[3 * kDim + i], 1e-5f) << i;
  EXPECT_EQ(decode->counters().dus_full_copies, 0u);
}

TEST(Attention, PrefillThenDecodeMatchesDirectComputation) { RunPrefillThenDecode(1); }
TEST(Attention, SameWithTwoThreads) { RunPrefillThenDecode(2); }

}  // namespace
}  // namespace liteq::runtime::testing
