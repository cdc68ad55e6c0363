// Malformed .tflite files: every defect gives an error naming the file and the place,
// never a crash (CI runs this under ASan/UBSan).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "test_model.h"
#include "tflite/liteq_tflite_generated.h"
#include "tflite/reader.h"
#include "tflite/writer.h"

namespace liteq::tflite {
namespace {

namespace fs = std::filesystem;
using testing::MakeTempDir;
using testing::MakeTestModel;
using testing::ReadBytes;
using Bytes = std::vector<uint8_t>;

class MalformedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("malformed");
    const std::string path = dir_ + "/good.tflite";
    ASSERT_TRUE(WriteTflite(MakeTestModel(), path).ok());
    good_ = *ReadBytes(path);
    ASSERT_TRUE(ReadTflite(path).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Applies `edit` to a copy of the good file through the generated mutable API.
  Bytes Edited(const std::function<void(::tflite::Model*)>& edit) const {
    Bytes copy = good_;
    edit(::tflite::GetMutableModel(copy.data()));
    return copy;
  }

  // Writes `bytes` as a file, reads it, expects an error naming the file and `what`.
  void ExpectError(const Bytes& bytes, const std::string& what) {
    const std::string path = dir_ + "/bad.tflite";
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(bytes.data()),
                static_cast<std::streamsize>(bytes.size()));
    }
    auto read = ReadTflite(path);
    ASSERT_FALSE(read.ok()) << "expected: " << what;
    const std::string& msg = read.status().message();
    EXPECT_EQ(msg.rfind(path, 0), 0u) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  }

  // End of the flatbuffer (+ padding): where buffer 1's bytes start.
  size_t FlatbufferEnd() const {
    return ::tflite::GetModel(good_.data())->buffers()->Get(1)->offset();
  }

  std::string dir_;
  Bytes good_;
};

TEST_F(MalformedTest, TruncatedFiles) {
  const size_t fb_end = FlatbufferEnd();
  for (size_t size : {size_t{0}, size_t{3}, size_t{8}, size_t{16}, size_t{64}, fb_end / 2,
                      fb_end - 1, fb_end, good_.size() - 1}) {
    SCOPED_TRACE("size " + std::to_string(size));
    ExpectError(Bytes(good_.begin(), good_.begin() + size), "");
  }
  ExpectError(Bytes(good_.begin(), good_.begin() + 4), "too small");
  ExpectError(Bytes(good_.begin(), good_.begin() + fb_end / 2), "verification failed");
  ExpectError(Bytes(good_.begin(), good_.begin() + fb_end), "buffer 1: data at offset");
}

TEST_F(MalformedTest, WrongIdentifier) {
  Bytes bytes = good_;
  std::memcpy(bytes.data() + 4, "XYZ!", 4);
  ExpectError(bytes, "file identifier is 'XYZ!', expected 'TFL3'");
}

TEST_F(MalformedTest, WrongSchemaVersion) {
  ExpectError(Edited([](::tflite::Model* m) { ASSERT_TRUE(m->mutate_version(2)); }),
              "schema version 2");
}

TEST_F(MalformedTest, BufferOffsetPastEndOfFile) {
  const uint64_t size = good_.size();
  ExpectError(Edited([&](::tflite::Model* m) {
                ASSERT_TRUE(m->mutable_buffers()->GetMutableObject(2)->mutate_offset(size + 100));
              }),
              "buffer 2: data at offset " + std::to_string(size + 100));
  // Offset + size overflowing 64 bits must not wrap around into the file.
  ExpectError(Edited([&](::tflite::Model* m) {
                auto* b = m->mutable_buffers()->GetMutableObject(2);
                ASSERT_TRUE(b->mutate_size(~uint64_t{0} - 8));
              }),
              "extends past the end of the file");
}

TEST_F(MalformedTest, TensorWithWrongByteSize) {
  ExpectError(Edited([](::tflite::Model* m) {
                ASSERT_TRUE(m->mutable_buffers()->GetMutableObject(1)->mutate_size(44));
              }),
              "subgraph 0 'prefill': tensor 1 'embed': buffer 1 holds 44 bytes but float32 "
              "[3,4] needs 48");
}

TEST_F(MalformedTest, TensorBufferIndexOutOfRange) {
  ExpectError(
      Edited([](::tflite::Model* m) {
        auto* t =
            m->mutable_subgraphs()->GetMutableObject(0)->mutable_tensors()->GetMutableObject(6);
        ASSERT_TRUE(t->mutate_buffer(77));
      }),
      "tensor 6 'shape': refers to buffer 77");
}

TEST_F(MalformedTest, OpcodeIndexOutOfRange) {
  ExpectError(
      Edited([](::tflite::Model* m) {
        auto* op =
            m->mutable_subgraphs()->GetMutableObject(0)->mutable_operators()->GetMutableObject(1);
        ASSERT_TRUE(op->mutate_opcode_index(99));
      }),
      "subgraph 0 'prefill': op 1: opcode_index 99 is out of range");
}

TEST_F(MalformedTest, OpTensorIndexOutOfRange) {
  ExpectError(
      Edited([](::tflite::Model* m) {
        auto* op =
            m->mutable_subgraphs()->GetMutableObject(1)->mutable_operators()->GetMutableObject(1);
        op->mutable_inputs()->Mutate(1, 40);
      }),
      "subgraph 1 'decode': op 1 (FULLY_CONNECTED): input 1 is tensor 40 but the "
      "subgraph has 4 tensors");
  ExpectError(
      Edited([](::tflite::Model* m) {
        auto* op =
            m->mutable_subgraphs()->GetMutableObject(1)->mutable_operators()->GetMutableObject(0);
        op->mutable_outputs()->Mutate(0, -1);  // -1 is for inputs only
      }),
      "op 0 (GATHER): output 0 is tensor -1");
  ExpectError(Edited([](::tflite::Model* m) {
                m->mutable_subgraphs()->GetMutableObject(0)->mutable_inputs()->Mutate(1, 1000);
              }),
              "subgraph 0 'prefill': input 1 is tensor 1000");
}

TEST_F(MalformedTest, SignatureTensorIndexOutOfRange) {
  ExpectError(Edited([](::tflite::Model* m) {
                auto* sig = m->mutable_signature_defs()->GetMutableObject(0);
                ASSERT_TRUE(sig->mutable_inputs()->GetMutableObject(1)->mutate_tensor_index(500));
              }),
              "signature 0 'prefill': input 'input_pos' is tensor 500 but subgraph 0 has 22 "
              "tensors");
  ExpectError(Edited([](::tflite::Model* m) {
                auto* sig = m->mutable_signature_defs()->GetMutableObject(1);
                ASSERT_TRUE(sig->mutate_subgraph_index(7));
              }),
              "signature 1 'decode': refers to subgraph 7");
}

TEST_F(MalformedTest, UnsupportedBuiltinOperatorNamesTheOp) {
  ExpectError(Edited([](::tflite::Model* m) {
                for (uint32_t i = 0; i < m->operator_codes()->size(); ++i) {
                  auto* code = m->mutable_operator_codes()->GetMutableObject(i);
                  if (code->builtin_code() == ::tflite::BuiltinOperator_FULLY_CONNECTED) {
                    ASSERT_TRUE(code->mutate_builtin_code(::tflite::BuiltinOperator_CONV_2D));
                    ASSERT_TRUE(code->mutate_deprecated_builtin_code(3));
                  }
                }
              }),
              "subgraph 0 'prefill': op 1: builtin operator CONV_2D (3) is not supported");
}

TEST_F(MalformedTest, UnsupportedTensorTypeNamesTheTensor) {
  ExpectError(
      Edited([](::tflite::Model* m) {
        auto* t =
            m->mutable_subgraphs()->GetMutableObject(0)->mutable_tensors()->GetMutableObject(3);
        ASSERT_TRUE(t->mutate_type(::tflite::TensorType_STRING));
      }),
      "subgraph 0 'prefill': tensor 3 'w_int8': type STRING (5) is not supported");
}

TEST_F(MalformedTest, PerAxisScaleCountMustMatchTheDimension) {
  ExpectError(
      Edited([](::tflite::Model* m) {
        auto* t =
            m->mutable_subgraphs()->GetMutableObject(0)->mutable_tensors()->GetMutableObject(3);
        ASSERT_TRUE(t->mutable_quantization()->mutate_quantized_dimension(0));
      }),
      "tensor 3 'w_int8': has 4 per-axis scales but dimension 0 of [3,4] has size 3");
}

TEST_F(MalformedTest, NegativeShape) {
  ExpectError(
      Edited([](::tflite::Model* m) {
        auto* t =
            m->mutable_subgraphs()->GetMutableObject(0)->mutable_tensors()->GetMutableObject(2);
        t->mutable_shape()->Mutate(1, -4);
      }),
      "tensor 2 'h': shape [1,-4,4] has a negative dimension");
}

TEST_F(MalformedTest, OptionsOfTheWrongType) {
  ExpectError(
      Edited([](::tflite::Model* m) {
        auto* op =
            m->mutable_subgraphs()->GetMutableObject(0)->mutable_operators()->GetMutableObject(8);
        // flatc generates no mutator for a union's type field.
        ASSERT_TRUE(reinterpret_cast<flatbuffers::Table*>(op)->SetField<uint8_t>(
            ::tflite::Operator::VT_BUILTIN_OPTIONS_TYPE, ::tflite::BuiltinOptions_GeluOptions, 0));
      }),
      "op 8: builtin_options has type");
}

TEST_F(MalformedTest, MetadataBufferOutOfRange) {
  ExpectError(Edited([](::tflite::Model* m) {
                ASSERT_TRUE(m->mutable_metadata()->GetMutableObject(0)->mutate_buffer(1000));
              }),
              "refers to buffer 1000");
}

TEST_F(MalformedTest, MisalignedMemoryIsRefused) {
  auto storage = std::make_shared<Bytes>(good_.size() + 1);
  std::memcpy(storage->data() + 1, good_.data(), good_.size());
  auto read = ReadTfliteFromMemory(storage, std::span(*storage).subspan(1), "shifted");
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("aligned"), std::string::npos);
}

// Deterministic random corruption of the flatbuffer part: the reader must return an
// error or a model that validates (and that the writer can write back), never crash.
TEST_F(MalformedTest, RandomByteMutationsNeverCrash) {
  std::mt19937 rng(20240611);
  const size_t fb_end = FlatbufferEnd();
  std::uniform_int_distribution<size_t> pos(0, fb_end - 1);
  std::uniform_int_distribution<int> byte(0, 255), count(1, 4), bit(0, 7);
  int accepted = 0, rejected = 0;
  // LITEQ_TFLITE_MUTATIONS=<n> runs a longer campaign locally.
  const char* env = std::getenv("LITEQ_TFLITE_MUTATIONS");
  const int iterations = env != nullptr ? std::atoi(env) : 400;
  for (int iter = 0; iter < iterations; ++iter) {
    auto bytes = std::make_shared<Bytes>(good_);
    const int n = count(rng);
    for (int k = 0; k < n; ++k) {
      uint8_t& b = (*bytes)[pos(rng)];
      b = (iter % 2 == 0) ? static_cast<uint8_t>(byte(rng))
                          : static_cast<uint8_t>(b ^ (1u << bit(rng)));
    }
    auto read = ReadTfliteFromMemory(bytes, *bytes, "mutant");
    if (!read.ok()) {
      ++rejected;
      EXPECT_EQ(read.status().message().rfind("mutant: ", 0), 0u) << read.status().message();
      continue;
    }
    ++accepted;
    const std::string path = dir_ + "/rewrite.tflite";
    Status st = WriteTflite(**read, path);
    EXPECT_TRUE(st.ok()) << "iteration " << iter << ": " << st.ToString();
    EXPECT_TRUE(ReadTflite(path).ok()) << "iteration " << iter;
  }
  // Both outcomes occur, so the test exercises the checks and the happy path.
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 0);
  std::printf("random mutations: %d accepted, %d rejected\n", accepted, rejected);
}

}  // namespace
}  // namespace liteq::tflite
