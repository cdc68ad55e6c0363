// The fused attention kernel (runtime/attention_fusion.h) against the ops it replaces:
// the same model run with fusion on and off gives the same logits through chunked
// prefill and decode, including sliding-window layers whose window has moved past the
// first cache rows, GQA, KV-sharing (Gemma 3n) and a model whose attention does not
// match the pattern (Gemma 2's soft-capped scores) and so runs unfused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "e2e_util.h"
#include "generate/session.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "runtime/attention_fusion.h"
#include "runtime/interpreter.h"

namespace liteq {
namespace {

struct Case {
  const char* path;  // under LITEQ_TESTDATA_DIR/families or LITEQ_MODELS_DIR
  bool family;
  int layers;       // attention blocks expected fused per signature (0 = none match)
  int prompt;       // prompt tokens (prefill chunks of 32)
};

class AttentionFusionTest : public ::testing::TestWithParam<Case> {};

// The case's float graph, prefill chunks of 32 (two 16-row query blocks: the second
// sees 16 keys the first leaves out, the causal cut), max_seq 96.
Result<graph::Model> BuildCase(const Case& c) {
  const std::string dir = c.family ? std::string(LITEQ_TESTDATA_DIR) + "/families/" + c.path
                                   : std::string(LITEQ_MODELS_DIR) + "/" + c.path;
  LITEQ_ASSIGN_OR_RETURN(std::shared_ptr<const io::Checkpoint> ckpt, io::Checkpoint::Open(dir));
  return model::BuildModel(std::move(ckpt), model::ExportOptions{{32}, 96});
}

TEST_P(AttentionFusionTest, SameLogitsAsUnfusedOps) {
  const Case c = GetParam();
  auto built = BuildCase(c);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  auto model = std::make_shared<const graph::Model>(std::move(*built));

  std::unique_ptr<runtime::Interpreter> interpreters[2];
  std::unique_ptr<generate::Session> sessions[2];
  for (int fused = 0; fused < 2; ++fused) {
    runtime::InterpreterOptions options;
    options.fuse_attention = fused == 1;
    auto interpreter = runtime::Interpreter::Create(model, options);
    ASSERT_TRUE(interpreter.ok()) << interpreter.status().ToString();
    interpreters[fused] = std::move(*interpreter);
    for (const std::string& key : interpreters[fused]->SignatureKeys()) {
      auto runner = interpreters[fused]->GetSignature(key);
      ASSERT_TRUE(runner.ok());
      EXPECT_EQ((*runner)->plan_report().fused_attention, fused ? c.layers : 0) << key;
    }
    auto session = generate::Session::Create(interpreters[fused].get());
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    sessions[fused] = std::move(*session);
  }

  std::vector<int32_t> prompt;
  for (int i = 0; i < c.prompt; ++i) prompt.push_back(2 + (i * 37) % 900);
  std::vector<float> logits[2];
  for (int f = 0; f < 2; ++f) ASSERT_TRUE(sessions[f]->Feed(prompt, &logits[f]).ok());
  auto expect_close = [&](std::span<const float> unfused, std::span<const float> fused,
                          const std::string& where) {
    ASSERT_EQ(unfused.size(), fused.size());
    float scale = 1.0f, worst = 0.0f;
    for (size_t i = 0; i < unfused.size(); ++i) {
      scale = std::max(scale, std::abs(unfused[i]));
      worst = std::max(worst, std::abs(unfused[i] - fused[i]));
    }
    // Float reassociation only (the masked keys add exact zeros): a few ulps of the
    // largest logit.
    EXPECT_LE(worst, 1e-5f * scale) << where;
  };
  expect_close(logits[0], logits[1], "prefill");
  uint64_t keys_cut = 0;
  for (const std::string& key : interpreters[1]->SignatureKeys()) {
    keys_cut += (*interpreters[1]->GetSignature(key))->counters().attention_keys_cut;
  }
  if (c.layers > 0) {
    EXPECT_GT(keys_cut, 0u) << "no prefill block left out hidden keys";
  }
  // Decode past the prefill: position 80+ is beyond the 16-token sliding windows.
  for (int step = 0; step < 60; ++step) {
    const std::span<const float> last = sessions[0]->last_logits();
    const int32_t next =
        static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
    for (int f = 0; f < 2; ++f) ASSERT_TRUE(sessions[f]->Feed({&next, 1}).ok());
    expect_close(sessions[0]->last_logits(), sessions[1]->last_logits(),
                 "decode step " + std::to_string(step));
  }
}

// Every fused block of the builder's graphs gets its live key range from the query
// positions (not by scanning the mask over max_seq keys), with the sliding window of
// the local layers recognised where the family has them.
TEST_P(AttentionFusionTest, LiveRangeFromPositions) {
  const Case c = GetParam();
  auto built = BuildCase(c);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  const bool sliding_family = std::string(c.path).rfind("gemma3", 0) == 0 ||
                              std::string(c.path) == "mistral";
  for (const graph::Subgraph& sg : built->subgraphs) {
    std::vector<bool> plain(sg.tensors.size(), false);
    std::vector<const uint8_t*> constants(sg.tensors.size(), nullptr);
    for (const graph::Op& op : sg.ops) {
      for (int32_t t : op.outputs) {
        if (t >= 0) plain[t] = true;
      }
    }
    for (int32_t t : sg.outputs) plain[t] = false;
    for (size_t t = 0; t < sg.tensors.size(); ++t) {
      const uint32_t b = sg.tensors[t].buffer;
      if (b != 0 && b < built->buffers.size()) constants[t] = built->buffers[b].data;
    }
    const auto matches = runtime::FindAttentionPatterns(sg, plain, constants);
    EXPECT_EQ(static_cast<int>(matches.size()), c.layers) << sg.name;
    int windowed = 0;
    for (const auto& m : matches) {
      EXPECT_GE(m.positions, 0) << sg.name << " block at op " << m.out_op;
      if (m.positions >= 0) {
        EXPECT_EQ(sg.tensors[m.positions].dtype, graph::DType::kInt32);
      }
      windowed += m.window > 0;
    }
    if (c.layers > 0 && sliding_family) {
      EXPECT_GT(windowed, 0) << sg.name << ": no sliding-window block recognised";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, AttentionFusionTest,
    ::testing::Values(Case{"gemma3-tiny", false, 6, 33}, Case{"llama-tiny", false, 4, 20},
                      Case{"gemma3_text", true, 4, 30}, Case{"gemma3n_text", true, 4, 30},
                      Case{"mistral", true, 3, 17}, Case{"gemma2", true, 0, 17}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name = info.param.path;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

}  // namespace
}  // namespace liteq
