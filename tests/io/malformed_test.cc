// Broken inputs, written into a scratch directory: every one must fail with a Status
// naming the file and (where there is one) the tensor, and never crash.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/checkpoint.h"
#include "io/llama2c.h"
#include "test_files.h"

namespace liteq::io {
namespace {

using testing::Append;
using testing::ModelsDir;
using testing::ReadAll;
using testing::Safetensors;
using testing::ScratchDir;

std::vector<uint8_t> Zeros(size_t n) { return std::vector<uint8_t>(n, 0); }

// Opens `path` and expects an error whose message contains every one of `parts`.
void ExpectOpenError(const std::string& path, std::vector<std::string> parts) {
  auto ckpt = Checkpoint::Open(path);
  ASSERT_FALSE(ckpt.ok()) << "opened " << path;
  const std::string& msg = ckpt.status().message();
  for (const std::string& part : parts) {
    EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
  }
}

std::string Entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":" + offsets + "}";
}

// Builds {"entry", ...} by appending (GCC 12 warns falsely on literal + temporary string).
std::string Obj(std::initializer_list<std::string> entries) {
  std::string s = "{";
  for (const std::string& e : entries) {
    if (s.size() > 1) s += ",";
    s += e;
  }
  s += "}";
  return s;
}

constexpr char kUp[] = "model.layers.0.mlp.up_proj.weight";

TEST(MalformedSafetensorsTest, TooShortForHeaderLength) {
  ScratchDir dir;
  ExpectOpenError(dir.Write("short.safetensors", Zeros(5)), {"short.safetensors", "too short"});
  ExpectOpenError(dir.Write("empty.safetensors", Zeros(0)), {"empty.safetensors"});
}

TEST(MalformedSafetensorsTest, HeaderLengthLargerThanFile) {
  ScratchDir dir;
  std::vector<uint8_t> bytes = Safetensors("{}", {});
  bytes[0] = 0xff;
  bytes[7] = 0x7f;  // ~9.2e18
  ExpectOpenError(dir.Write("big.safetensors", bytes), {"big.safetensors", "header length"});
}

TEST(MalformedSafetensorsTest, TruncatedFile) {
  ScratchDir dir;
  std::vector<uint8_t> good = Safetensors(Obj({Entry(kUp, "F32", "[4,4]", "[0,64]")}), Zeros(64));
  good.resize(good.size() - 10);
  ExpectOpenError(dir.Write("cut.safetensors", good), {"cut.safetensors", kUp, "[0, 64]"});
  // Cut inside the JSON header.
  std::vector<uint8_t> in_header =
      Safetensors(Obj({Entry(kUp, "F32", "[4,4]", "[0,64]")}), Zeros(64));
  in_header.resize(30);
  ExpectOpenError(dir.Write("cut2.safetensors", in_header), {"cut2.safetensors"});
}

TEST(MalformedSafetensorsTest, MalformedJson) {
  ScratchDir dir;
  ExpectOpenError(dir.Write("bad.safetensors", Safetensors("{\"a\": {\"dtype\": ", Zeros(4))),
                  {"bad.safetensors", "malformed JSON"});
  ExpectOpenError(dir.Write("array.safetensors", Safetensors("[1, 2]", {})),
                  {"array.safetensors", "object"});
  ExpectOpenError(dir.Write("dup.safetensors", Safetensors(Obj({Entry("w", "F32", "[1]", "[0,4]"),
                                                                Entry("w", "F32", "[1]", "[4,8]")}),
                                                           Zeros(8))),
                  {"dup.safetensors", "'w'", "twice"});
  ExpectOpenError(dir.Write("notobj.safetensors", Safetensors("{\"w\": 3}", {})),
                  {"notobj.safetensors", "'w'"});
  ExpectOpenError(dir.Write("nodtype.safetensors",
                            Safetensors(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", Zeros(4))),
                  {"nodtype.safetensors", "'w'", "dtype"});
  ExpectOpenError(dir.Write("nooffsets.safetensors",
                            Safetensors(R"({"w":{"dtype":"F32","shape":[1]}})", Zeros(4))),
                  {"nooffsets.safetensors", "'w'", "data_offsets"});
}

TEST(MalformedSafetensorsTest, OffsetsBeyondDataSection) {
  ScratchDir dir;
  ExpectOpenError(dir.Write("beyond.safetensors",
                            Safetensors(Obj({Entry(kUp, "F32", "[4]", "[8,24]")}), Zeros(16))),
                  {"beyond.safetensors", kUp, "data_offsets [8, 24]", "beyond"});
  ExpectOpenError(
      dir.Write(
          "huge.safetensors",
          Safetensors(Obj({Entry(kUp, "U8", "[1]", "[18446744073709551615,18446744073709551615]")}),
                      Zeros(16))),
      {"huge.safetensors", kUp});
  ExpectOpenError(dir.Write("neg.safetensors",
                            Safetensors(Obj({Entry(kUp, "U8", "[1]", "[-1,0]")}), Zeros(16))),
                  {"neg.safetensors", kUp});
}

TEST(MalformedSafetensorsTest, BeginAfterEnd) {
  ScratchDir dir;
  ExpectOpenError(
      dir.Write("model.safetensors",
                Safetensors(Obj({Entry(kUp, "U8", "[0]", "[100,90]")}), Zeros(128))),
      {std::string("model.safetensors: tensor '").append(kUp).append("': data_offsets [100, 90]")});
}

TEST(MalformedSafetensorsTest, ShapeAndByteLengthDisagree) {
  ScratchDir dir;
  ExpectOpenError(dir.Write("mismatch.safetensors",
                            Safetensors(Obj({Entry(kUp, "BF16", "[4,4]", "[0,64]")}), Zeros(64))),
                  {"mismatch.safetensors", kUp, "BF16", "needs 32"});
  // Products that overflow 64 bits must be caught, not wrapped to a small number.
  ExpectOpenError(
      dir.Write("overflow.safetensors",
                Safetensors(Obj({Entry(kUp, "F32", "[4294967296,4294967296,4294967296]", "[0,0]")}),
                            Zeros(8))),
      {"overflow.safetensors", kUp});
  ExpectOpenError(dir.Write("negshape.safetensors",
                            Safetensors(Obj({Entry(kUp, "F32", "[-1,4]", "[0,16]")}), Zeros(16))),
                  {"negshape.safetensors", kUp, "shape"});
  ExpectOpenError(dir.Write("floatshape.safetensors",
                            Safetensors(Obj({Entry(kUp, "F32", "[1.5]", "[0,4]")}), Zeros(16))),
                  {"floatshape.safetensors", kUp, "shape"});
}

TEST(MalformedSafetensorsTest, OverlappingTensors) {
  ScratchDir dir;
  ExpectOpenError(
      dir.Write("overlap.safetensors", Safetensors(Obj({Entry("a", "F32", "[4]", "[0,16]"),
                                                        Entry("b", "F32", "[4]", "[12,28]")}),
                                                   Zeros(28))),
      {"overlap.safetensors", "'b'", "overlap tensor 'a'"});
  // Zero-size tensors occupy no bytes and may sit anywhere.
  auto ok = Checkpoint::Open(dir.Write(
      "empty_ok.safetensors",
      Safetensors(Obj({Entry("a", "F32", "[4]", "[0,16]"), Entry("b", "F32", "[0]", "[8,8]")}),
                  Zeros(16))));
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
}

TEST(MalformedSafetensorsTest, UnknownDtype) {
  ScratchDir dir;
  ExpectOpenError(dir.Write("dtype.safetensors",
                            Safetensors(Obj({Entry(kUp, "F128", "[1]", "[0,16]")}), Zeros(16))),
                  {"dtype.safetensors", kUp, "F128"});
}

// A copy of the sharded gemma3-tiny directory's small files with a hand-written index.
class MalformedDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("config.json", std::string(R"({"model_type": "llama"})"));
    dir_.Write("shard-a.safetensors",
               Safetensors(Obj({Entry("a.weight", "F32", "[2]", "[0,8]"),
                                Entry("shared.weight", "F32", "[1]", "[8,12]")}),
                           Zeros(12)));
    dir_.Write("shard-b.safetensors",
               Safetensors(Obj({Entry("b.weight", "F32", "[2]", "[0,8]")}), Zeros(8)));
  }
  void WriteIndex(const std::string& weight_map) {
    dir_.Write("model.safetensors.index.json",
               "{\"metadata\": {}, \"weight_map\": {" + weight_map + "}}");
  }
  ScratchDir dir_;
};

TEST_F(MalformedDirectoryTest, ValidIndexOpens) {
  WriteIndex(R"("a.weight": "shard-a.safetensors", "b.weight": "shard-b.safetensors")");
  auto ckpt = Checkpoint::Open(dir_.path());
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  EXPECT_EQ((*ckpt)->config()["model_type"], "llama");
  EXPECT_EQ((*ckpt)->tensors().size(), 3u);  // shared.weight is in shard a, unlisted
}

TEST_F(MalformedDirectoryTest, MissingShard) {
  WriteIndex(R"("a.weight": "shard-a.safetensors", "c.weight": "shard-c.safetensors")");
  ExpectOpenError(dir_.path(), {"shard-c.safetensors", "'c.weight'", "missing"});
}

TEST_F(MalformedDirectoryTest, TensorMissingFromShard) {
  WriteIndex(R"("a.weight": "shard-a.safetensors", "z.weight": "shard-b.safetensors")");
  ExpectOpenError(dir_.path(), {"shard-b.safetensors", "'z.weight'"});
}

TEST_F(MalformedDirectoryTest, DuplicateTensorAcrossShards) {
  dir_.Write("shard-b.safetensors",
             Safetensors(Obj({Entry("b.weight", "F32", "[2]", "[0,8]"),
                              Entry("shared.weight", "F32", "[1]", "[8,12]")}),
                         Zeros(12)));
  WriteIndex(R"("a.weight": "shard-a.safetensors", "b.weight": "shard-b.safetensors")");
  ExpectOpenError(dir_.path(), {"'shared.weight'", "shard-a.safetensors", "shard-b.safetensors"});
}

TEST_F(MalformedDirectoryTest, ShardPathEscapingDirectory) {
  WriteIndex(R"("a.weight": "../shard-a.safetensors")");
  ExpectOpenError(dir_.path(), {"model.safetensors.index.json", "'a.weight'"});
}

TEST_F(MalformedDirectoryTest, MalformedIndex) {
  dir_.Write("model.safetensors.index.json", std::string(R"({"weight_map": [1, 2]})"));
  ExpectOpenError(dir_.path(), {"model.safetensors.index.json", "weight_map"});
  dir_.Write("model.safetensors.index.json", std::string(R"({"weight_map": )"));
  ExpectOpenError(dir_.path(), {"model.safetensors.index.json", "malformed JSON"});
}

TEST_F(MalformedDirectoryTest, MalformedConfig) {
  WriteIndex(R"("a.weight": "shard-a.safetensors")");
  dir_.Write("config.json", std::string(R"({"model_type": "llama",)"));
  ExpectOpenError(dir_.path(), {"config.json", "malformed JSON"});
  dir_.Write("config.json", std::string("[]"));
  ExpectOpenError(dir_.path(), {"config.json", "object"});
  std::filesystem::remove(dir_.Path("config.json"));
  ExpectOpenError(dir_.path(), {"config.json"});
}

TEST_F(MalformedDirectoryTest, NoWeights) {
  std::filesystem::remove(dir_.Path("shard-a.safetensors"));
  ExpectOpenError(dir_.path(), {"model.safetensors"});
}

TEST_F(MalformedDirectoryTest, BrokenShardHeaderNamesShard) {
  WriteIndex(R"("a.weight": "shard-a.safetensors", "b.weight": "shard-b.safetensors")");
  dir_.Write("shard-b.safetensors",
             Safetensors(Obj({Entry("b.weight", "F32", "[2]", "[0,80]")}), Zeros(8)));
  ExpectOpenError(dir_.path(), {"shard-b.safetensors", "'b.weight'"});
}

std::vector<uint8_t> Stories(const char* name) {
  return ReadAll(ModelsDir() + "/stories260K/" + name);
}

TEST(MalformedLlama2cTest, TruncatedNamesTheCutTensor) {
  ScratchDir dir;
  // Legacy: tok_embeddings (32768 floats) then rms_att (5 x 64) then wq: cutting 4
  // bytes into wq's first layer cuts layer 0's q_proj.
  std::vector<uint8_t> legacy = Stories("stories260K.bin");
  legacy.resize(28 + 4 * (32768 + 320) + 4);
  ExpectOpenError(dir.Write("legacy.bin", legacy),
                  {"legacy.bin", "truncated", "'model.layers.0.self_attn.q_proj.weight'"});
  // Only the RoPE tables missing.
  legacy = Stories("stories260K.bin");
  legacy.resize(legacy.size() - 100);
  ExpectOpenError(dir.Write("legacy2.bin", legacy), {"legacy2.bin", "'freq_cis_imag'"});
  // v1: the last array is w3 of the last layer.
  std::vector<uint8_t> v1 = Stories("stories260K_v1.bin");
  v1.resize(v1.size() - 1);
  ExpectOpenError(dir.Write("v1.bin", v1), {"v1.bin", "'model.layers.4.mlp.up_proj.weight'"});
  v1.resize(100);  // inside the 256-byte header
  ExpectOpenError(dir.Write("v1_header.bin", v1), {"v1_header.bin", "header"});
  // Too long is an error as well: the size must match exactly.
  std::vector<uint8_t> longer = Stories("stories260K.bin");
  longer.resize(longer.size() + 4);
  ExpectOpenError(dir.Write("long.bin", longer), {"long.bin", "trailing"});
}

TEST(MalformedLlama2cTest, InvalidHeaderValues) {
  ScratchDir dir;
  auto legacy_header = [](std::vector<int32_t> values) {
    std::vector<uint8_t> bytes;
    for (int32_t v : values) Append(&bytes, v);
    bytes.resize(bytes.size() + 4096, 0);
    return bytes;
  };
  ExpectOpenError(dir.Write("zero.bin", legacy_header({0, 172, 5, 8, 4, 512, 512})),
                  {"zero.bin", "dim = 0"});
  ExpectOpenError(dir.Write("neg.bin", legacy_header({64, 172, -5, 8, 4, 512, 512})),
                  {"neg.bin", "n_layers = -5"});
  ExpectOpenError(dir.Write("intmin.bin", legacy_header({64, 172, 5, 8, 4, INT32_MIN, 512})),
                  {"intmin.bin", "vocab_size"});
  ExpectOpenError(dir.Write("heads.bin", legacy_header({64, 172, 5, 7, 7, 512, 512})),
                  {"heads.bin", "does not divide dim"});
  ExpectOpenError(dir.Write("kv.bin", legacy_header({64, 172, 5, 8, 3, 512, 512})),
                  {"kv.bin", "n_kv_heads = 3"});
  ExpectOpenError(dir.Write("kvbig.bin", legacy_header({64, 172, 5, 8, 16, 512, 512})),
                  {"kvbig.bin", "n_kv_heads = 16"});
  ExpectOpenError(dir.Write("huge.bin", legacy_header({1 << 30, 172, 5, 8, 4, 512, 512})),
                  {"huge.bin", "dim"});
  ExpectOpenError(dir.Write("tiny.bin", std::vector<uint8_t>{1, 2, 3}), {"tiny.bin"});

  std::vector<uint8_t> v1 = Stories("stories260K_v1.bin");
  std::vector<uint8_t> bad = v1;
  const int32_t zero_heads = 0;
  std::memcpy(bad.data() + 8 + 12, &zero_heads, 4);
  ExpectOpenError(dir.Write("v1_heads.bin", bad), {"v1_heads.bin", "n_heads = 0"});
  bad = v1;
  bad[36] = 7;
  ExpectOpenError(dir.Write("v1_shared.bin", bad), {"v1_shared.bin", "shared_classifier"});
  bad = v1;
  bad[4] = 2;  // version 2 = int8 export
  ExpectOpenError(dir.Write("v2.bin", bad), {"v2.bin", "version 2"});
}

TEST(MalformedTest, UnrecognisedFiles) {
  ScratchDir dir;
  ExpectOpenError(dir.Write("notes.txt", std::string("hello, this is not a model at all\n")),
                  {"notes.txt", "llama2.c"});
  ExpectOpenError(dir.Write("torch.bin", std::string("PK\x03\x04 pickle data here.........")),
                  {"torch.bin", "PyTorch"});
}

// Cheap fuzzing: every strict prefix of a valid file must be rejected, and any single
// corrupted byte must give either an error or a checkpoint whose tensors all read
// (never a crash; CI runs this under ASan/UBSan).
void ExpectPrefixesFailAndFlipsAreSafe(const ScratchDir& dir, const std::string& name,
                                       const std::vector<uint8_t>& good, size_t flip_limit) {
  ASSERT_TRUE(Checkpoint::Open(dir.Write(name, good)).ok());
  // Every prefix through the headers, then a sample of the payload (keeps ASan runs short).
  for (size_t n = 0; n < good.size(); n += (n < 300 ? 1 : 13)) {
    std::vector<uint8_t> prefix(good.begin(), good.begin() + static_cast<int64_t>(n));
    auto ckpt = Checkpoint::Open(dir.Write(name, prefix));
    ASSERT_FALSE(ckpt.ok()) << name << " truncated to " << n << " bytes opened";
    ASSERT_NE(ckpt.status().message().find(name), std::string::npos) << ckpt.status().message();
  }
  for (size_t i = 0; i < std::min(good.size(), flip_limit); ++i) {
    for (int value : {0xff, good[i] ^ 0x01}) {
      std::vector<uint8_t> bad = good;
      bad[i] = static_cast<uint8_t>(value);
      auto ckpt = Checkpoint::Open(dir.Write(name, bad));
      if (!ckpt.ok()) continue;
      for (const TensorInfo& t : (*ckpt)->tensors()) {
        ASSERT_TRUE((*ckpt)->ReadFloat32(t.name).ok()) << name << " byte " << i;
      }
    }
  }
}

TEST(MalformedTest, PrefixesAndByteFlipsOfSafetensors) {
  ScratchDir dir;
  const std::vector<uint8_t> good =
      Safetensors(Obj({Entry("a", "BF16", "[2,3]", "[0,12]"), Entry("b", "I64", "[1]", "[12,20]"),
                       Entry("c", "F32", "[2]", "[20,28]")}),
                  Zeros(28));
  ExpectPrefixesFailAndFlipsAreSafe(dir, "fuzz.safetensors", good, good.size());
}

TEST(MalformedTest, PrefixesAndByteFlipsOfLlama2c) {
  ScratchDir dir;
  for (int version : {0, 1}) {
    std::vector<uint8_t> good;
    if (version == 1) {
      Append<uint32_t>(&good, kLlama2cMagic);
      Append<int32_t>(&good, 1);
    }
    // dim 4, hidden 6, 1 layer, 2 heads, 1 kv head, vocab 3, seq_len 2 (unshared).
    for (int32_t v : {4, 6, 1, 2, 1, version == 0 ? -3 : 3, 2}) Append(&good, v);
    if (version == 1) {
      good.push_back(0);  // unshared classifier
      good.resize(256, 0);
    }
    const size_t floats = 12 + 4 + 16 + 8 + 8 + 16 + 4 + 24 * 3 + 4 + (version == 0 ? 4 : 0) + 12;
    for (size_t i = 0; i < floats; ++i) Append(&good, static_cast<float>(i));
    // Flip only header bytes: the float payload is valid whatever its bits.
    ExpectPrefixesFailAndFlipsAreSafe(dir, "fuzz" + std::to_string(version) + ".bin", good,
                                      version == 0 ? 28 : 40);
  }
}

}  // namespace
}  // namespace liteq::io
