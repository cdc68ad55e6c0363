// Hugging Face model directories: the sharded bf16 Gemma 3 model, and Checkpoint::Open
// dispatch.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "io/checkpoint.h"
#include "test_files.h"

namespace liteq::io {
namespace {

using testing::ModelsDir;
using testing::ReadAll;

TEST(HfDirectoryTest, OpensShardedGemma3) {
  const std::string dir = ModelsDir() + "/gemma3-tiny";
  auto ckpt = Checkpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  const Checkpoint& c = **ckpt;
  EXPECT_EQ(c.path(), dir);
  EXPECT_EQ(c.config()["model_type"], "gemma3_text");
  EXPECT_EQ(c.config()["hidden_size"], 192);

  const std::vector<uint8_t> index_bytes = ReadAll(dir + "/model.safetensors.index.json");
  const nlohmann::json weight_map = nlohmann::json::parse(index_bytes)["weight_map"];
  ASSERT_EQ(c.tensors().size(), weight_map.size());
  uint64_t total = 0;
  for (const TensorInfo& t : c.tensors()) {
    ASSERT_TRUE(weight_map.contains(t.name)) << t.name;
    EXPECT_EQ(std::filesystem::path(t.file).filename().string(), weight_map[t.name]) << t.name;
    EXPECT_EQ(t.dtype, WeightDType::kBF16) << t.name;
    EXPECT_EQ(t.nbytes, static_cast<uint64_t>(t.num_elements()) * 2) << t.name;
    total += t.nbytes;
  }
  // The index metadata records the total tensor bytes (transformers' save_pretrained).
  EXPECT_EQ(total, nlohmann::json::parse(index_bytes)["metadata"]["total_size"].get<uint64_t>());

  // Spot-check a tensor from each shard against a manual bf16 decode of the file bytes.
  for (const char* name : {"model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight"}) {
    const TensorInfo* info = c.Find(name);
    ASSERT_NE(info, nullptr) << name;
    const std::vector<uint8_t> shard = ReadAll(info->file);
    auto values = c.ReadFloat32(name);
    ASSERT_TRUE(values.ok()) << values.status().ToString();
    ASSERT_EQ(values->size(), static_cast<size_t>(info->num_elements()));
    for (size_t i = 0; i < 2000; ++i) {
      uint16_t h;
      std::memcpy(&h, shard.data() + info->offset + 2 * i, 2);
      const uint32_t bits = static_cast<uint32_t>(h) << 16;
      float want;
      std::memcpy(&want, &bits, 4);
      ASSERT_EQ((*values)[i], want) << name << "[" << i << "]";
    }
  }
}

TEST(HfDirectoryTest, SingleShardFileOpensWithEmptyConfig) {
  const std::string path = ModelsDir() + "/gemma3-tiny/model-00002-of-00002.safetensors";
  auto ckpt = Checkpoint::Open(path);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  EXPECT_TRUE((*ckpt)->config().is_object());
  EXPECT_TRUE((*ckpt)->config().empty());
  EXPECT_EQ((*ckpt)->Find("model.embed_tokens.weight"), nullptr);  // lives in shard 1
  EXPECT_NE((*ckpt)->Find("model.layers.0.mlp.up_proj.weight"), nullptr);
}

TEST(HfDirectoryTest, MissingPathIsNotFound) {
  auto ckpt = Checkpoint::Open(ModelsDir() + "/does-not-exist");
  ASSERT_FALSE(ckpt.ok());
  EXPECT_EQ(ckpt.status().code(), StatusCode::kNotFound);
  EXPECT_NE(ckpt.status().message().find("does-not-exist"), std::string::npos);
}

}  // namespace
}  // namespace liteq::io
