// MatFormer extraction (model/matformer.h) on the gemma3n_text fixture. The oracle is
// a second checkpoint this test writes itself: the fixture's weights sliced by hand
// (first k rows of gate/up, first k columns of down, the kept layers' blocks of the
// per-layer embedding table and its projection, layers renumbered) with an edited
// config.json. The extracted sub-model and that checkpoint must give the same logits
// at every position, through prefill and decode, in liteq's runtime.
#include <gtest/gtest.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "e2e_util.h"
#include "model/matformer.h"
#include "tflite/reader.h"
#include "tflite/writer.h"

namespace liteq::e2e {
namespace {

using nlohmann::json;

constexpr int kFfnWidth = 80;     // half of the fixture's 160
constexpr int kSkippedLayer = 2;  // a KV-shared sliding layer (reads layer 0's cache)

struct FloatTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// A float32 safetensors file (format: 8-byte header length, JSON header, data).
void WriteSafetensors(const std::string& path, const std::map<std::string, FloatTensor>& tensors) {
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    const uint64_t bytes = t.values.size() * sizeof(float);
    header[name] = {
        {"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = text.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& [name, t] : tensors) {
    out.write(reinterpret_cast<const char*>(t.values.data()),
              static_cast<std::streamsize>(t.values.size() * sizeof(float)));
  }
}

// Rows [0, k) or columns [0, k) of a [rows, cols] tensor; `blocks` of columns/rows.
FloatTensor KeepRows(const FloatTensor& t, const std::vector<std::pair<int64_t, int64_t>>& blocks) {
  FloatTensor out{{0, t.shape[1]}, {}};
  for (const auto& [b, e] : blocks) {
    out.values.insert(out.values.end(), t.values.begin() + b * t.shape[1],
                      t.values.begin() + e * t.shape[1]);
    out.shape[0] += e - b;
  }
  return out;
}
FloatTensor KeepColumns(const FloatTensor& t,
                        const std::vector<std::pair<int64_t, int64_t>>& blocks) {
  FloatTensor out{{t.shape[0], 0}, {}};
  for (const auto& [b, e] : blocks) out.shape[1] += e - b;
  for (int64_t r = 0; r < t.shape[0]; ++r) {
    for (const auto& [b, e] : blocks) {
      for (int64_t c = b; c < e; ++c) out.values.push_back(t.values[r * t.shape[1] + c]);
    }
  }
  return out;
}

// The sub-model written directly: kept layers 0, 1, 3 of the fixture, FFN width 80.
std::string WriteSlicedCheckpoint() {
  const std::string dir = TempPath("gemma3n_half_skip2");
  std::filesystem::create_directories(dir);
  auto opened = io::Checkpoint::Open(FamilyDir("gemma3n_text"));
  LITEQ_CHECK(opened.ok());
  const io::Checkpoint& full = **opened;
  const std::map<int, int> renumber = {{0, 0}, {1, 1}, {3, 2}};
  const int64_t p = full.config()["hidden_size_per_layer_input"].get<int64_t>();
  std::vector<std::pair<int64_t, int64_t>> ple_blocks;
  for (const auto& [old_index, unused] : renumber)
    ple_blocks.push_back({old_index * p, (old_index + 1) * p});
  std::map<std::string, FloatTensor> out;
  for (const io::TensorInfo& info : full.tensors()) {
    FloatTensor t{info.shape, ReadFloats(full, info.name)};
    std::string name = info.name;
    if (name.rfind("model.layers.", 0) == 0) {
      int layer = -1;
      const char* digits = name.data() + std::strlen("model.layers.");
      auto [end, ec] = std::from_chars(digits, name.data() + name.size(), layer);
      LITEQ_CHECK(ec == std::errc());
      if (layer == kSkippedLayer) continue;
      const std::string rest(end);  // ".mlp.up_proj.weight"
      name = "model.layers." + std::to_string(renumber.at(layer)) + rest;
      if (rest == ".mlp.gate_proj.weight" || rest == ".mlp.up_proj.weight") {
        t = KeepRows(t, {{0, kFfnWidth}});
      } else if (rest == ".mlp.down_proj.weight") {
        t = KeepColumns(t, {{0, kFfnWidth}});
      }
    } else if (name == "model.embed_tokens_per_layer.weight") {
      t = KeepColumns(t, ple_blocks);
    } else if (name == "model.per_layer_model_projection.weight") {
      t = KeepRows(t, ple_blocks);
    }
    out[name] = std::move(t);
  }
  WriteSafetensors(dir + "/model.safetensors", out);
  json config = full.config();
  config["num_hidden_layers"] = 3;
  config["intermediate_size"] = {kFfnWidth, kFfnWidth, kFfnWidth};
  config["layer_types"] = {"sliding_attention", "full_attention", "full_attention"};
  config["activation_sparsity_pattern"] = {0.95, 0.95, 0.0};
  config["num_kv_shared_layers"] = 1;  // old layer 3 (full) still reads old layer 1's cache
  std::ofstream(dir + "/config.json") << config.dump(2);
  return dir;
}

std::string WriteModel(std::shared_ptr<const io::Checkpoint> ckpt, const std::string& file,
                       const json& matformer_record = nullptr) {
  auto model = model::BuildModel(std::move(ckpt), {.prefill_lengths = {16}, .max_seq = 64});
  LITEQ_CHECK(model.ok());
  if (!matformer_record.is_null()) {
    model->metadata[model::kMatformerMetadataKey] = matformer_record.dump();
  }
  const std::string path = TempPath(file);
  LITEQ_CHECK(tflite::WriteTflite(*model, path).ok());
  return path;
}

// Logits of a 12-token prompt (prefill) and of 4 greedy decode steps, concatenated.
std::vector<float> RunPrefillAndDecode(const std::string& path) {
  LoadedModel m = LoadTflite(path);
  std::vector<int32_t> prompt;
  for (int i = 0; i < 12; ++i) prompt.push_back(3 + (i * 131) % 990);
  std::vector<float> all;
  LITEQ_CHECK(m.session->Feed(prompt, &all).ok());
  for (int step = 0; step < 4; ++step) {
    auto last = m.session->last_logits();
    const int32_t next =
        static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
    const int32_t one[1] = {next};
    LITEQ_CHECK(m.session->Feed(one).ok());
    all.insert(all.end(), m.session->last_logits().begin(), m.session->last_logits().end());
  }
  return all;
}

TEST(Gemma3nMatformerTest, ExtractedModelEqualsHandSlicedCheckpoint) {
  auto opened = io::Checkpoint::Open(FamilyDir("gemma3n_text"));
  ASSERT_TRUE(opened.ok());
  std::shared_ptr<const io::Checkpoint> full = std::move(opened).value();
  auto layout = model::ParseMatformerLayout(
      json{{"ffn_widths", kFfnWidth}, {"skip_layers", {kSkippedLayer}}}, "test layout");
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  auto plan = model::PlanMatformer(*full, *layout);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->kept_layers, (std::vector<int>{0, 1, 3}));
  EXPECT_EQ(plan->config["num_kv_shared_layers"], 1);
  auto sub = model::ExtractMatformer(full, *plan);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();

  const std::string extracted =
      WriteModel(*sub, "matformer_extracted.tflite", plan->ToJson(*layout));
  auto direct_ckpt = io::Checkpoint::Open(WriteSlicedCheckpoint());
  ASSERT_TRUE(direct_ckpt.ok()) << direct_ckpt.status().ToString();
  const std::string direct = WriteModel(std::move(direct_ckpt).value(), "matformer_direct.tflite");

  const std::vector<float> a = RunPrefillAndDecode(extracted);
  const std::vector<float> b = RunPrefillAndDecode(direct);
  ASSERT_EQ(a.size(), b.size());
  const double err = MaxRelativeError(a, b);
  EXPECT_LE(err, 1e-6);
  std::printf(
      "[ matformer ] extracted vs hand-sliced checkpoint: max rel err %.2e over %zu logits\n", err,
      a.size());

  // The sub-model is a different model from the full one (the comparison above is
  // not vacuous), and the file records the layout.
  const std::vector<float> f = RunPrefillAndDecode(WriteModel(full, "matformer_full.tflite"));
  ASSERT_EQ(f.size(), a.size());
  EXPECT_GT(MaxRelativeError(a, f), 1e-3);
  auto read = tflite::ReadTflite(extracted);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ((*read)->metadata.count(model::kMatformerMetadataKey), 1u);
  const json record = json::parse((*read)->metadata.at(model::kMatformerMetadataKey));
  EXPECT_EQ(record["kept_layers"], json({0, 1, 3}));
  EXPECT_EQ(record["skip_layers"], json({kSkippedLayer}));
  EXPECT_EQ(record["ffn_widths"], json({kFfnWidth, kFfnWidth, kFfnWidth}));
  EXPECT_EQ(record["full_num_layers"], 4);
}

// The "full" preset changes nothing: the same logits as the checkpoint itself.
TEST(Gemma3nMatformerTest, FullPresetIsTheIdentity) {
  auto opened = io::Checkpoint::Open(FamilyDir("gemma3n_text"));
  ASSERT_TRUE(opened.ok());
  std::shared_ptr<const io::Checkpoint> full = std::move(opened).value();
  auto layout = model::LoadMatformerLayout("full");
  ASSERT_TRUE(layout.ok());
  auto plan = model::PlanMatformer(*full, *layout);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  auto sub = model::ExtractMatformer(full, *plan);
  ASSERT_TRUE(sub.ok());
  const auto a = RunPrefillAndDecode(WriteModel(*sub, "matformer_identity.tflite"));
  const auto b = RunPrefillAndDecode(WriteModel(full, "matformer_full2.tflite"));
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace liteq::e2e
