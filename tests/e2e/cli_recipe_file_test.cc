// `liteq quantize --recipe-file` and --float-ops/--float-tensors with the weight-only
// and dynamic recipes, as a user runs them on gemma3-tiny: per-weight precision by
// tensor-name regex (float, int8, int4), checked in the written file's tensors, and in
// `liteq eval` against the float export; mistakes in the file are errors that say what.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "e2e_util.h"

namespace liteq::e2e {
namespace {

const std::string kModel = ModelDir("gemma3-tiny");
const std::string kLayout = " --max-seq 128 --prefill-len 32";

CommandResult RunLiteq(const std::string& args) {
  return RunShell(std::string(LITEQ_BINARY) + " " + args + " 2>&1");
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = TempPath(name);
  std::ofstream(path) << text;
  return path;
}

// dtype of tensor `name` in the prefill subgraph, or "absent" / "float32 constant".
std::string Describe(const graph::Model& model, const std::string& name) {
  for (const graph::Tensor& t : model.subgraphs[0].tensors) {
    if (t.name != name) continue;
    return std::string(graph::DTypeName(t.dtype)) + (t.buffer != 0 ? " constant" : "");
  }
  return "absent";
}

double EvalKl(const std::string& path, const std::string& float_path) {
  CommandResult r = RunLiteq("eval " + path + " --reference " + float_path +
                             " --windows 4 --seq 64 --prompts 0 --json 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.output;
  return j.is_discarded() ? -1.0 : j["kl_divergence"]["mean"]["value"].get<double>();
}

TEST(CliRecipeFile, RulesSetEachWeightsPrecision) {
  const std::string recipe = WriteFile("mixed.json", R"({
    "recipe": "weight_only_int4", "block_size": 32,
    "rules": [{"tensors": "layers\\.0\\.", "precision": "float"},
              {"tensors": "down_proj", "precision": "int8"},
              {"tensors": "v_proj", "precision": "int4", "block_size": 0}]})");
  const std::string mixed = TempPath("mixed.tflite");
  CommandResult q = RunLiteq("quantize " + kModel + " --recipe-file " + recipe + " -o " + mixed +
                             kLayout + " --json");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  const LoadedModel loaded = LoadTflite(mixed);
  ASSERT_NE(loaded.interpreter, nullptr);
  const graph::Model& m = loaded.interpreter->model();
  // Layer 0 kept float, down projections int8, other projections int4, the
  // embedding int8 (the recipe's default for it).
  EXPECT_EQ(Describe(m, "model.layers.0.mlp.down_proj.weight"), "float32 constant");
  EXPECT_EQ(Describe(m, "model.layers.0.self_attn.q_proj.weight"), "float32 constant");
  EXPECT_EQ(Describe(m, "model.layers.1.mlp.down_proj.weight.int8"), "int8 constant");
  EXPECT_EQ(Describe(m, "model.layers.1.mlp.gate_proj.weight.int4"), "int4 constant");
  EXPECT_EQ(Describe(m, "model.layers.1.self_attn.v_proj.weight.int4"), "int4 constant");
  EXPECT_EQ(Describe(m, "model.embed_tokens.weight.int8"), "int8 constant");
  // v_proj per channel (one scale per row), gate_proj in blocks of 32.
  for (const graph::Tensor& t : m.subgraphs[0].tensors) {
    if (t.name == "model.layers.1.self_attn.v_proj.weight.int4") {
      EXPECT_EQ(t.quant.scale.size(), static_cast<size_t>(t.shape[0]));
      EXPECT_EQ(t.shape.size(), 2u);
      EXPECT_EQ(t.shape[1], 192);
    }
    if (t.name == "model.layers.1.mlp.gate_proj.weight.int4") {
      EXPECT_EQ(t.shape[1], 32);
    }
  }
  const nlohmann::json meta = nlohmann::json::parse(q.output);
  EXPECT_EQ(meta["recipe"], "weight_only_int4");

  // The mixed file is closer to the float model than all-int4 (same blocks).
  const std::string float_path = TempPath("float.tflite");
  ASSERT_EQ(RunLiteq("export " + kModel + " -o " + float_path + kLayout).exit_code, 0);
  const std::string w4 = TempPath("w4.tflite");
  ASSERT_EQ(RunLiteq("quantize " + kModel + " --recipe weight_only_int4 --block-size 32 -o " + w4 +
                     kLayout)
                .exit_code,
            0);
  const double kl_mixed = EvalKl(mixed, float_path), kl_w4 = EvalKl(w4, float_path);
  std::printf("[ recipe file ] mean KL vs float: mixed %.3e, all int4 b32 %.3e\n", kl_mixed, kl_w4);
  EXPECT_GT(kl_mixed, 0.0);
  EXPECT_LT(kl_mixed, 0.7 * kl_w4);
}

TEST(CliRecipeFile, FloatTensorsKeepWeightOnlyAndDynamicWeightsFloat) {
  for (const char* recipe : {"weight_only_int8", "dynamic_int8"}) {
    SCOPED_TRACE(recipe);
    const std::string out = TempPath(std::string(recipe) + ".l0float.tflite");
    // Output names of the layer-0 attention projections (layers.0.attn.q/k/v/o).
    CommandResult q =
        RunLiteq("quantize " + kModel + " --recipe " + recipe +
                 " --float-tensors '^layers\\.0\\.attn\\.[qkvo]$' -o " + out + kLayout);
    ASSERT_EQ(q.exit_code, 0) << q.output;
    const LoadedModel loaded = LoadTflite(out);
    ASSERT_NE(loaded.interpreter, nullptr);
    const graph::Model& m = loaded.interpreter->model();
    EXPECT_EQ(Describe(m, "model.layers.0.self_attn.q_proj.weight"), "float32 constant");
    EXPECT_EQ(Describe(m, "model.layers.0.self_attn.o_proj.weight"), "float32 constant");
    EXPECT_NE(Describe(m, "model.layers.0.mlp.up_proj.weight"), "float32 constant");
    EXPECT_NE(Describe(m, "model.layers.1.self_attn.q_proj.weight"), "float32 constant");
    const std::string meta = RunLiteq("inspect " + out).output;
    EXPECT_NE(meta.find("float_weight_buffers     4"), std::string::npos) << meta;
  }
}

// Activation quantization parameters of every integer tensor in the prefill subgraph.
std::map<std::string, std::pair<std::vector<float>, std::vector<int64_t>>> ActivationParams(
    const std::string& path) {
  const LoadedModel loaded = LoadTflite(path);
  EXPECT_NE(loaded.interpreter, nullptr) << path;
  std::map<std::string, std::pair<std::vector<float>, std::vector<int64_t>>> out;
  if (loaded.interpreter == nullptr) return out;
  for (const graph::Tensor& t : loaded.interpreter->model().subgraphs[0].tensors) {
    if (t.buffer != 0 || t.quant.scale.empty()) continue;
    out[t.name] = {std::vector<float>(t.quant.scale.begin(), t.quant.scale.end()),
                   std::vector<int64_t>(t.quant.zero_point.begin(), t.quant.zero_point.end())};
  }
  return out;
}

// Static recipes: a rule with "observer" chooses the range observer of the activation
// tensors it matches. A rule for every tensor equals the command-line observer; a
// percentile rule for the MLP's gated product narrows exactly those tensors.
TEST(CliRecipeFile, ObserverRulesChooseEachActivationsObserver) {
  const std::string common = " --calib-samples 8" + kLayout;
  const std::string minmax = TempPath("s8.minmax.tflite");
  ASSERT_EQ(RunLiteq("quantize " + kModel + " --recipe static_int8 --observer minmax -o " + minmax +
                     common)
                .exit_code,
            0);
  const std::string all = WriteFile("observer_all.json", R"({"recipe": "static_int8",
    "rules": [{"tensors": ".", "observer": "minmax"}]})");
  const std::string by_rule = TempPath("s8.rule_minmax.tflite");
  CommandResult q = RunLiteq("quantize " + kModel + " --recipe-file " + all + " --observer kl -o " +
                             by_rule + common);
  ASSERT_EQ(q.exit_code, 0) << q.output;
  const auto reference = ActivationParams(minmax);
  ASSERT_GT(reference.size(), 100u);
  EXPECT_EQ(ActivationParams(by_rule), reference);

  const std::string gated = WriteFile("observer_gated.json", R"({"recipe": "static_int8",
    "rules": [{"tensors": "mlp\\.gated$", "observer": "percentile", "percentile": 99.0}]})");
  const std::string clipped = TempPath("s8.gated_percentile.tflite");
  q = RunLiteq("quantize " + kModel + " --recipe-file " + gated + " --observer minmax -o " +
               clipped + common);
  ASSERT_EQ(q.exit_code, 0) << q.output;
  const auto params = ActivationParams(clipped);
  ASSERT_EQ(params.size(), reference.size());
  int narrowed = 0;
  for (const auto& [name, p] : params) {
    SCOPED_TRACE(name);
    const bool is_gated = name.size() >= 9 && name.compare(name.size() - 9, 9, "mlp.gated") == 0;
    if (is_gated) {
      ASSERT_EQ(p.first.size(), 1u);
      EXPECT_LT(p.first[0], reference.at(name).first[0]);
      ++narrowed;
    } else {
      EXPECT_EQ(p, reference.at(name));
    }
  }
  EXPECT_EQ(narrowed, 6);  // one per layer
  const std::string meta = RunLiteq("inspect " + clipped).output;
  EXPECT_NE(meta.find(R"("observer":"percentile","percentile":99.0,"tensors":"mlp\\.gated$")"),
            std::string::npos)
      << meta;
}

TEST(CliRecipeFile, MistakesAreErrorsThatSayWhat) {
  const std::string out = TempPath("never.tflite");
  struct Case {
    const char* json;
    const char* extra;
    const char* message;
  } cases[] = {
      {R"({"recipe": "weight_only_int8", "rulez": []})", "", "unknown key 'rulez'"},
      {R"({"recipe": "weight_only_int8", "rules": [{"tensors": "no_such_weight", "precision": "float"}]})",
       "", "matches no weight tensor"},
      {R"({"recipe": "dynamic_int8", "rules": [{"tensors": "mlp", "precision": "int4"}]})", "",
       "int4 needs a weight-only recipe"},
      {R"({"rules": [{"tensors": "mlp", "precision": "int3"}]})", " --recipe weight_only_int8",
       "unknown precision 'int3'"},
      {R"({"rules": []})", "", "give --recipe"},
      {R"({"recipe": "static_int8", "rules": [{"tensors": "mlp", "precision": "int8"}]})",
       " --calib-samples 2", "takes only \"precision\": \"float\" rules"},
      {R"({"recipe": "weight_only_int4", "rules": [{"tensors": "embed", "precision": "int4"}]})",
       "", "embedding table, which stays int8"},
      {R"({"recipe": "weight_only_int8", "rules": [{"tensors": "mlp", "observer": "mse"}]})", "",
       "apply to the static recipes"},
      {R"({"recipe": "static_int8", "rules": [{"tensors": "no_such", "observer": "mse"}]})",
       " --calib-samples 2", "observer rule 0 ('no_such') matches no calibrated activation"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    const std::string path = WriteFile("bad.json", c.json);
    CommandResult r = RunLiteq("quantize " + kModel + " --recipe-file " + path + c.extra + " -o " +
                               out + kLayout);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find(c.message), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace liteq::e2e
