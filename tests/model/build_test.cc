// BuildModel: signature layout, shared weight buffers, lazy weight producers,
// metadata, and errors for bad checkpoints and options.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "graph/builder.h"
#include "model/model.h"

namespace liteq::model {
namespace {

using graph::DType;
using graph::Model;
using graph::OpCode;
using nlohmann::json;

// In-memory float32 checkpoint for synthetic configs and error cases.
class FakeCheckpoint : public io::Checkpoint {
 public:
  FakeCheckpoint(json config,
                 std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>> tensors)
      : config_(std::move(config)) {
    for (auto& [name, t] : tensors) {
      io::TensorInfo info;
      info.name = name;
      info.dtype = io::WeightDType::kF32;
      info.shape = t.first;
      info.file = path_;
      info.nbytes = t.second.size() * sizeof(float);
      infos_.push_back(info);
      data_[name] = std::move(t.second);
    }
  }
  const json& config() const override { return config_; }
  const std::string& path() const override { return path_; }
  const std::vector<io::TensorInfo>& tensors() const override { return infos_; }
  Result<std::span<const uint8_t>> RawBytes(const std::string& name) const override {
    auto it = data_.find(name);
    if (it == data_.end()) return NotFoundError("no " + name);
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(it->second.data()),
                                    it->second.size() * sizeof(float));
  }

 private:
  json config_;
  std::string path_ = "fake.safetensors";
  std::vector<io::TensorInfo> infos_;  // std::map order = sorted by name
  std::map<std::string, std::vector<float>> data_;
};

using TensorMap = std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>>;

void AddTensor(TensorMap& m, const std::string& name, std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v(n);
  // Distinct values so row selections are checkable: value = index + tag.
  const float tag = static_cast<float>(m.size()) * 1000.f;
  for (int64_t i = 0; i < n; ++i) v[i] = tag + static_cast<float>(i);
  m[name] = {std::move(shape), std::move(v)};
}

// A 2-layer llama with hidden 8, 2 heads of 4, 1 kv head, vocab 16.
json TinyLlamaConfig() {
  return json{{"model_type", "llama"},    {"vocab_size", 16},       {"hidden_size", 8},
              {"intermediate_size", 12},  {"num_hidden_layers", 2}, {"num_attention_heads", 2},
              {"num_key_value_heads", 1}, {"rms_norm_eps", 1e-5},   {"tie_word_embeddings", true},
              {"bos_token_id", 1},        {"eos_token_id", 2}};
}

TensorMap TinyLlamaTensors() {
  TensorMap m;
  AddTensor(m, "model.embed_tokens.weight", {16, 8});
  AddTensor(m, "model.norm.weight", {8});
  for (int i = 0; i < 2; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    AddTensor(m, p + "input_layernorm.weight", {8});
    AddTensor(m, p + "post_attention_layernorm.weight", {8});
    AddTensor(m, p + "self_attn.q_proj.weight", {8, 8});
    AddTensor(m, p + "self_attn.k_proj.weight", {4, 8});
    AddTensor(m, p + "self_attn.v_proj.weight", {4, 8});
    AddTensor(m, p + "self_attn.o_proj.weight", {8, 8});
    AddTensor(m, p + "mlp.gate_proj.weight", {12, 8});
    AddTensor(m, p + "mlp.up_proj.weight", {12, 8});
    AddTensor(m, p + "mlp.down_proj.weight", {8, 12});
  }
  return m;
}

Result<Model> Build(json config, TensorMap tensors, ExportOptions opts = {}) {
  auto ckpt = std::make_shared<FakeCheckpoint>(std::move(config), std::move(tensors));
  return BuildModel(ckpt, opts);
}

ExportOptions Opts(std::vector<int> prefill, int max_seq) {
  ExportOptions o;
  o.prefill_lengths = std::move(prefill);
  o.max_seq = max_seq;
  return o;
}

std::vector<float> Materialize(const Model& m, uint32_t buffer) {
  std::vector<uint8_t> scratch;
  auto bytes = m.buffers[buffer].Materialize(scratch);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  if (!bytes.ok()) return {};
  std::vector<float> v(bytes->size() / sizeof(float));
  std::memcpy(v.data(), bytes->data(), bytes->size());
  return v;
}

const graph::Tensor* FindTensor(const Model& m, uint32_t sg, const std::string& name) {
  for (const auto& t : m.subgraphs[sg].tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

TEST(BuildModelTest, SignaturesInputsAndOutputs) {
  auto model = Build(TinyLlamaConfig(), TinyLlamaTensors(), Opts({8, 4}, 32));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ASSERT_EQ(model->signatures.size(), 3u);
  ASSERT_EQ(model->subgraphs.size(), 3u);
  std::map<std::string, int> tokens_of = {{"prefill_4", 4}, {"prefill_8", 8}, {"decode", 1}};
  for (const graph::Signature& sig : model->signatures) {
    SCOPED_TRACE(sig.key);
    ASSERT_TRUE(tokens_of.count(sig.key));
    const int t = tokens_of[sig.key];
    const graph::Subgraph& sg = model->subgraphs[sig.subgraph];
    EXPECT_EQ(sg.name, sig.key);
    std::vector<std::string> in_names, out_names;
    for (auto& [n, idx] : sig.inputs) in_names.push_back(n);
    for (auto& [n, idx] : sig.outputs) out_names.push_back(n);
    EXPECT_EQ(in_names, (std::vector<std::string>{"tokens", "input_pos", "kv_cache_k_0",
                                                  "kv_cache_v_0", "kv_cache_k_1", "kv_cache_v_1"}));
    EXPECT_EQ(out_names, (std::vector<std::string>{"logits", "kv_cache_k_0", "kv_cache_v_0",
                                                   "kv_cache_k_1", "kv_cache_v_1"}));
    auto tensor = [&](int idx) -> const graph::Tensor& { return sg.tensors[idx]; };
    EXPECT_EQ(tensor(sig.inputs[0].second).shape, (graph::Shape{1, t}));
    EXPECT_EQ(tensor(sig.inputs[0].second).dtype, DType::kInt32);
    EXPECT_EQ(tensor(sig.inputs[1].second).shape, (graph::Shape{t}));
    EXPECT_EQ(tensor(sig.inputs[1].second).dtype, DType::kInt32);
    EXPECT_EQ(tensor(sig.outputs[0].second).shape, (graph::Shape{1, t, 16}));
    for (size_t i = 2; i < sig.inputs.size(); ++i) {
      EXPECT_EQ(tensor(sig.inputs[i].second).shape, (graph::Shape{1, 32, 1, 4}));
      EXPECT_EQ(tensor(sig.inputs[i].second).dtype, DType::kFloat32);
    }
    EXPECT_EQ(sg.inputs.size(), sig.inputs.size());
    EXPECT_EQ(sg.outputs.size(), sig.outputs.size());
    // Each cache output is a DYNAMIC_UPDATE_SLICE of the same-named input.
    for (size_t o = 1; o < sig.outputs.size(); ++o) {
      const int out = sig.outputs[o].second;
      const auto op = std::find_if(sg.ops.begin(), sg.ops.end(),
                                   [&](const graph::Op& op) { return op.outputs[0] == out; });
      ASSERT_NE(op, sg.ops.end());
      EXPECT_EQ(op->code, OpCode::kDynamicUpdateSlice);
      EXPECT_EQ(op->inputs[0], sig.inputs[o + 1].second);
      EXPECT_EQ(sig.inputs[o + 1].first, sig.outputs[o].first);
    }
  }
  // One prefill length gives the plain key "prefill".
  auto single = Build(TinyLlamaConfig(), TinyLlamaTensors(), Opts({4}, 16));
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  EXPECT_NE(single->FindSignature("prefill"), nullptr);
  EXPECT_NE(single->FindSignature("decode"), nullptr);
}

TEST(BuildModelTest, WeightsAreStoredOnceAndTiedEmbeddingIsOneTensor) {
  auto model = Build(TinyLlamaConfig(), TinyLlamaTensors(), Opts({8, 4}, 32));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  // Each checkpoint weight: one lazy buffer, referenced by every subgraph.
  std::map<std::string, std::set<uint32_t>> buffers_of;
  for (const auto& sg : model->subgraphs) {
    for (const auto& t : sg.tensors) {
      if (t.buffer != 0 && t.name.rfind("model.", 0) == 0) buffers_of[t.name].insert(t.buffer);
    }
  }
  EXPECT_EQ(buffers_of.size(), 2u + 2u * 9u);  // embed, norm, 9 per layer
  std::set<uint32_t> all;
  for (auto& [name, set] : buffers_of) {
    EXPECT_EQ(set.size(), 1u) << name;
    all.insert(*set.begin());
  }
  EXPECT_EQ(all.size(), buffers_of.size());
  size_t lazy = 0;
  for (const auto& buf : model->buffers) lazy += buf.producer != nullptr;
  EXPECT_EQ(lazy, buffers_of.size());
  // Tied: the GATHER params and the lm-head weights are the same tensor.
  for (const auto& sg : model->subgraphs) {
    int gather_params = -1, head_weights = -2;
    for (const auto& op : sg.ops) {
      const std::string& out = sg.tensors[op.outputs[0]].name;
      if (op.code == OpCode::kGather && out == "embedding.output") gather_params = op.inputs[0];
      if (op.code == OpCode::kFullyConnected && out == "logits") head_weights = op.inputs[1];
    }
    EXPECT_EQ(gather_params, head_weights) << sg.name;
  }
}

TEST(BuildModelTest, LazyWeightsReadTheCheckpoint) {
  TensorMap tensors = TinyLlamaTensors();
  const std::vector<float> q = tensors["model.layers.1.self_attn.q_proj.weight"].second;
  auto model = Build(TinyLlamaConfig(), tensors, Opts({4}, 16));
  ASSERT_TRUE(model.ok());
  const graph::Tensor* t = FindTensor(*model, 0, "model.layers.1.self_attn.q_proj.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape, (graph::Shape{8, 8}));
  EXPECT_EQ(Materialize(*model, t->buffer), q);
}

TEST(BuildModelTest, GemmaNormWeightsArePlusOne) {
  json cfg = TinyLlamaConfig();
  cfg["model_type"] = "gemma";
  cfg["head_dim"] = 4;
  TensorMap tensors = TinyLlamaTensors();
  const std::vector<float> w = tensors["model.norm.weight"].second;
  auto model = Build(cfg, tensors, Opts({4}, 16));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const graph::Tensor* t = FindTensor(*model, 0, "model.norm.weight+1");
  ASSERT_NE(t, nullptr);
  const std::vector<float> got = Materialize(*model, t->buffer);
  ASSERT_EQ(got.size(), w.size());
  for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(got[i], 1.0f + w[i]);
}

TEST(BuildModelTest, Phi3FusedWeightsAreSplitByRows) {
  json cfg = TinyLlamaConfig();
  cfg["model_type"] = "phi3";
  cfg["num_key_value_heads"] = 2;
  TensorMap tensors;
  AddTensor(tensors, "model.embed_tokens.weight", {16, 8});
  AddTensor(tensors, "model.norm.weight", {8});
  for (int i = 0; i < 2; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    AddTensor(tensors, p + "input_layernorm.weight", {8});
    AddTensor(tensors, p + "post_attention_layernorm.weight", {8});
    AddTensor(tensors, p + "self_attn.qkv_proj.weight", {24, 8});
    AddTensor(tensors, p + "self_attn.o_proj.weight", {8, 8});
    AddTensor(tensors, p + "mlp.gate_up_proj.weight", {24, 8});
    AddTensor(tensors, p + "mlp.down_proj.weight", {8, 12});
  }
  const std::vector<float> qkv = tensors["model.layers.0.self_attn.qkv_proj.weight"].second;
  const std::vector<float> gate_up = tensors["model.layers.0.mlp.gate_up_proj.weight"].second;
  auto model = Build(cfg, tensors, Opts({4}, 16));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto rows = [](const std::vector<float>& v, int from, int count) {
    return std::vector<float>(v.begin() + from * 8, v.begin() + (from + count) * 8);
  };
  const std::string base = "model.layers.0.self_attn.qkv_proj.weight";
  EXPECT_EQ(Materialize(*model, FindTensor(*model, 0, base + "[0:8]")->buffer), rows(qkv, 0, 8));
  EXPECT_EQ(Materialize(*model, FindTensor(*model, 0, base + "[8:16]")->buffer), rows(qkv, 8, 8));
  EXPECT_EQ(Materialize(*model, FindTensor(*model, 0, base + "[16:24]")->buffer), rows(qkv, 16, 8));
  const std::string mlp = "model.layers.0.mlp.gate_up_proj.weight";
  EXPECT_EQ(Materialize(*model, FindTensor(*model, 0, mlp + "[0:12]")->buffer),
            rows(gate_up, 0, 12));
  EXPECT_EQ(Materialize(*model, FindTensor(*model, 0, mlp + "[12:24]")->buffer),
            rows(gate_up, 12, 12));
}

// Falcon's three fused qkv layouts (modeling_falcon.py FalconAttention._split_heads).
TEST(BuildModelTest, FalconQkvLayouts) {
  struct Case {
    bool new_arch, multi_query;
    int kv_heads;
    std::vector<int> q_rows, k_rows, v_rows;  // head_dim-sized row blocks, in order
  };
  // hidden 8, 2 heads of 4 rows.
  const Case cases[] = {
      {false, true, 1, {0, 1}, {2}, {3}},         // [q0 q1 k v]
      {false, false, 2, {0, 3}, {1, 4}, {2, 5}},  // per head [q k v]
      {true, false, 1, {0, 1}, {2}, {3}},         // one group: [q0 q1 k v]
      {true, false, 2, {0, 3}, {1, 4}, {2, 5}},   // groups of 1: [q k v][q k v]
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.new_arch) + std::to_string(c.multi_query) +
                 std::to_string(c.kv_heads));
    json cfg = {{"model_type", "falcon"},
                {"vocab_size", 16},
                {"hidden_size", 8},
                {"num_hidden_layers", 1},
                {"num_attention_heads", 2},
                {"num_kv_heads", c.kv_heads},
                {"multi_query", c.multi_query},
                {"new_decoder_architecture", c.new_arch},
                {"parallel_attn", true},
                {"bias", false},
                {"ffn_hidden_size", 32}};
    const int blocks = static_cast<int>(c.q_rows.size() + c.k_rows.size() + c.v_rows.size());
    TensorMap tensors;
    AddTensor(tensors, "transformer.word_embeddings.weight", {16, 8});
    AddTensor(tensors, "transformer.ln_f.weight", {8});
    AddTensor(tensors, "transformer.ln_f.bias", {8});
    const std::string p = "transformer.h.0.";
    for (const char* ln : {"input_layernorm", "ln_attn", "ln_mlp"}) {
      AddTensor(tensors, p + ln + ".weight", {8});
      AddTensor(tensors, p + ln + ".bias", {8});
    }
    AddTensor(tensors, p + "self_attention.query_key_value.weight", {blocks * 4, 8});
    AddTensor(tensors, p + "self_attention.dense.weight", {8, 8});
    AddTensor(tensors, p + "mlp.dense_h_to_4h.weight", {32, 8});
    AddTensor(tensors, p + "mlp.dense_4h_to_h.weight", {8, 32});
    const std::vector<float> qkv = tensors[p + "self_attention.query_key_value.weight"].second;
    auto model = Build(cfg, tensors, Opts({4}, 16));
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    // The weights of the q/k/v FULLY_CONNECTED ops, in layer order.
    const auto& sg = model->subgraphs[0];
    std::map<std::string, std::vector<float>> got;
    for (const auto& op : sg.ops) {
      const std::string& out = sg.tensors[op.outputs[0]].name;
      if (op.code != OpCode::kFullyConnected) continue;
      for (const char* which : {"q", "k", "v"}) {
        if (out == std::string("layers.0.attn.") + which) {
          got[which] = Materialize(*model, sg.tensors[op.inputs[1]].buffer);
        }
      }
    }
    auto expect = [&](const std::vector<int>& blocks_in_order) {
      std::vector<float> v;
      for (int blk : blocks_in_order) {
        v.insert(v.end(), qkv.begin() + blk * 32, qkv.begin() + (blk + 1) * 32);
      }
      return v;
    };
    EXPECT_EQ(got["q"], expect(c.q_rows));
    EXPECT_EQ(got["k"], expect(c.k_rows));
    EXPECT_EQ(got["v"], expect(c.v_rows));
  }
}

TEST(BuildModelTest, Metadata) {
  auto model = Build(TinyLlamaConfig(), TinyLlamaTensors(), Opts({8, 4}, 32));
  ASSERT_TRUE(model.ok());
  const json cfg = json::parse(model->metadata.at(kConfigMetadataKey));
  EXPECT_EQ(cfg.at("model_type"), "llama");
  EXPECT_EQ(cfg.at("num_layers"), 2);
  const json exp = json::parse(model->metadata.at(kExportMetadataKey));
  EXPECT_EQ(exp.at("max_seq"), 32);
  EXPECT_EQ(exp.at("prefill_lengths"), (std::vector<int>{4, 8}));
  const json tok = json::parse(model->metadata.at(kTokenizerMetadataKey));
  EXPECT_EQ(tok.at("bos_token_id"), 1);
  EXPECT_EQ(tok.at("eos_token_ids"), (std::vector<int>{2}));
}

TEST(BuildModelTest, DebugTensorNames) {
  auto model = Build(TinyLlamaConfig(), TinyLlamaTensors(), Opts({4}, 16));
  ASSERT_TRUE(model.ok());
  for (const char* name :
       {"embedding.output", "layers.0.output", "layers.1.output", "final_norm.output", "logits",
        "layers.0.attn.q", "layers.1.mlp.down", "layers.1.attn.probs"}) {
    EXPECT_NE(FindTensor(*model, 0, name), nullptr) << name;
  }
  // Names are unique within each subgraph.
  for (const auto& sg : model->subgraphs) {
    std::set<std::string> names;
    for (const auto& t : sg.tensors) EXPECT_TRUE(names.insert(t.name).second) << t.name;
  }
}

void ExpectBuildError(Result<Model> r, StatusCode code, const std::vector<std::string>& parts) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  for (const auto& p : parts) {
    EXPECT_NE(r.status().message().find(p), std::string::npos) << r.status().ToString();
  }
}

TEST(BuildModelTest, MissingTensorIsNamed) {
  TensorMap t = TinyLlamaTensors();
  t.erase("model.layers.1.mlp.up_proj.weight");
  ExpectBuildError(Build(TinyLlamaConfig(), t), StatusCode::kNotFound,
                   {"fake.safetensors", "model.layers.1.mlp.up_proj.weight"});
  json untied = TinyLlamaConfig();
  untied["tie_word_embeddings"] = false;  // needs lm_head.weight
  ExpectBuildError(Build(untied, TinyLlamaTensors()), StatusCode::kNotFound, {"lm_head.weight"});
}

TEST(BuildModelTest, ShapeMismatchIsNamed) {
  TensorMap t = TinyLlamaTensors();
  AddTensor(t, "model.layers.0.self_attn.k_proj.weight", {8, 8});  // config says [4, 8]
  ExpectBuildError(Build(TinyLlamaConfig(), t), StatusCode::kInvalidArgument,
                   {"model.layers.0.self_attn.k_proj.weight", "[8,8]", "[4,8]"});
}

TEST(BuildModelTest, BadOptions) {
  ExpectBuildError(Build(TinyLlamaConfig(), TinyLlamaTensors(), Opts({4}, 0)),
                   StatusCode::kInvalidArgument, {"max_seq"});
  ExpectBuildError(Build(TinyLlamaConfig(), TinyLlamaTensors(), Opts({32}, 16)),
                   StatusCode::kInvalidArgument, {"prefill length 32"});
  ExpectBuildError(Build(TinyLlamaConfig(), TinyLlamaTensors(), Opts({4, 4}, 16)),
                   StatusCode::kInvalidArgument, {"twice"});
  ExpectBuildError(Build(TinyLlamaConfig(), TinyLlamaTensors(), Opts({}, 16)),
                   StatusCode::kInvalidArgument, {"prefill"});
}

// Gemma 3n: the KV-shared layers (2 and 3 of the fixture) own no cache tensors.
TEST(BuildModelTest, Gemma3nSharedLayersHaveNoCache) {
  auto ckpt = io::Checkpoint::Open(std::string(LITEQ_TESTDATA_DIR) + "/families/gemma3n_text");
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  std::shared_ptr<const io::Checkpoint> shared(std::move(ckpt.value()));
  auto model = BuildModel(shared, Opts({8}, 32));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ASSERT_EQ(model->signatures.size(), 2u);
  for (const graph::Signature& sig : model->signatures) {
    SCOPED_TRACE(sig.key);
    std::vector<std::string> in_names, out_names;
    for (auto& [n, idx] : sig.inputs) in_names.push_back(n);
    for (auto& [n, idx] : sig.outputs) out_names.push_back(n);
    EXPECT_EQ(in_names, (std::vector<std::string>{"tokens", "input_pos", "kv_cache_k_0",
                                                  "kv_cache_v_0", "kv_cache_k_1", "kv_cache_v_1"}));
    EXPECT_EQ(out_names, (std::vector<std::string>{"logits", "kv_cache_k_0", "kv_cache_v_0",
                                                   "kv_cache_k_1", "kv_cache_v_1"}));
  }
}

TEST(BuildModelTest, BadConfigNamesTheSource) {
  json cfg = TinyLlamaConfig();
  cfg["model_type"] = "rwkv";
  ExpectBuildError(Build(cfg, TinyLlamaTensors()), StatusCode::kUnimplemented,
                   {"fake.safetensors", "rwkv"});
}

}  // namespace
}  // namespace liteq::model
