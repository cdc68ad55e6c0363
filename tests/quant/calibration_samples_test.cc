// quant::LoadCalibrationSamples on small hand-written JSONL files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "quant/calibration.h"

namespace liteq::quant {
namespace {

std::string WriteFile(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("liteq_calib_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << text;
  return path.string();
}

TEST(CalibrationSamplesTest, IdLinesAreCutIntoLongAndShortSamples) {
  // prefill 8 + decode 2 = 10 tokens per long sample, every fourth (index 1) short: 1.
  std::string text;
  for (int line = 0; line < 4; ++line) {
    text += "[";
    for (int i = 0; i < 10; ++i) text += (i ? "," : "") + std::to_string(line * 10 + i + 1);
    text += "]\n";
  }
  const std::string path = WriteFile("ids.jsonl", text);
  auto samples = LoadCalibrationSamples(path, nullptr, 3, 8, 2);
  std::filesystem::remove(path);
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  ASSERT_EQ(samples->size(), 3u);
  EXPECT_EQ((*samples)[0].size(), 10u);
  EXPECT_EQ((*samples)[1], (std::vector<int32_t>{11}));
  EXPECT_EQ((*samples)[2].front(), 12);
}

TEST(CalibrationSamplesTest, SkippedIdsNeverReachASample) {
  // Right-padded batches as a tokenizer writes them: pad id 0 after each text.
  const std::string path =
      WriteFile("pad.jsonl", "{\"ids\": [5, 6, 7, 0, 0, 0]}\n[8, 9, 0, 10, 11, 0, 0]\n");
  auto kept = LoadCalibrationSamples(path, nullptr, 1, 6, 0, {0});
  auto unfiltered = LoadCalibrationSamples(path, nullptr, 1, 6, 0);
  std::filesystem::remove(path);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ((*kept)[0], (std::vector<int32_t>{5, 6, 7, 8, 9, 10}));
  ASSERT_TRUE(unfiltered.ok());
  EXPECT_EQ((*unfiltered)[0], (std::vector<int32_t>{5, 6, 7, 0, 0, 0}));
}

TEST(CalibrationSamplesTest, TextNeedsATokenizerAndBadLinesNameTheFile) {
  const std::string text_path = WriteFile("text.jsonl", "{\"text\": \"hello\"}\n");
  auto text = LoadCalibrationSamples(text_path, nullptr, 1, 8, 0);
  std::filesystem::remove(text_path);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("text.jsonl:1"), std::string::npos);
  const std::string bad_path = WriteFile("bad.jsonl", "[1, 2]\n[3, -4]\n");
  auto bad = LoadCalibrationSamples(bad_path, nullptr, 1, 1, 0);
  std::filesystem::remove(bad_path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.jsonl:2"), std::string::npos);
}

}  // namespace
}  // namespace liteq::quant
