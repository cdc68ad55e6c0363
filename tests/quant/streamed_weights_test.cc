// Streamed weight quantization (quant/streamed_weights.h) must give exactly the bytes
// and scales of quantizing the whole tensor at once, while never asking its source
// for more than one slice; and ranged production of checkpoint weights
// (Buffer::ReadRange over model/weights.cc) must equal slices of the whole tensor.
#include "quant/streamed_weights.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "io/checkpoint.h"
#include "model/model.h"
#include "quant/quant_params.h"

namespace liteq::quant {
namespace {

std::vector<float> RandomWeights(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> w(static_cast<size_t>(n));
  for (float& v : w) v = normal(rng);
  w[static_cast<size_t>(n / 3)] = 0.9f;  // an outlier that sets a per-tensor scale
  return w;
}

// A lazy, ranged float32 buffer over `values` that records the largest range asked.
graph::Buffer RangedBuffer(std::shared_ptr<const std::vector<float>> values, size_t* largest) {
  return graph::Buffer::LazyRanged(
      values->size() * sizeof(float), [values, largest](size_t offset, std::span<uint8_t> out) {
        *largest = std::max(*largest, out.size());
        std::memcpy(out.data(), reinterpret_cast<const uint8_t*>(values->data()) + offset,
                    out.size());
        return Status::Ok();
      });
}

struct Case {
  int64_t rows, cols;
  bool per_tensor;
  int bits;
  int64_t block;
};

class StreamedWeightsTest : public ::testing::TestWithParam<Case> {};

TEST_P(StreamedWeightsTest, SameAsWholeTensorAndStreams) {
  const Case c = GetParam();
  auto values = std::make_shared<const std::vector<float>>(RandomWeights(c.rows * c.cols, 7));
  Result<SymmetricWeights> whole =
      c.per_tensor ? QuantizeWeightsPerTensor(*values, c.bits)
                   : QuantizeWeightsBlockwise(*values, c.rows, c.cols,
                                              c.block > 0 ? c.block : c.cols, c.bits);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  std::vector<uint8_t> want_bytes(whole->values.size());
  if (c.bits == 4) {
    want_bytes = PackInt4(whole->values);
  } else {
    std::memcpy(want_bytes.data(), whole->values.data(), want_bytes.size());
  }

  const int64_t slice_floats = 3 * c.cols;  // several slices, the last one short
  size_t largest = 0;
  const graph::Buffer source = RangedBuffer(values, &largest);
  const WeightLayout layout{c.rows, c.cols, c.per_tensor, c.bits, c.block};
  Result<std::vector<float>> scales = StreamedSymmetricScales(source, layout, "w", slice_floats);
  ASSERT_TRUE(scales.ok()) << scales.status().ToString();
  EXPECT_EQ(*scales, whole->scales);
  std::vector<uint8_t> got(want_bytes.size(), 0xAB);
  ASSERT_TRUE(StreamedSymmetricValues(source, layout, "w", got, slice_floats).ok());
  EXPECT_EQ(got, want_bytes);
  // Slices are rounded up to an even number of values at most.
  EXPECT_LE(largest, static_cast<size_t>(slice_floats + c.cols) * sizeof(float));
  EXPECT_LT(largest, values->size() * sizeof(float));
}

INSTANTIATE_TEST_SUITE_P(Layouts, StreamedWeightsTest,
                         ::testing::Values(Case{37, 24, false, 8, 0}, Case{37, 24, true, 8, 0},
                                           Case{21, 33, false, 4, 0}, Case{21, 33, true, 4, 0},
                                           Case{19, 64, false, 4, 32}, Case{10, 5, false, 8, 0}));

TEST(StreamedWeightsTest, RejectsLayoutThatDoesNotMatchTheBuffer) {
  size_t largest = 0;
  auto values = std::make_shared<const std::vector<float>>(RandomWeights(12, 1));
  const graph::Buffer source = RangedBuffer(values, &largest);
  Result<std::vector<float>> scales =
      StreamedSymmetricScales(source, WeightLayout{5, 3, false, 8, 0}, "layers.0.w");
  ASSERT_FALSE(scales.ok());
  EXPECT_NE(scales.status().message().find("layers.0.w"), std::string::npos);
  std::vector<uint8_t> out(12);
  EXPECT_FALSE(source.ReadRange(40, std::span<uint8_t>(out)).ok());  // past the end
}

// Every ranged weight buffer of a built model: ranges (including ones crossing row
// selections of fused tensors, phi3's qkv_proj, and Gemma's 1 + w norms) equal the
// same bytes of the whole tensor.
void ExpectRangesMatchWhole(const std::string& dir) {
  auto ckpt = io::Checkpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  std::shared_ptr<const io::Checkpoint> shared = std::move(*ckpt);
  Result<graph::Model> model = model::BuildModel(shared, model::ExportOptions{{8}, 32});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  int ranged = 0;
  for (const graph::Buffer& b : model->buffers) {
    if (!b.range_producer || b.size < 8) continue;
    ++ranged;
    std::vector<uint8_t> whole;
    Result<std::span<const uint8_t>> all = b.Materialize(whole);
    ASSERT_TRUE(all.ok());
    const size_t n = b.size / 4;  // floats
    for (auto [first, count] : {std::pair<size_t, size_t>{0, 1}, {n / 3, n / 2}, {n - 1, 1},
                                {1, n - 1}}) {
      std::vector<uint8_t> part(count * 4);
      ASSERT_TRUE(b.ReadRange(first * 4, std::span<uint8_t>(part)).ok());
      EXPECT_EQ(0, std::memcmp(part.data(), all->data() + first * 4, part.size()))
          << dir << " buffer of " << b.size << " bytes, floats [" << first << ", +" << count
          << ")";
    }
  }
  EXPECT_GT(ranged, 5) << dir;
}

TEST(RangedWeightsTest, Gemma3TinyMatchesWholeTensors) {
  ExpectRangesMatchWhole(std::string(LITEQ_MODELS_DIR) + "/gemma3-tiny");
}

TEST(RangedWeightsTest, Phi3FusedProjectionsMatchWholeTensors) {
  ExpectRangesMatchWhole(std::string(LITEQ_TESTDATA_DIR) + "/families/phi3");
}

TEST(RangedWeightsTest, Llama2cCheckpointMatchesWholeTensors) {
  ExpectRangesMatchWhole(std::string(LITEQ_MODELS_DIR) + "/stories260K/stories260K.bin");
}

}  // namespace
}  // namespace liteq::quant
