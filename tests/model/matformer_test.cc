// MatFormer layouts (model/matformer.h): parsing, presets, and the checks against the
// gemma3n_text fixture (4 layers of width 160; layers 2 and 3 read the caches of
// layers 0 and 1).
#include "model/matformer.h"

#include <gtest/gtest.h>

namespace liteq::model {
namespace {

using nlohmann::json;

std::shared_ptr<const io::Checkpoint> Fixture() {
  auto opened = io::Checkpoint::Open(std::string(LITEQ_TESTDATA_DIR) + "/families/gemma3n_text");
  LITEQ_CHECK(opened.ok());
  return std::move(opened).value();
}

Result<MatformerPlan> Plan(const json& layout) {
  LITEQ_ASSIGN_OR_RETURN(MatformerLayout parsed, ParseMatformerLayout(layout, "layout.json"));
  return PlanMatformer(*Fixture(), parsed);
}

std::string ErrorOf(const json& layout) {
  auto plan = Plan(layout);
  return plan.ok() ? "" : plan.status().ToString();
}

TEST(MatformerLayoutTest, WidthsPerLayerPerKeptLayerOrOne) {
  auto one = Plan({{"ffn_widths", 100}});
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->ffn_widths, (std::vector<int>{100, 100, 100, 100}));
  EXPECT_EQ(one->full_widths, (std::vector<int>{160, 160, 160, 160}));
  auto all = Plan({{"ffn_widths", {10, 20, 30, 40}}, {"skip_layers", {3}}});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->ffn_widths, (std::vector<int>{10, 20, 30}));  // indexed by full-model layer
  auto kept = Plan({{"ffn_widths", {10, 20, 30}}, {"skip_layers", {2}}});
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->ffn_widths, (std::vector<int>{10, 20, 30}));
  EXPECT_EQ(kept->kept_layers, (std::vector<int>{0, 1, 3}));
}

TEST(MatformerLayoutTest, SubModelConfigFollowsTheKeptLayers) {
  auto plan = Plan({{"ffn_widths", 80}, {"skip_layers", {0, 2}}});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const json& c = plan->config;
  EXPECT_EQ(c["num_hidden_layers"], 2);
  EXPECT_EQ(c["intermediate_size"], json({80, 80}));
  EXPECT_EQ(c["layer_types"], json({"full_attention", "full_attention"}));
  EXPECT_EQ(c["activation_sparsity_pattern"], json({0.95, 0.0}));
  EXPECT_EQ(c["num_kv_shared_layers"], 1);  // old layer 3 reads old layer 1
}

TEST(MatformerLayoutTest, PresetHalvesEveryWidth) {
  auto layout = LoadMatformerLayout("half");
  ASSERT_TRUE(layout.ok());
  auto plan = PlanMatformer(*Fixture(), *layout);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->ffn_widths, (std::vector<int>{80, 80, 80, 80}));
  EXPECT_EQ(plan->config["num_kv_shared_layers"], 2);
  EXPECT_FALSE(LoadMatformerLayout("quarterish").ok());
  auto inline_json = LoadMatformerLayout(R"({"ffn_widths": 40, "skip_layers": [3]})");
  ASSERT_TRUE(inline_json.ok()) << inline_json.status().ToString();
  EXPECT_EQ(inline_json->ffn_widths, std::vector<int>{40});
  EXPECT_EQ(inline_json->skip_layers, std::vector<int>{3});
  EXPECT_FALSE(LoadMatformerLayout("{not json").ok());
}

TEST(MatformerLayoutTest, RejectsLayoutsThatMakeNoSense) {
  EXPECT_NE(ErrorOf({{"ffn_widths", 0}}).find("FFN width 0 of layer 0 is outside 1..160"),
            std::string::npos);
  EXPECT_NE(ErrorOf({{"ffn_widths", 161}}).find("outside 1..160"), std::string::npos);
  EXPECT_NE(ErrorOf({{"ffn_widths", {1, 2}}}).find("ffn_widths has 2 entries"), std::string::npos);
  EXPECT_NE(ErrorOf({{"skip_layers", {4}}}).find("skip_layers entry 4 is out of range"),
            std::string::npos);
  EXPECT_NE(ErrorOf({{"skip_layers", {-1}}}).find("out of range"), std::string::npos);
  EXPECT_NE(ErrorOf({{"skip_layers", {3, 3}}}).find("twice"), std::string::npos);
  EXPECT_NE(ErrorOf({{"skip_layers", {0, 1, 2, 3}}}).find("removes all 4 layers"),
            std::string::npos);
  EXPECT_NE(ErrorOf({{"skip_layers", {1}}})
                .find("layer 3 reads the KV cache of layer 1, which is skipped"),
            std::string::npos);
  EXPECT_NE(ErrorOf({{"skip", {1}}}).find("unknown key 'skip'"), std::string::npos);
  EXPECT_NE(ErrorOf({{"ffn_widths", "80"}}).find("ffn_widths"), std::string::npos);
  EXPECT_FALSE(ParseMatformerLayout(json::array(), "x").ok());
}

TEST(MatformerLayoutTest, OnlyGemma3n) {
  auto opened = io::Checkpoint::Open(std::string(LITEQ_TESTDATA_DIR) + "/families/gemma3_text");
  ASSERT_TRUE(opened.ok());
  auto layout = LoadMatformerLayout("half");
  ASSERT_TRUE(layout.ok());
  auto plan = PlanMatformer(**opened, *layout);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().ToString().find("apply to gemma3n_text models"), std::string::npos);
}

TEST(MatformerLayoutTest, SlicedTensorsHaveTheirNewShapes) {
  auto plan = Plan({{"ffn_widths", 80}, {"skip_layers", {2}}});
  ASSERT_TRUE(plan.ok());
  auto sub = ExtractMatformer(Fixture(), *plan);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  const io::Checkpoint& c = **sub;
  EXPECT_EQ(c.Find("model.layers.3.mlp.up_proj.weight"), nullptr);
  ASSERT_NE(c.Find("model.layers.2.mlp.down_proj.weight"), nullptr);
  EXPECT_EQ(c.Find("model.layers.2.mlp.down_proj.weight")->shape, (std::vector<int64_t>{64, 80}));
  EXPECT_EQ(c.Find("model.layers.2.mlp.gate_proj.weight")->shape, (std::vector<int64_t>{80, 64}));
  EXPECT_EQ(c.Find("model.embed_tokens_per_layer.weight")->shape, (std::vector<int64_t>{1000, 48}));
  EXPECT_EQ(c.Find("model.per_layer_model_projection.weight")->shape,
            (std::vector<int64_t>{48, 64}));
  // Layer 2 of the sub-model is layer 3 of the full one; its down_proj keeps columns 0..79.
  auto full = Fixture();
  auto original = full->ReadFloat32("model.layers.3.mlp.down_proj.weight");
  auto sliced = c.ReadFloat32("model.layers.2.mlp.down_proj.weight");
  ASSERT_TRUE(original.ok() && sliced.ok());
  for (int r = 0; r < 64; ++r) {
    for (int k = 0; k < 80; ++k) ASSERT_EQ((*sliced)[r * 80 + k], (*original)[r * 160 + k]);
  }
  // Raw bytes are refused for slices (their layout is not the stored one), kept for the rest.
  EXPECT_FALSE(c.RawBytes("model.layers.2.mlp.down_proj.weight").ok());
  EXPECT_TRUE(c.RawBytes("model.layers.2.self_attn.q_proj.weight").ok());
}

}  // namespace
}  // namespace liteq::model
