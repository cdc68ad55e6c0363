// GraphBuilder: shape inference, naming, constant sharing and sticky errors.
#include <gtest/gtest.h>

#include "graph/builder.h"

namespace liteq::graph {
namespace {

TEST(GraphBuilderTest, InfersShapes) {
  Model m;
  GraphBuilder b(m);
  b.BeginSubgraph("main");
  const TensorId x = b.Input("x", DType::kFloat32, {1, 5, 8});
  const TensorId w = b.ConstFloat(std::vector<float>(3 * 8, 0.5f), {3, 8});
  EXPECT_EQ(b.shape(b.FullyConnected(x, w)), (Shape{1, 5, 3}));
  EXPECT_EQ(b.shape(b.FullyConnected(x, w, -1, false)), (Shape{5, 3}));
  const TensorId r = b.Reshape(x, {1, 5, 2, -1});
  EXPECT_EQ(b.shape(r), (Shape{1, 5, 2, 4}));
  const TensorId t = b.Transpose(r, {0, 2, 1, 3});
  EXPECT_EQ(b.shape(t), (Shape{1, 2, 5, 4}));
  const TensorId k = b.Input("k", DType::kFloat32, {1, 1, 7, 4});
  EXPECT_EQ(b.shape(b.BatchMatMul(t, k, false, true)), (Shape{1, 2, 5, 7}));
  EXPECT_EQ(b.shape(b.Slice(r, {0, 1, 0, 2}, {-1, 3, -1, -1})), (Shape{1, 3, 2, 2}));
  EXPECT_EQ(b.shape(b.Concat({r, r}, -1)), (Shape{1, 5, 2, 8}));
  EXPECT_EQ(b.shape(b.Mean(x, {-1}, true)), (Shape{1, 5, 1}));
  EXPECT_EQ(b.shape(b.Mean(x, {1, 2}, false)), (Shape{1}));
  const TensorId idx = b.Input("idx", DType::kInt32, {1, 4});
  EXPECT_EQ(b.shape(b.Gather(w, idx, 0)), (Shape{1, 4, 8}));
  const TensorId col = b.Input("col", DType::kInt32, {5, 1});
  const TensorId row = b.ConstInt32({0, 1, 2}, {3});
  const TensorId less = b.Less(row, col);
  EXPECT_EQ(b.shape(less), (Shape{5, 3}));
  EXPECT_EQ(b.dtype(less), DType::kBool);
  const TensorId sel = b.SelectV2(less, b.ScalarFloat(0), b.ScalarFloat(-1));
  EXPECT_EQ(b.shape(sel), (Shape{5, 3}));
  EXPECT_EQ(b.dtype(sel), DType::kFloat32);
  EXPECT_EQ(b.shape(b.Add(x, b.ConstFloat({1, 2, 3, 4, 5, 6, 7, 8}, {8}))), (Shape{1, 5, 8}));
  const TensorId start = b.ConstInt32({0, 1, 0}, {3});
  const TensorId cache = b.Input("cache", DType::kFloat32, {1, 16, 8});
  EXPECT_EQ(b.shape(b.DynamicUpdateSlice(cache, x, start)), (Shape{1, 16, 8}));
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  // Every op's output is a fresh tensor of the subgraph.
  for (const Op& op : m.subgraphs[0].ops) {
    ASSERT_EQ(op.outputs.size(), 1u);
    EXPECT_EQ(m.subgraphs[0].tensors[op.outputs[0]].buffer, 0u);
  }
}

TEST(GraphBuilderTest, ScopedUniqueNames) {
  Model m;
  GraphBuilder b(m);
  b.BeginSubgraph("main");
  const TensorId x = b.Input("x", DType::kFloat32, {2});
  TensorId a, c;
  {
    GraphBuilder::Scope s1(b, "layers.3");
    GraphBuilder::Scope s2(b, "attn");
    a = b.Neg(x, "q");
    c = b.Neg(x, "q");
  }
  EXPECT_EQ(b.tensor(a).name, "layers.3.attn.q");
  EXPECT_EQ(b.tensor(c).name, "layers.3.attn.q.1");
  EXPECT_EQ(b.tensor(b.Neg(x, "top")).name, "top");
  b.Rename(a, "renamed");
  EXPECT_EQ(b.tensor(a).name, "renamed");
}

TEST(GraphBuilderTest, ConstantsShareBuffersAcrossSubgraphs) {
  Model m;
  GraphBuilder b(m);
  int made = 0;
  auto make = [&] {
    ++made;
    return Buffer::FromValues(std::vector<float>{1, 2, 3, 4});
  };
  b.BeginSubgraph("a");
  const TensorId a1 = b.Constant("w", DType::kFloat32, {2, 2}, make);
  const TensorId a2 = b.Constant("w", DType::kFloat32, {2, 2}, make);
  EXPECT_EQ(a1, a2);  // one tensor per key per subgraph
  const uint32_t buf = b.tensor(a1).buffer;
  b.BeginSubgraph("b");
  const TensorId b1 = b.Constant("w", DType::kFloat32, {2, 2}, make);
  EXPECT_EQ(b.tensor(b1).buffer, buf);  // one buffer per key per model
  EXPECT_EQ(made, 1);
  // Small constants are keyed by value.
  const TensorId s1 = b.ScalarFloat(0.125f);
  const TensorId s2 = b.ScalarFloat(0.125f);
  const TensorId s3 = b.ScalarFloat(0.25f);
  EXPECT_EQ(s1, s2);
  EXPECT_NE(s1, s3);
  EXPECT_TRUE(b.ok());
  EXPECT_EQ(m.subgraphs.size(), 2u);
}

TEST(GraphBuilderTest, LazyConstantDefersProduction) {
  Model m;
  GraphBuilder b(m);
  b.BeginSubgraph("main");
  int calls = 0;
  const TensorId t = b.LazyConstant("lazy", DType::kFloat32, {3}, [&](std::span<uint8_t> dst) {
    ++calls;
    const float v[3] = {1, 2, 3};
    std::memcpy(dst.data(), v, sizeof(v));
    return Status::Ok();
  });
  EXPECT_EQ(calls, 0);
  const Buffer& buffer = m.buffers[b.tensor(t).buffer];
  EXPECT_EQ(buffer.size, 12u);
  EXPECT_FALSE(buffer.resident());
  std::vector<uint8_t> scratch;
  auto bytes = buffer.Materialize(scratch);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(reinterpret_cast<const float*>(bytes->data())[2], 3.0f);
}

TEST(GraphBuilderTest, ErrorsStickAndNameTheOp) {
  Model m;
  GraphBuilder b(m);
  b.BeginSubgraph("main");
  const TensorId x = b.Input("x", DType::kFloat32, {2, 3});
  const TensorId y = b.Input("y", DType::kFloat32, {4});
  TensorId z;
  {
    GraphBuilder::Scope s(b, "blk");
    z = b.Add(x, y, "sum");
  }
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("ADD"), std::string::npos) << b.status().ToString();
  EXPECT_NE(b.status().message().find("'x' [2,3]"), std::string::npos);
  EXPECT_NE(b.status().message().find("'y' [4]"), std::string::npos);
  // Later calls keep working on placeholders; the first error stays.
  const TensorId r = b.Reshape(z, {7});
  EXPECT_GE(r, 0);
  EXPECT_NE(b.status().message().find("ADD"), std::string::npos);

  GraphBuilder b2(m);
  b2.BeginSubgraph("other");
  const TensorId a = b2.Input("a", DType::kFloat32, {2, 3});
  b2.Reshape(a, {4, 2});
  EXPECT_FALSE(b2.ok());
  EXPECT_NE(b2.status().message().find("RESHAPE"), std::string::npos);

  GraphBuilder b3(m);
  b3.BeginSubgraph("third");
  const TensorId c = b3.Input("c", DType::kFloat32, {2, 3});
  const TensorId w = b3.ConstFloat(std::vector<float>(8, 0), {2, 4});
  b3.FullyConnected(c, w);
  EXPECT_FALSE(b3.ok());
  EXPECT_NE(b3.status().message().find("FULLY_CONNECTED"), std::string::npos);
  b3.Fail(InternalError("second"));
  EXPECT_NE(b3.status().message().find("FULLY_CONNECTED"), std::string::npos);
}

TEST(GraphBuilderTest, RejectsBadArguments) {
  Model m;
  GraphBuilder b(m);
  b.BeginSubgraph("main");
  const TensorId x = b.Input("x", DType::kFloat32, {2, 3});
  b.Transpose(x, {0, 0});
  EXPECT_FALSE(b.ok());
  GraphBuilder b2(m);
  b2.BeginSubgraph("s");
  const TensorId y = b2.Input("y", DType::kFloat32, {2, 3});
  b2.Slice(y, {0, 2}, {1, 2});
  EXPECT_FALSE(b2.ok());
  GraphBuilder b3(m);
  b3.BeginSubgraph("s3");
  const TensorId z = b3.Input("z", DType::kFloat32, {2, 3});
  b3.Gather(z, b3.ConstFloat({0}, {1}), 0);  // float indices
  EXPECT_FALSE(b3.ok());
}

}  // namespace
}  // namespace liteq::graph
