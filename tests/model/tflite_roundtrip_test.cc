// The graph BuildModel emits survives the .tflite writer and reader: validation
// passes, and the file run by the runtime gives the in-memory graph's logits.
#include <gtest/gtest.h>

#include <filesystem>

#include "model_runner.h"
#include "tflite/validate.h"
#include "tflite/writer.h"

namespace liteq::model::testing {
namespace {

TEST(TfliteRoundTripTest, WrittenModelRunsLikeTheGraph) {
  for (const char* name : {"gemma3-tiny", "llama-tiny"}) {
    SCOPED_TRACE(name);
    const std::string dir = std::string(LITEQ_MODELS_DIR) + "/" + name;
    auto ckpt = io::Checkpoint::Open(dir);
    ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
    ExportOptions opts;
    opts.prefill_lengths = {8};
    opts.max_seq = 32;
    auto model = BuildModel(std::shared_ptr<const io::Checkpoint>(std::move(*ckpt)), opts);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    ASSERT_TRUE(tflite::ValidateModel(*model).ok()) << tflite::ValidateModel(*model).ToString();
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("liteq_model_roundtrip_" + std::string(name) + ".tflite"))
                                 .string();
    ASSERT_TRUE(tflite::WriteTflite(*model, path).ok());

    auto from_graph =
        runtime::Interpreter::Create(std::make_shared<const graph::Model>(std::move(*model)));
    auto from_file = runtime::Interpreter::Load(path);
    std::filesystem::remove(path);
    ASSERT_TRUE(from_graph.ok()) << from_graph.status().ToString();
    ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
    std::vector<std::vector<float>> logits;
    for (auto* interp : {from_graph->get(), from_file->get()}) {
      auto prefill = interp->GetSignature("prefill");
      ASSERT_TRUE(prefill.ok());
      auto tokens = (*prefill)->Input("tokens");
      auto pos = (*prefill)->Input("input_pos");
      ASSERT_TRUE(tokens.ok() && pos.ok());
      for (int i = 0; i < 8; ++i) {
        tokens->as<int32_t>()[i] = 1 + 37 * i;
        pos->as<int32_t>()[i] = i;
      }
      ASSERT_TRUE((*prefill)->Invoke().ok());
      auto out = (*prefill)->Output("logits");
      ASSERT_TRUE(out.ok());
      logits.emplace_back(out->as<float>().begin(), out->as<float>().end());
    }
    EXPECT_EQ(logits[0], logits[1]);
  }
}

}  // namespace
}  // namespace liteq::model::testing
