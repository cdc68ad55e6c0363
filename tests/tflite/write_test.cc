// Writer failure modes: a failing producer leaves nothing behind, invalid graphs are
// refused before a file is created.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_model.h"
#include "tflite/writer.h"

namespace liteq::tflite {
namespace {

namespace fs = std::filesystem;
using testing::MakeTempDir;
using testing::MakeTestModel;

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

std::string FileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class WriteTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("write"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

// A model whose lazy buffer (tensor 'bias_lazy') fails after other buffers were written.
graph::Model ModelWithFailingProducer() {
  graph::Model model = MakeTestModel();
  const uint32_t lazy = model.subgraphs[0].tensors[5].buffer;
  model.buffers[lazy] = graph::Buffer::Lazy(
      12, [](std::span<uint8_t>) { return IoError("disk of weights went away"); });
  return model;
}

TEST_F(WriteTest, FailingProducerLeavesNoFileAndNoTemporary) {
  const std::string path = dir_ + "/out.tflite";
  Status st = WriteTflite(ModelWithFailingProducer(), path);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kIo);
  EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("bias_lazy"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("disk of weights went away"), std::string::npos);
  EXPECT_TRUE(ListDir(dir_).empty());
}

TEST_F(WriteTest, FailingProducerLeavesExistingFileUntouched) {
  const std::string path = dir_ + "/out.tflite";
  { std::ofstream(path) << "previous model"; }
  EXPECT_FALSE(WriteTflite(ModelWithFailingProducer(), path).ok());
  EXPECT_EQ(FileText(path), "previous model");
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"out.tflite"});
  // And a successful write replaces it.
  ASSERT_TRUE(WriteTflite(MakeTestModel(), path).ok());
  EXPECT_NE(FileText(path), "previous model");
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"out.tflite"});
}

TEST_F(WriteTest, ProducerIsCalledOnceWithItsSize) {
  graph::Model model = MakeTestModel();
  int calls = 0;
  size_t seen_size = 0;
  model.buffers[model.subgraphs[0].tensors[5].buffer] =
      graph::Buffer::Lazy(12, [&](std::span<uint8_t> dst) {
        ++calls;
        seen_size = dst.size();
        std::fill(dst.begin(), dst.end(), 0);
        return Status::Ok();
      });
  ASSERT_TRUE(WriteTflite(model, dir_ + "/m.tflite").ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen_size, 12u);
}

struct BadGraphCase {
  const char* name;
  std::function<void(graph::Model&)> corrupt;
  const char* expected;  // substring of the error
};

TEST_F(WriteTest, InvalidGraphsAreRefusedWithoutCreatingAFile) {
  const std::vector<BadGraphCase> cases = {
      {"per-axis count",
       [](graph::Model& m) {
         auto& scale = m.subgraphs[0].tensors[3].quant.scale;
         scale.resize(scale.size() - 1);
       },
       "3 scales but 4 zero points"},
      {"per-axis dim",
       [](graph::Model& m) {
         auto& q = m.subgraphs[0].tensors[3].quant;
         q.quantized_dimension = 0;  // shape [3, 4]: dimension 0 has 3, not 4
       },
       "dimension 0 of [3,4] has size 3"},
      {"byte size",
       [](graph::Model& m) {
         m.subgraphs[0].tensors[1].shape = {4, 4};
       },
       "tensor 1 'embed': buffer 1 holds 48 bytes but float32 [4,4] needs 64"},
      {"int4 packing",
       [](graph::Model& m) {
         m.subgraphs[0].tensors[4].shape = {3, 4};
       },
       "int4 [3,4] needs 6"},
      {"negative dim",
       [](graph::Model& m) {
         m.subgraphs[0].tensors[2].shape = {1, -4, 4};
       },
       "negative dimension"},
      {"op input", [](graph::Model& m) { m.subgraphs[1].ops[1].inputs[1] = 40; },
       "subgraph 1 'decode': op 1 (FULLY_CONNECTED): input 1 is tensor 40"},
      {"op arity", [](graph::Model& m) { m.subgraphs[0].ops[3].inputs.push_back(7); },
       "op 3 (ADD): has 3 inputs"},
      {"op options",
       [](graph::Model& m) { m.subgraphs[0].ops[3].options = graph::SoftmaxOptions{}; },
       "op 3 (ADD): carries options of the wrong kind"},
      {"buffer index", [](graph::Model& m) { m.subgraphs[0].tensors[6].buffer = 99; },
       "refers to buffer 99"},
      {"signature tensor", [](graph::Model& m) { m.signatures[1].outputs[0].second = 4; },
       "signature 1 'decode': output 'logits' is tensor 4"},
      {"signature subgraph", [](graph::Model& m) { m.signatures[0].subgraph = 2; },
       "refers to subgraph 2"},
      {"duplicate key", [](graph::Model& m) { m.signatures[1].key = "prefill"; },
       "repeats an earlier signature's key"},
      {"blockwise", [](graph::Model& m) { m.subgraphs[0].tensors[4].quant.block_size = 32; },
       "blockwise"},
      {"sentinel", [](graph::Model& m) { m.buffers[0] = graph::Buffer::FromVector({1}); },
       "buffer 0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    graph::Model model = MakeTestModel();
    c.corrupt(model);
    const std::string path = dir_ + "/bad.tflite";
    Status st = WriteTflite(model, path);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(c.expected), std::string::npos) << st.message();
    EXPECT_TRUE(ListDir(dir_).empty());
  }
}

TEST_F(WriteTest, UnwritableDirectoryIsAnIoError) {
  Status st = WriteTflite(MakeTestModel(), dir_ + "/missing/dir/m.tflite");
  EXPECT_EQ(st.code(), StatusCode::kIo);
}

}  // namespace
}  // namespace liteq::tflite
