#include "litert_compare_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "tflite/writer.h"

namespace liteq::e2e {

using graph::DType;
using graph::OpCode;

std::vector<float> Uniform(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

void DequantizedOutput(runtime::testing::GraphBuilder& g, const std::string& name, int t) {
  const int f = g.Tensor(name + "_float", DType::kFloat32, g.sg().tensors[t].shape);
  g.Op(OpCode::kDequantize, {t}, {f});
  g.Output(name, f);
}

Outputs RunBoth(const graph::Model& model, const std::string& file,
                const std::vector<conformance::LiteRtTensor>& inputs,
                runtime::InterpreterOptions options) {
  Outputs outputs;
  const std::string path = (std::filesystem::path(::testing::TempDir()) / file).string();
  const Status written = tflite::WriteTflite(model, path);
  EXPECT_TRUE(written.ok()) << written.ToString();
  auto interpreter = runtime::Interpreter::Load(path, options);
  EXPECT_TRUE(interpreter.ok()) << interpreter.status().ToString();
  if (!written.ok() || !interpreter.ok()) return outputs;
  auto runner = (*interpreter)->GetSignature("serving_default");
  EXPECT_TRUE(runner.ok());
  if (!runner.ok()) return outputs;
  for (const conformance::LiteRtTensor& in : inputs) {
    auto view = (*runner)->Input(in.name);
    EXPECT_TRUE(view.ok() && view->bytes == in.bytes.size()) << in.name;
    if (!view.ok() || view->bytes != in.bytes.size()) return outputs;
    std::memcpy(view->data, in.bytes.data(), in.bytes.size());
  }
  const Status invoked = (*runner)->Invoke();
  EXPECT_TRUE(invoked.ok()) << invoked.ToString();
  auto litert = conformance::RunInLiteRt(path, {{"serving_default", inputs}});
  EXPECT_TRUE(litert.ok()) << litert.status().ToString();
  if (!invoked.ok() || !litert.ok()) return outputs;
  for (const auto& [name, tensor] : model.signatures[0].outputs) {
    auto mine = (*runner)->Output(name);
    const auto* theirs = conformance::FindTensor((*litert)[0], name);
    EXPECT_TRUE(mine.ok() && theirs != nullptr) << name;
    if (!mine.ok() || theirs == nullptr) continue;
    BothOutputs& o = outputs[name];
    o.liteq.resize(mine->bytes / sizeof(float));
    std::memcpy(o.liteq.data(), mine->data, mine->bytes);
    o.litert = conformance::Float32Values(*theirs);
    EXPECT_EQ(o.liteq.size(), o.litert.size()) << name;
  }
  return outputs;
}

int CompareOutput(const std::string& label, const std::string& name, const BothOutputs& o,
                  float step, int allowed_steps) {
  int differ = 0;
  for (size_t i = 0; i < o.liteq.size() && i < o.litert.size(); ++i) {
    if (o.liteq[i] == o.litert[i]) continue;
    ++differ;
    const float steps = std::abs(o.liteq[i] - o.litert[i]) / step;
    if (steps > static_cast<float>(allowed_steps) + 0.01f) {
      ADD_FAILURE() << label << " " << name << "[" << i << "]: liteq " << o.liteq[i] << ", LiteRT "
                    << o.litert[i] << " (" << steps << " steps)";
    }
  }
  std::printf("[ %s ] %s: %d of %zu elements differ from LiteRT\n", label.c_str(), name.c_str(),
              differ, o.liteq.size());
  return differ;
}

float ScaleOf(const graph::Model& model, const std::string& tensor_name) {
  for (const graph::Tensor& t : model.subgraphs[0].tensors) {
    if (t.name == tensor_name) return t.quant.scale.vector().at(0);
  }
  ADD_FAILURE() << "no tensor " << tensor_name;
  return 1.0f;
}

}  // namespace liteq::e2e
