// safetensors reading: a hand-made file with every supported dtype, the bundled fp16
// Llama, every family fixture and the Hugging Face reference files.
#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "io/checkpoint.h"
#include "test_files.h"

namespace liteq::io {
namespace {

using testing::Append;
using testing::ModelsDir;
using testing::ReadAll;
using testing::Safetensors;
using testing::ScratchDir;
using testing::TestdataDir;

// IEEE half decoded with ldexp, independent of common/half.h.
float HalfReference(uint16_t h) {
  const int exp = (h >> 10) & 0x1f;
  const int mant = h & 0x3ff;
  float v;
  if (exp == 0) {
    v = std::ldexp(static_cast<float>(mant), -24);
  } else if (exp == 31) {
    v = mant != 0 ? NAN : INFINITY;
  } else {
    v = std::ldexp(static_cast<float>(mant + 1024), exp - 25);
  }
  return (h & 0x8000) != 0 ? -v : v;
}

float Bf16Reference(uint16_t h) {
  // bfloat16 is the top half of an IEEE float32.
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// The tensors of a safetensors file as an independent parse sees them: name -> entry,
// plus the absolute start of the data section.
struct RawHeader {
  nlohmann::json entries;
  uint64_t data_begin = 0;
};

RawHeader ParseRawHeader(const std::vector<uint8_t>& file) {
  uint64_t n;
  std::memcpy(&n, file.data(), 8);
  RawHeader h;
  h.entries = nlohmann::json::parse(file.begin() + 8, file.begin() + 8 + static_cast<int64_t>(n));
  h.entries.erase("__metadata__");
  h.data_begin = 8 + n;
  return h;
}

uint16_t U16At(const std::vector<uint8_t>& file, uint64_t offset) {
  uint16_t v;
  std::memcpy(&v, file.data() + offset, 2);
  return v;
}

TEST(SafetensorsTest, ReadsEveryDtypeFromHandMadeFile) {
  std::vector<uint8_t> data;
  for (float f : {1.0f, -2.5f, 0.125f, 3e-8f, -0.0f, 1e30f}) Append(&data, f);  // [0, 24)
  for (uint16_t h : {0x3E00, 0xC000, 0x0001}) Append<uint16_t>(&data, h);       // [24, 30)
  for (uint16_t h : {0x3F80, 0xBF00, 0x4049}) Append<uint16_t>(&data, h);       // [30, 36)
  for (int32_t i : {-7, 2147483647}) Append(&data, i);                          // [36, 44)
  for (int64_t i : {int64_t{-3}, int64_t{1} << 40}) Append(&data, i);           // [44, 60)
  for (int8_t i : {-128, 5}) Append(&data, i);                                  // [60, 62)
  for (uint8_t i : {255, 0}) Append(&data, i);                                  // [62, 64)
  for (uint8_t i : {1, 0, 1}) Append(&data, i);                                 // [64, 67)
  // The header length (9 + ...) is odd on purpose: the data section is unaligned.
  const std::string header = R"({"__metadata__":{"format":"pt"},)"
                             R"("f32":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                             R"("f16":{"dtype":"F16","shape":[3],"data_offsets":[24,30]},)"
                             R"("bf16":{"dtype":"BF16","shape":[3,1],"data_offsets":[30,36]},)"
                             R"("i32":{"dtype":"I32","shape":[2],"data_offsets":[36,44]},)"
                             R"("i64":{"dtype":"I64","shape":[2],"data_offsets":[44,60]},)"
                             R"("i8":{"dtype":"I8","shape":[2],"data_offsets":[60,62]},)"
                             R"("u8":{"dtype":"U8","shape":[2],"data_offsets":[62,64]},)"
                             R"("mask":{"dtype":"BOOL","shape":[3],"data_offsets":[64,67]},)"
                             R"("empty":{"dtype":"F32","shape":[0,4],"data_offsets":[67,67]}} )";
  ScratchDir dir;
  const std::string path = dir.Write("all.safetensors", Safetensors(header, data));
  auto ckpt = Checkpoint::Open(path);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  const Checkpoint& c = **ckpt;
  EXPECT_TRUE(c.config().is_object());
  EXPECT_TRUE(c.config().empty());
  ASSERT_EQ(c.tensors().size(), 9u);
  EXPECT_EQ(c.tensors()[0].name, "bf16");  // sorted by name

  const TensorInfo* f32 = c.Find("f32");
  ASSERT_NE(f32, nullptr);
  EXPECT_EQ(f32->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(f32->offset, 8 + header.size());
  EXPECT_EQ(f32->nbytes, 24u);
  EXPECT_EQ(f32->file, path);

  auto expect_floats = [&](const char* name, std::vector<float> want) {
    auto got = c.ReadFloat32(name);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), want.size()) << name;
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_EQ((*got)[i], want[i]) << name << "[" << i << "]";
  };
  expect_floats("f32", {1.0f, -2.5f, 0.125f, 3e-8f, -0.0f, 1e30f});
  expect_floats("f16", {1.5f, -2.0f, std::ldexp(1.0f, -24)});
  expect_floats("bf16", {1.0f, -0.5f, 3.140625f});
  expect_floats("i32", {-7.0f, 2147483647.0f});
  expect_floats("i64", {-3.0f, std::ldexp(1.0f, 40)});
  expect_floats("i8", {-128.0f, 5.0f});
  expect_floats("u8", {255.0f, 0.0f});
  expect_floats("mask", {1.0f, 0.0f, 1.0f});
  expect_floats("empty", {});

  auto i32 = c.ReadInt32("i32");
  ASSERT_TRUE(i32.ok());
  EXPECT_EQ(*i32, (std::vector<int32_t>{-7, 2147483647}));
  auto i64 = c.ReadInt32("i64");  // 2^40 does not fit
  ASSERT_FALSE(i64.ok());
  EXPECT_EQ(i64.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(i64.status().message().find("'i64'"), std::string::npos);
  auto not_int = c.ReadInt32("f32");
  ASSERT_FALSE(not_int.ok());
  EXPECT_EQ(not_int.status().code(), StatusCode::kInvalidArgument);

  std::vector<float> wrong_size(5);
  Status s = c.ReadFloat32("f32", std::span<float>(wrong_size));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("all.safetensors: tensor 'f32'"), std::string::npos) << s.message();

  auto raw = c.RawBytes("bf16");
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->size(), 6u);
  EXPECT_EQ(std::memcmp(raw->data(), data.data() + 30, 6), 0);

  auto missing = c.ReadFloat32("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.Find("nope"), nullptr);
}

TEST(SafetensorsTest, SniffsSafetensorsWithoutExtension) {
  std::vector<uint8_t> data;
  Append(&data, 4.0f);
  ScratchDir dir;
  const std::string path =
      dir.Write("weights.bin",
                Safetensors(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data));
  auto ckpt = Checkpoint::Open(path);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  EXPECT_EQ(*(*ckpt)->ReadFloat32("x"), std::vector<float>{4.0f});
}

TEST(SafetensorsTest, LlamaTinyFp16MatchesRawBytes) {
  const std::string dir = ModelsDir() + "/llama-tiny";
  auto ckpt = Checkpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  const Checkpoint& c = **ckpt;
  EXPECT_EQ(c.config()["model_type"], "llama");
  EXPECT_EQ(c.config()["hidden_size"], 128);

  const std::vector<uint8_t> file = ReadAll(dir + "/model.safetensors");
  const RawHeader raw = ParseRawHeader(file);
  ASSERT_EQ(c.tensors().size(), raw.entries.size());
  for (const TensorInfo& t : c.tensors()) {
    ASSERT_TRUE(raw.entries.contains(t.name)) << t.name;
    const auto& e = raw.entries[t.name];
    EXPECT_EQ(t.dtype, WeightDType::kF16) << t.name;
    EXPECT_EQ(t.shape, e["shape"].get<std::vector<int64_t>>()) << t.name;
    EXPECT_EQ(t.offset, raw.data_begin + e["data_offsets"][0].get<uint64_t>()) << t.name;
  }
  for (const char* name : {"model.embed_tokens.weight", "model.layers.2.self_attn.k_proj.weight",
                           "model.norm.weight"}) {
    auto values = c.ReadFloat32(name);
    ASSERT_TRUE(values.ok()) << values.status().ToString();
    const uint64_t begin = raw.data_begin + raw.entries[name]["data_offsets"][0].get<uint64_t>();
    ASSERT_EQ(values->size(), c.Find(name)->num_elements());
    for (size_t i = 0; i < std::min<size_t>(values->size(), 4096); ++i) {
      ASSERT_EQ((*values)[i], HalfReference(U16At(file, begin + 2 * i))) << name << "[" << i << "]";
    }
  }
}

TEST(SafetensorsTest, EveryFamilyFixtureOpensAndConverts) {
  int families = 0;
  for (const auto& entry : std::filesystem::directory_iterator(TestdataDir() + "/families")) {
    if (!entry.is_directory()) continue;
    ++families;
    const std::string dir = entry.path().string();
    SCOPED_TRACE(dir);
    auto ckpt = Checkpoint::Open(dir);
    ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
    const Checkpoint& c = **ckpt;
    ASSERT_TRUE(c.config()["model_type"].is_string());
    const int64_t vocab = c.config()["vocab_size"];
    const int64_t hidden = c.config()["hidden_size"];

    const std::vector<uint8_t> file = ReadAll(dir + "/model.safetensors");
    const RawHeader raw = ParseRawHeader(file);
    ASSERT_EQ(c.tensors().size(), raw.entries.size());
    bool has_embedding = false;
    for (const TensorInfo& t : c.tensors()) {
      has_embedding |= t.shape == std::vector<int64_t>{vocab, hidden};
      ASSERT_EQ(t.dtype, WeightDType::kBF16) << t.name;
      auto values = c.ReadFloat32(t.name);
      ASSERT_TRUE(values.ok()) << values.status().ToString();
      const uint64_t begin =
          raw.data_begin + raw.entries[t.name]["data_offsets"][0].get<uint64_t>();
      for (size_t i = 0; i < values->size(); ++i) {
        ASSERT_EQ((*values)[i], Bf16Reference(U16At(file, begin + 2 * i)))
            << t.name << "[" << i << "]";
      }
    }
    EXPECT_TRUE(has_embedding) << "no [vocab_size, hidden_size] tensor";
  }
  EXPECT_GE(families, 12);
}

TEST(SafetensorsTest, ReferenceFilesHoldEvalWindows) {
  for (const char* model : {"gemma3-tiny", "llama-tiny"}) {
    SCOPED_TRACE(model);
    auto ckpt = Checkpoint::Open(ModelsDir() + "/" + model + "/reference.safetensors");
    ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
    const TensorInfo* windows = (*ckpt)->Find("eval.windows");
    ASSERT_NE(windows, nullptr);
    EXPECT_EQ(windows->dtype, WeightDType::kI32);
    EXPECT_EQ(windows->shape, (std::vector<int64_t>{64, 256}));
    auto ids = (*ckpt)->ReadInt32("eval.windows");
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    ASSERT_EQ(ids->size(), 64u * 256u);
    // The windows are BOS(1) + ids + EOS(2) per document, concatenated.
    EXPECT_EQ((*ids)[0], 1);
    int bos = 0;
    for (int32_t id : *ids) {
      ASSERT_GE(id, 0);
      ASSERT_LT(id, 32000);
      bos += id == 1;
    }
    EXPECT_GT(bos, 1);
    auto as_float = (*ckpt)->ReadFloat32("eval.windows");
    ASSERT_TRUE(as_float.ok());
    for (size_t i = 0; i < ids->size(); ++i)
      ASSERT_EQ((*as_float)[i], static_cast<float>((*ids)[i]));

    auto nll = (*ckpt)->ReadFloat32("eval.nll_per_window");
    ASSERT_TRUE(nll.ok()) << nll.status().ToString();
    ASSERT_EQ(nll->size(), 64u);
    for (float v : *nll) EXPECT_TRUE(std::isfinite(v) && v > 0.0f) << v;
  }
}

}  // namespace
}  // namespace liteq::io
