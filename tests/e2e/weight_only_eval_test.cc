// weight_only_int8 quality: eval perplexity over the reference's 64 windows through
// the written .tflite and liteq's runtime (which folds the DEQUANTIZE of every weight
// once at load). Issue bar: per-channel within 0.05% of float. Per-tensor is measured
// and printed; both are compared with transformers' simulated PTQ numbers
// (reference.json ptq_sims).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "e2e_util.h"
#include "eval/perplexity.h"
#include "tflite/reader.h"

namespace liteq::e2e {
namespace {

long ResidentKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

class WeightOnlyEvalTest : public ::testing::TestWithParam<const char*> {};

TEST_P(WeightOnlyEvalTest, PerplexityWithinIssueBar) {
  const std::string dir = ModelDir(GetParam());
  auto ref = OpenReference(dir);
  const nlohmann::json ref_json = ReadReferenceJson(dir);
  const std::vector<std::vector<int32_t>> windows = ReadEvalWindows(*ref);
  // liteq's float export reproduces this to 2e-8 relative (float_eval_test).
  const double float_ppl = ref_json["eval_ppl"].get<double>();
  const auto& sims = ref_json["ptq_sims"];

  for (auto g : {quant::Granularity::kPerChannel, quant::Granularity::kPerTensor}) {
    const long rss_before = ResidentKb();
    const std::string path =
        ExportQuantizedOnce(dir, {.prefill_lengths = {128}, .max_seq = 512}, {.granularity = g});
    LoadedModel m = LoadTflite(path);
    const long rss_loaded = ResidentKb();
    auto result = eval::EvaluatePerplexity(*m.session, windows);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const double delta = result->perplexity / float_ppl - 1.0;
    const bool channel = g == quant::Granularity::kPerChannel;
    const std::string sim_key =
        channel ? "w8_per_channel_weight_only" : "w8_per_tensor_weight_only";
    const double sim_ppl = sims[sim_key]["ppl"].get<double>();
    std::printf(
        "[ %s ] weight_only_int8 per-%s: perplexity %.4f, float %.4f, dPPL %+.4f%% "
        "(transformers sim %s %.4f, dPPL %+.4f%%); folded float weights %.1f MB, RSS +%.1f MB "
        "after load, %.1f s\n",
        GetParam(), quant::GranularityName(g), result->perplexity, float_ppl, 100 * delta,
        sim_key.c_str(), sim_ppl, 100 * (sim_ppl / float_ppl - 1.0),
        m.interpreter->folded_constant_bytes() / 1e6, (rss_loaded - rss_before) / 1024.0,
        result->seconds);
    if (channel) {
      // Every FC and the embedding GATHER read the int8 constants: no float copy. Only
      // the float16 RoPE tables are folded to float32 (2 bytes per stored byte).
      auto file = tflite::ReadTflite(path);
      ASSERT_TRUE(file.ok()) << file.status().ToString();
      size_t float16_tables_as_float32 = 0;
      std::set<uint32_t> seen;
      for (const graph::Subgraph& sg : (*file)->subgraphs) {
        for (const graph::Tensor& t : sg.tensors) {
          if (t.dtype == graph::DType::kFloat16 && t.buffer != 0 && seen.insert(t.buffer).second) {
            float16_tables_as_float32 += 2 * (*file)->buffers[t.buffer].size;
          }
        }
      }
      EXPECT_GT(float16_tables_as_float32, 0u);
      EXPECT_EQ(m.interpreter->folded_constant_bytes(), float16_tables_as_float32);
    } else {
      // Per-tensor weights are not run on integers (weight_only_fusion.h): folded.
      EXPECT_GT(m.interpreter->folded_constant_bytes(), 0u);
    }
    if (channel) {
      EXPECT_LE(std::abs(delta), 5e-4) << "issue bar: |dPPL| <= 0.05%";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(TrainedModels, WeightOnlyEvalTest,
                         ::testing::Values("gemma3-tiny", "llama-tiny"), [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

}  // namespace
}  // namespace liteq::e2e
