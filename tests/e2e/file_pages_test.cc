// What of the model file stays resident once a model is loaded and running
// (Interpreter::Create hands back the pages no kernel reads in place; a tied int8
// embedding is looked up in the output head's packed copy): gemma3-tiny's dynamic_int8
// (hybrid EMBEDDING_LOOKUP) and static_int8 (int8 GATHER) files keep almost nothing
// resident: not the flatbuffer's tables, quantization vectors, the 6 MB embedding
// table they look rows up in, nor the pages packed weights share with a neighbour.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_util.h"

namespace liteq::e2e {
namespace {

// Resident bytes of this process's mappings of `path` (/proc/self/smaps, proc(5)).
size_t ResidentBytesOf(const std::string& path) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_file = false;
  size_t kb = 0;
  while (std::getline(smaps, line)) {
    std::istringstream fields(line);
    std::string first;
    fields >> first;
    if (first.find('-') != std::string::npos && first.back() != ':') {  // a mapping header
      std::string perms, offset, device, inode, name;
      fields >> perms >> offset >> device >> inode >> name;
      in_file = name == path;
    } else if (in_file && first == "Rss:") {
      size_t v = 0;
      fields >> v;
      kb += v;
    }
  }
  return kb * 1024;
}

class FilePagesTest : public ::testing::TestWithParam<quant::Recipe> {};

TEST_P(FilePagesTest, RunningQuantizedModelKeepsOnlyLargeInPlaceConstantsResident) {
  const std::string dir = ModelDir("gemma3-tiny");
  auto ref = OpenReference(dir);
  std::vector<int32_t> tokens = ReadEvalWindows(*ref).at(0);
  tokens.resize(40);
  const model::ExportOptions export_options{.prefill_lengths = {32}, .max_seq = 128};
  const std::string path =
      ExportQuantizedOnce(dir, export_options, {.recipe = GetParam()});
  ASSERT_FALSE(path.empty());
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  const auto file_bytes = static_cast<size_t>(file.tellg());

  auto interpreter = runtime::Interpreter::Load(path, {});
  ASSERT_TRUE(interpreter.ok()) << interpreter.status().ToString();
  const size_t after_load = ResidentBytesOf(path);
  auto session = generate::Session::Create(interpreter->get());
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::vector<float> logits;
  ASSERT_TRUE((*session)->Feed(std::span(tokens).first(32), &logits).ok());
  for (size_t i = 32; i < tokens.size(); ++i) {
    ASSERT_TRUE((*session)->Feed(std::span(tokens).subspan(i, 1), &logits).ok());
  }
  const size_t running = ResidentBytesOf(path);
  // The RoPE tables (128 positions x 32 x 4 bytes = 16 KB each here) and the norm
  // weights are small enough to be copied and every weight is packed, so nothing
  // needs to stay (allow 4 pages). Without the release and the packed lookup, 1.4 MB
  // (flatbuffer tables and vectors) stayed after load and 7.0 MB while running (the
  // pages mapped around every looked-up embedding row) of this 10 MB file; without
  // PrepareContext::ConstantCopied, the first and last page of every packed weight
  // (shared with its neighbours) stayed.
  const size_t allowed = size_t{16} << 10;
  EXPECT_LE(after_load, allowed) << "of a " << file_bytes << "-byte file";
  EXPECT_LE(running, allowed) << "of a " << file_bytes << "-byte file";
  EXPECT_FALSE(logits.empty());

}

INSTANTIATE_TEST_SUITE_P(Recipes, FilePagesTest,
                         ::testing::Values(quant::Recipe::kDynamicInt8, quant::Recipe::kStaticInt8));

}  // namespace
}  // namespace liteq::e2e
