// Op groups of the sensitivity sweep and the HTML report's escaping, on small
// hand-made inputs (fast; no model needed).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "eval/quant_debug_html.h"
#include "eval/sensitivity.h"
#include "tokenizer/regex.h"

namespace liteq::eval {
namespace {

// One op per name, each writing a float tensor of that name.
graph::Model ModelWithOutputs(const std::vector<std::string>& names) {
  graph::Model model;
  graph::Subgraph sg;
  sg.name = "prefill";
  for (const std::string& name : names) {
    graph::Tensor t;
    t.name = name;
    t.shape = {1};
    sg.tensors.push_back(t);
    graph::Op op;
    op.code = graph::OpCode::kAdd;
    op.outputs = {static_cast<int32_t>(sg.tensors.size() - 1)};
    sg.ops.push_back(op);
  }
  model.subgraphs.push_back(std::move(sg));
  return model;
}

bool FullMatch(const tokenizer::Regex& re, const std::string& s) {
  for (const auto& [b, e] : re.FindAll(s)) {
    if (b == 0 && e == s.size()) return true;
  }
  return false;
}

TEST(OpGroupsTest, BuilderNamesFallIntoTheirGroups) {
  const graph::Model model = ModelWithOutputs(
      {"embedding.lookup", "layers.0.attn.norm.rsqrt", "layers.0.attn.norm", "layers.0.attn.q",
       "layers.0.attn.q_heads", "layers.0.attn.q_norm.rsqrt", "layers.0.attn.probs",
       "layers.0.attn.o", "layers.0.attn.post_norm", "layers.0.attn_residual",
       "layers.0.mlp.norm", "layers.0.mlp.up", "layers.0.mlp.up.bias", "layers.0.mlp.gated",
       "layers.0.mlp.post_norm", "layers.1.attn.k", "layers.12.mlp.down", "layers.12.mlp.gate",
       "final_norm.output", "logits", "rope.cos"});
  std::map<std::string, std::vector<std::string>> by_type;
  for (const OpGroup& g : DefineOpGroups(model, GroupGranularity::kType))
    by_type[g.name] = g.tensors;
  // A pre-norm travels with the projections that read it (one quantization step).
  EXPECT_EQ(by_type["attn_in"],
            (std::vector<std::string>{"layers.0.attn.norm", "layers.0.attn.norm.rsqrt",
                                      "layers.0.attn.q", "layers.1.attn.k"}));
  EXPECT_EQ(by_type["attn_out"], (std::vector<std::string>{"layers.0.attn.o"}));
  EXPECT_EQ(by_type["attn_core"],
            (std::vector<std::string>{"layers.0.attn.probs", "layers.0.attn.q_heads",
                                      "layers.0.attn.q_norm.rsqrt"}));
  EXPECT_EQ(by_type["mlp_in"],
            (std::vector<std::string>{"layers.0.mlp.norm", "layers.0.mlp.up",
                                      "layers.0.mlp.up.bias", "layers.12.mlp.gate"}));
  EXPECT_EQ(by_type["mlp_out"],
            (std::vector<std::string>{"layers.0.mlp.gated", "layers.12.mlp.down"}));
  EXPECT_EQ(by_type["norm"],
            (std::vector<std::string>{"layers.0.attn.post_norm", "layers.0.mlp.post_norm"}));
  EXPECT_EQ(by_type["residual"], (std::vector<std::string>{"layers.0.attn_residual"}));
  EXPECT_EQ(by_type["embedding"], (std::vector<std::string>{"embedding.lookup"}));
  EXPECT_EQ(by_type["final_norm"], (std::vector<std::string>{"final_norm.output"}));
  EXPECT_EQ(by_type["lm_head"], (std::vector<std::string>{"logits"}));
  EXPECT_EQ(by_type["other"], (std::vector<std::string>{"rope.cos"}));

  std::map<std::string, const OpGroup*> by_layer;
  const auto layered = DefineOpGroups(model, GroupGranularity::kLayer);
  for (const OpGroup& g : layered) by_layer[g.name] = &g;
  ASSERT_EQ(by_layer.count("layers.12.mlp_out"), 1u);
  EXPECT_EQ(by_layer["layers.12.mlp_out"]->layer, 12);
  EXPECT_EQ(by_layer["layers.1.attn_in"]->tensors, (std::vector<std::string>{"layers.1.attn.k"}));
}

TEST(OpGroupsTest, RegexMatchesExactlyTheGroupsNames) {
  OpGroup a{.name = "a", .kind = "attn_in", .layer = 0, .tensors = {"layers.0.attn.q", "x+1(y)"}};
  const std::string pattern = FloatTensorsRegex({&a});
  auto re = tokenizer::Regex::Compile(pattern);
  ASSERT_TRUE(re.ok()) << pattern;
  EXPECT_TRUE(FullMatch(*re, "layers.0.attn.q"));
  EXPECT_TRUE(FullMatch(*re, "x+1(y)"));
  // Anchored and escaped: no prefix, suffix or wildcard matches.
  EXPECT_TRUE(re->FindAll("layers.0.attn.q_heads").empty());
  EXPECT_TRUE(re->FindAll("xlayers.0.attn.q").empty());
  EXPECT_TRUE(re->FindAll("layersX0.attn.q").empty());
  EXPECT_TRUE(re->FindAll("xx1(y)").empty());
  EXPECT_EQ(FloatTensorsRegex({}), "");
  EXPECT_EQ(CombineRegex("", "b"), "b");
  EXPECT_EQ(CombineRegex("a", ""), "a");
  auto both = tokenizer::Regex::Compile(CombineRegex("^p$", pattern));
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(FullMatch(*both, "p"));
  EXPECT_TRUE(FullMatch(*both, "layers.0.attn.q"));
}

TEST(QuantDebugHtmlTest, EscapesNamesAndDrawsOneBarPerTensor) {
  QuantDebugReport r;
  TensorError e;
  e.name = "<script>alert(1)</script>";
  e.dtype = "int8";
  e.snr_db = 12.5;
  r.tensors.push_back(e);
  e.name = "layers.0.attn.q";
  e.snr_db = std::numeric_limits<double>::infinity();
  r.tensors.push_back(e);
  r.growth_mean_kl = {0.1, 0.2, 0.0};
  r.growth_max_kl = {0.2, 0.3, 0.0};
  const std::string html = RenderQuantDebugHtml(r, {.model = "m&m", .reference = "r", .data = "d"});
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("m&amp;m"), std::string::npos);
  size_t bars = 0, rows = 0, points = 0;
  for (size_t at = html.find("class=\"snr-bar\""); at != std::string::npos;
       at = html.find("class=\"snr-bar\"", at + 1))
    ++bars;
  for (size_t at = html.find("class=\"tensor-row\""); at != std::string::npos;
       at = html.find("class=\"tensor-row\"", at + 1))
    ++rows;
  for (size_t at = html.find("class=\"growth-point\""); at != std::string::npos;
       at = html.find("class=\"growth-point\"", at + 1))
    ++points;
  EXPECT_EQ(bars, 2u);
  EXPECT_EQ(rows, 2u);
  EXPECT_EQ(points, 3u);
  EXPECT_NE(html.find("SNR exact"), std::string::npos);  // +inf is drawn and labelled
  // Self-contained: nothing is fetched.
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
}

}  // namespace
}  // namespace liteq::eval
