// Interpreter::Load: a model written with liteq's .tflite writer, read back and run,
// gives exactly the results of the in-memory model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "graph_builder.h"
#include "tflite/writer.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

std::shared_ptr<graph::Model> SmallModel() {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> w(6 * 3), b(6);
  for (float& v : w) v = dist(rng);
  for (float& v : b) v = dist(rng);
  GraphBuilder g;
  for (int t : {2, 1}) {
    g.BeginSignature(t == 2 ? "prefill" : "decode");
    const int x = g.Input("x", DType::kFloat32, {t, 3});
    const int pos = g.Input("input_pos", DType::kInt32, {t});
    const int kv = g.Input("kv_cache_k_0", DType::kFloat32, {4, 6});
    const int h = g.Tensor("h", DType::kFloat32, {t, 6});
    g.Op(OpCode::kFullyConnected, {x, g.ConstF("w", {6, 3}, w), g.ConstF("b", {6}, b)}, {h},
         graph::FullyConnectedOptions{});
    const int act = g.Tensor("act", DType::kFloat32, {t, 6});
    g.Op(OpCode::kGelu, {h}, {act}, graph::GeluOptions{true});
    const int p0 = g.Tensor("p0", DType::kInt32, {1});
    g.Op(OpCode::kSlice, {pos, g.ConstI("b0", {1}, {0}), g.ConstI("s1", {1}, {1})}, {p0});
    const int start = g.Tensor("start", DType::kInt32, {2});
    g.Op(OpCode::kConcatenation, {p0, g.ConstI("zero", {1}, {0})}, {start},
         graph::ConcatenationOptions{0});
    const int kv_out = g.Tensor("kv_out", DType::kFloat32, {4, 6});
    g.Op(OpCode::kDynamicUpdateSlice, {kv, act, start}, {kv_out});
    const int y = g.Tensor("y", DType::kFloat32, {6});
    g.Op(OpCode::kSum, {kv_out, g.ConstI("axes", {1}, {0})}, {y}, graph::ReducerOptions{false});
    g.Output("y", y);
    g.Output("kv_cache_k_0", kv_out);
  }
  return g.model();
}

std::vector<float> RunSteps(Interpreter& interp) {
  std::vector<float> ys;
  auto step = [&](const std::string& key, const std::vector<float>& x, int pos) {
    auto r = interp.GetSignature(key);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return;
    auto xv = (*r)->Input("x");
    auto pv = (*r)->Input("input_pos");
    EXPECT_TRUE(xv.ok() && pv.ok());
    std::copy(x.begin(), x.end(), xv->as<float>().begin());
    for (size_t i = 0; i < pv->as<int32_t>().size(); ++i)
      pv->as<int32_t>()[i] = pos + static_cast<int>(i);
    EXPECT_TRUE((*r)->Invoke().ok());
    auto y = (*r)->Output("y");
    ys.insert(ys.end(), y->as<float>().begin(), y->as<float>().end());
  };
  step("prefill", {0.1f, 0.2f, 0.3f, -0.4f, 0.5f, -0.6f}, 0);
  step("decode", {1.0f, -1.0f, 0.5f}, 2);
  return ys;
}

TEST(InterpreterLoad, WrittenFileRunsLikeTheInMemoryModel) {
  auto model = SmallModel();
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("liteq_runtime_load_test_" + std::to_string(::getpid()) + ".tflite"))
                               .string();
  ASSERT_OK(tflite::WriteTflite(*model, path));
  ASSERT_OK_AND_ASSIGN(auto loaded, Interpreter::Load(path));
  ASSERT_OK_AND_ASSIGN(auto direct, Interpreter::Create(model));
  const auto want = RunSteps(*direct);
  const auto got = RunSteps(*loaded);
  std::filesystem::remove(path);
  ASSERT_EQ(want.size(), 12u);
  EXPECT_EQ(got, want);
  ASSERT_OK_AND_ASSIGN(SignatureRunner * decode, loaded->GetSignature("decode"));
  EXPECT_EQ(decode->plan_report().in_place_states, std::vector<std::string>{"kv_cache_k_0"});
}

TEST(InterpreterLoad, MissingFileIsAnError) {
  auto r = Interpreter::Load("/nonexistent/model.tflite");
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace liteq::runtime::testing
