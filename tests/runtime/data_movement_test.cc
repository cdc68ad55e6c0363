// RESHAPE, SQUEEZE, TRANSPOSE, SLICE, STRIDED_SLICE, CONCATENATION, GATHER,
// EMBEDDING_LOOKUP, DYNAMIC_UPDATE_SLICE and CAST on hand-computed cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "graph_builder.h"
#include "runtime/kernels/dynamic_update_slice.h"
#include "runtime/kernels/shape_util.h"

namespace liteq::runtime::testing {
namespace {

using graph::DType;
using graph::OpCode;

std::vector<float> Iota(int n) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), 0.0f);
  return v;
}

TEST(Reshape, ShapeTensorOptionsAndMinusOne) {
  ASSERT_OK_AND_ASSIGN(
      auto a, RunOp(OpCode::kReshape, graph::NoOptions{}, {F({2, 3}, Iota(6)), CI({2}, {3, -1})},
                    {{DType::kFloat32, {3, 2}}}));
  EXPECT_EQ(a[0].f(), Iota(6));
  ASSERT_OK_AND_ASSIGN(auto b, RunOp(OpCode::kReshape, graph::ReshapeOptions{{-1}},
                                     {F({2, 3}, Iota(6))}, {{DType::kFloat32, {6}}}));
  EXPECT_EQ(b[0].f(), Iota(6));
  auto bad = RunOp(OpCode::kReshape, graph::NoOptions{}, {F({2, 3}, Iota(6)), CI({2}, {4, -1})},
                   {{DType::kFloat32, {4, 2}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cannot infer"), std::string::npos)
      << bad.status().ToString();
}

TEST(Squeeze, AllOnesOrNamedNegativeDims) {
  ASSERT_OK_AND_ASSIGN(auto a, RunOp(OpCode::kSqueeze, graph::SqueezeOptions{},
                                     {F({1, 3, 1}, Iota(3))}, {{DType::kFloat32, {3}}}));
  EXPECT_EQ(a[0].f(), Iota(3));
  ASSERT_OK_AND_ASSIGN(auto b, RunOp(OpCode::kSqueeze, graph::SqueezeOptions{{-1}},
                                     {F({1, 3, 1}, Iota(3))}, {{DType::kFloat32, {1, 3}}}));
  EXPECT_EQ(b[0].f(), Iota(3));
  auto bad = RunOp(OpCode::kSqueeze, graph::SqueezeOptions{{1}}, {F({1, 3, 1}, Iota(3))},
                   {{DType::kFloat32, {1, 1}}});
  EXPECT_FALSE(bad.ok());
}

TEST(Transpose, Rank3PermutationAndNegativeEntries) {
  // x[2,3,4] -> perm (2,0,1) -> [4,2,3]; out[k,i,j] = x[i,j,k]
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(OpCode::kTranspose, graph::NoOptions{},
                                       {F({2, 3, 4}, Iota(24)), CI({3}, {-1, 0, 1})},
                                       {{DType::kFloat32, {4, 2, 3}}}));
  std::vector<float> want;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) want.push_back(static_cast<float>(i * 12 + j * 4 + k));
  EXPECT_EQ(out[0].f(), want);
  auto bad = RunOp(OpCode::kTranspose, graph::NoOptions{}, {F({2, 3}, Iota(6)), CI({2}, {0, 0})},
                   {{DType::kFloat32, {2, 3}}});
  EXPECT_FALSE(bad.ok());
}

// A KV-cache-sized TRANSPOSE ([1, S, kv, hd] -> [1, kv, S, hd], 36 KiB of int8 at S
// 192: split over the threads from 32 KiB) gives the same bytes on 1 and 2 threads,
// and the permutation's definition.
TEST(Transpose, CacheSizedSplitOverThreads) {
  const int s = 192, kv = 3, hd = 64;
  std::vector<float> values(static_cast<size_t>(s * kv * hd));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 251);
  std::vector<float> want;
  for (int h = 0; h < kv; ++h)
    for (int p = 0; p < s; ++p)
      for (int d = 0; d < hd; ++d)
        want.push_back(values[static_cast<size_t>((p * kv + h) * hd + d)]);
  for (int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    InterpreterOptions options;
    options.num_threads = threads;
    ASSERT_OK_AND_ASSIGN(auto out, RunOp(OpCode::kTranspose, graph::NoOptions{},
                                         {F({1, s, kv, hd}, values), CI({4}, {0, 2, 1, 3})},
                                         {{DType::kFloat32, {1, kv, s, hd}}}, options));
    EXPECT_EQ(out[0].f(), want);
  }
}

// StridedCopyRowRange over any split of the rows equals the whole StridedCopy,
// including a negative stride, a strided inner dimension and a non-zero base.
TEST(StridedCopy, RowRangesComposeTheWholeCopy) {
  const std::vector<StridedCopyPlan> plans = {MakeStridedCopyPlan(1, 0, {3, 192, 64}, {64, 192, 1}),
                                              MakeStridedCopyPlan(4, 5, {4, 3, 5}, {1, 20, 4}),
                                              MakeStridedCopyPlan(2, 59, {2, 5, 6}, {-30, 6, 1}),
                                              MakeStridedCopyPlan(1, 0, {7}, {1})};
  std::vector<uint8_t> src(64 * 1024);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 7 + i / 256);
  for (size_t n = 0; n < plans.size(); ++n) {
    SCOPED_TRACE(n);
    const StridedCopyPlan& plan = plans[n];
    const int64_t rows = StridedCopyRows(plan);
    const size_t bytes = static_cast<size_t>(rows * plan.dims.back()) * plan.element_size;
    std::vector<uint8_t> whole(bytes, 0xAA);
    StridedCopy(plan, src.data(), whole.data());
    for (int64_t a = 0; a <= rows; a += std::max<int64_t>(1, rows / 5)) {
      for (int64_t b = a; b <= rows; b += std::max<int64_t>(1, rows / 3)) {
        std::vector<uint8_t> pieces(bytes, 0x55);
        StridedCopyRowRange(plan, src.data(), pieces.data(), 0, a);
        StridedCopyRowRange(plan, src.data(), pieces.data(), a, b);
        StridedCopyRowRange(plan, src.data(), pieces.data(), b, rows);
        ASSERT_EQ(pieces, whole) << "split " << a << " " << b;
      }
    }
  }
}

TEST(Slice, SizeMinusOneAndComputedBegin) {
  // x[3,4]: begin (1,1) size (-1,2) -> rows 1..2, cols 1..2
  ASSERT_OK_AND_ASSIGN(auto out, RunOp(OpCode::kSlice, graph::NoOptions{},
                                       {F({3, 4}, Iota(12)), CI({2}, {1, 1}), CI({2}, {-1, 2})},
                                       {{DType::kFloat32, {2, 2}}}));
  EXPECT_EQ(out[0].f(), (std::vector<float>{5, 6, 9, 10}));
  // begin as a graph input (e.g. from input_pos): checked at Eval.
  ASSERT_OK_AND_ASSIGN(auto dyn, RunOp(OpCode::kSlice, graph::NoOptions{},
                                       {F({3, 4}, Iota(12)), I({2}, {2, 2}), CI({2}, {1, 2})},
                                       {{DType::kFloat32, {1, 2}}}));
  EXPECT_EQ(dyn[0].f(), (std::vector<float>{10, 11}));
  auto oob =
      RunOp(OpCode::kSlice, graph::NoOptions{},
            {F({3, 4}, Iota(12)), I({2}, {2, 3}), CI({2}, {1, 2})}, {{DType::kFloat32, {1, 2}}});
  ASSERT_FALSE(oob.ok());
  EXPECT_EQ(oob.status().code(), StatusCode::kOutOfRange);
}

TEST(StridedSlice, MasksNegativeStridesShrinkAndNewAxis) {
  auto x = F({3, 4}, Iota(12));
  // Reverse both dims: begin_mask/end_mask with stride -1.
  ASSERT_OK_AND_ASSIGN(auto rev, RunOp(OpCode::kStridedSlice, graph::StridedSliceOptions{3, 3},
                                       {x, CI({2}, {0, 0}), CI({2}, {0, 0}), CI({2}, {-1, -1})},
                                       {{DType::kFloat32, {3, 4}}}));
  std::vector<float> want(12);
  for (int i = 0; i < 12; ++i) want[i] = static_cast<float>(11 - i);
  EXPECT_EQ(rev[0].f(), want);
  // x[1:, ::2] with end_mask on dim 0 only.
  ASSERT_OK_AND_ASSIGN(auto step, RunOp(OpCode::kStridedSlice, graph::StridedSliceOptions{2, 3},
                                        {x, CI({2}, {1, 0}), CI({2}, {0, 0}), CI({2}, {1, 2})},
                                        {{DType::kFloat32, {2, 2}}}));
  EXPECT_EQ(step[0].f(), (std::vector<float>{4, 6, 8, 10}));
  // x[-1, 1:3] : shrink dim 0 at index -1.
  graph::StridedSliceOptions shrink;
  shrink.shrink_axis_mask = 1;
  ASSERT_OK_AND_ASSIGN(auto last, RunOp(OpCode::kStridedSlice, shrink,
                                        {x, CI({2}, {-1, 1}), CI({2}, {0, 3}), CI({2}, {1, 1})},
                                        {{DType::kFloat32, {2}}}));
  EXPECT_EQ(last[0].f(), (std::vector<float>{9, 10}));
  // x[:, None, 3:0:-2] -> [3, 1, 2] via new_axis_mask on spec 1.
  graph::StridedSliceOptions newaxis;
  newaxis.begin_mask = 1;
  newaxis.end_mask = 1;
  newaxis.new_axis_mask = 2;
  ASSERT_OK_AND_ASSIGN(auto na,
                       RunOp(OpCode::kStridedSlice, newaxis,
                             {x, CI({3}, {0, 0, 3}), CI({3}, {0, 0, 0}), CI({3}, {1, 1, -2})},
                             {{DType::kFloat32, {3, 1, 2}}}));
  EXPECT_EQ(na[0].f(), (std::vector<float>{3, 1, 7, 5, 11, 9}));
  // offset: end = begin + end -> x[:, 1:1+2]
  graph::StridedSliceOptions offset;
  offset.begin_mask = 1;
  offset.end_mask = 1;
  offset.offset = true;
  ASSERT_OK_AND_ASSIGN(auto off, RunOp(OpCode::kStridedSlice, offset,
                                       {x, CI({2}, {0, 1}), CI({2}, {0, 2}), CI({2}, {1, 1})},
                                       {{DType::kFloat32, {3, 2}}}));
  EXPECT_EQ(off[0].f(), (std::vector<float>{1, 2, 5, 6, 9, 10}));
  // Ellipsis: x[..., 2] with shrink -> [3]
  graph::StridedSliceOptions ell;
  ell.ellipsis_mask = 1;
  ell.shrink_axis_mask = 2;
  ASSERT_OK_AND_ASSIGN(auto e, RunOp(OpCode::kStridedSlice, ell,
                                     {x, CI({2}, {0, 2}), CI({2}, {0, 3}), CI({2}, {1, 1})},
                                     {{DType::kFloat32, {3}}}));
  EXPECT_EQ(e[0].f(), (std::vector<float>{2, 6, 10}));
}

TEST(Concatenation, NegativeAxisAndMismatchError) {
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp(OpCode::kConcatenation, graph::ConcatenationOptions{-1},
                      {F({2, 1}, {1, 2}), F({2, 2}, {3, 4, 5, 6})}, {{DType::kFloat32, {2, 3}}}));
  EXPECT_EQ(out[0].f(), (std::vector<float>{1, 3, 4, 2, 5, 6}));
  ASSERT_OK_AND_ASSIGN(auto ints, RunOp(OpCode::kConcatenation, graph::ConcatenationOptions{0},
                                        {I({1}, {7}), CI({2}, {8, 9})}, {{DType::kInt32, {3}}}));
  EXPECT_EQ(ints[0].i(), (std::vector<int32_t>{7, 8, 9}));
  auto bad = RunOp(OpCode::kConcatenation, graph::ConcatenationOptions{1},
                   {F({2, 1}, {1, 2}), F({3, 1}, {3, 4, 5})}, {{DType::kFloat32, {2, 2}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("does not match"), std::string::npos);
}

TEST(Gather, AxisBatchDimsAndOutOfRangeIndexIsAnError) {
  // params [3,2], indices [2,2] on axis 0 -> [2,2,2]
  auto params = F({3, 2}, Iota(6));
  ASSERT_OK_AND_ASSIGN(auto rows,
                       RunOp(OpCode::kGather, graph::GatherOptions{0, 0},
                             {params, I({2, 2}, {2, 0, 1, 1})}, {{DType::kFloat32, {2, 2, 2}}}));
  EXPECT_EQ(rows[0].f(), (std::vector<float>{4, 5, 0, 1, 2, 3, 2, 3}));
  // axis -1 -> columns
  ASSERT_OK_AND_ASSIGN(auto cols, RunOp(OpCode::kGather, graph::GatherOptions{-1, 0},
                                        {params, I({1}, {1})}, {{DType::kFloat32, {3, 1}}}));
  EXPECT_EQ(cols[0].f(), (std::vector<float>{1, 3, 5}));
  // batch_dims 1: params [2,3], indices [2,2]: out[b, j] = params[b, idx[b, j]]
  ASSERT_OK_AND_ASSIGN(auto batched, RunOp(OpCode::kGather, graph::GatherOptions{1, 1},
                                           {F({2, 3}, Iota(6)), I({2, 2}, {2, 0, 1, 1})},
                                           {{DType::kFloat32, {2, 2}}}));
  EXPECT_EQ(batched[0].f(), (std::vector<float>{2, 0, 4, 4}));
  auto oob = RunOp(OpCode::kGather, graph::GatherOptions{0, 0}, {params, I({2}, {1, 3})},
                   {{DType::kFloat32, {2, 2}}});
  ASSERT_FALSE(oob.ok());
  EXPECT_EQ(oob.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(oob.status().message().find("index 3 at position 1 is outside [0, 3)"),
            std::string::npos)
      << oob.status().ToString();
  EXPECT_NE(oob.status().message().find("op 0 GATHER"), std::string::npos);
  auto negative = RunOp(OpCode::kGather, graph::GatherOptions{0, 0}, {params, I({1}, {-1})},
                        {{DType::kFloat32, {1, 2}}});
  EXPECT_EQ(negative.status().code(), StatusCode::kOutOfRange);
}

TEST(EmbeddingLookup, RowsAndBoundsCheck) {
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp(OpCode::kEmbeddingLookup, graph::NoOptions{},
                      {I({3}, {2, 0, 2}), CF({3, 2}, Iota(6))}, {{DType::kFloat32, {3, 2}}}));
  EXPECT_EQ(out[0].f(), (std::vector<float>{4, 5, 0, 1, 4, 5}));
  auto oob = RunOp(OpCode::kEmbeddingLookup, graph::NoOptions{}, {I({1}, {3}), CF({3, 2}, Iota(6))},
                   {{DType::kFloat32, {1, 2}}});
  EXPECT_EQ(oob.status().code(), StatusCode::kOutOfRange);
}

TEST(DynamicUpdateSlice, WritesRegionAndClampsStart) {
  // operand [3,4] zeros, update [2,2] ones at (1,1)
  std::vector<float> ones(4, 1.0f);
  ASSERT_OK_AND_ASSIGN(
      auto out, RunOp(OpCode::kDynamicUpdateSlice, graph::NoOptions{},
                      {F({3, 4}, std::vector<float>(12, 0.0f)), F({2, 2}, ones), I({2}, {1, 1})},
                      {{DType::kFloat32, {3, 4}}}));
  EXPECT_EQ(out[0].f(), (std::vector<float>{0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0}));
  // Start (5, -3) clamps to (1, 0): the update must fit, as XLA/TFLite clamp.
  ASSERT_OK_AND_ASSIGN(auto clamped, RunOp(OpCode::kDynamicUpdateSlice, graph::NoOptions{},
                                           {F({3, 4}, std::vector<float>(12, 0.0f)),
                                            F({2, 2}, ones), I({2}, {5, -3})},
                                           {{DType::kFloat32, {3, 4}}}));
  EXPECT_EQ(clamped[0].f(), (std::vector<float>{0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0}));
  const std::vector<int64_t> start = {5, -3};
  const std::vector<int32_t> operand = {3, 4}, update = {2, 2};
  EXPECT_EQ(ClampUpdateStart(start, operand, update), (std::vector<int64_t>{1, 0}));
  auto too_big =
      RunOp(OpCode::kDynamicUpdateSlice, graph::NoOptions{},
            {F({2, 2}, ones), F({3, 1}, {1, 1, 1}), I({2}, {0, 0})}, {{DType::kFloat32, {2, 2}}});
  EXPECT_FALSE(too_big.ok());
}

TEST(DynamicUpdateSlice, InPlaceReferenceTouchesOnlyTheRegion) {
  std::vector<float> buffer(12, -1.0f);
  const std::vector<float> update = {7, 8};
  const std::vector<int32_t> shape = {3, 4}, ushape = {1, 2};
  const std::vector<int64_t> start = {2, 1};
  EXPECT_FALSE(DynamicUpdateSlice(buffer.data(), shape, update.data(), ushape, start, sizeof(float),
                                  buffer.data()));
  EXPECT_EQ(buffer, (std::vector<float>{-1, -1, -1, -1, -1, -1, -1, -1, -1, 7, 8, -1}));
  std::vector<float> copy(12, 0.0f);
  EXPECT_TRUE(DynamicUpdateSlice(buffer.data(), shape, update.data(), ushape,
                                 std::vector<int64_t>{0, 0}, sizeof(float), copy.data()));
  EXPECT_EQ(copy[0], 7);
  EXPECT_EQ(copy[11], -1);
}

// Updates whose inner dims are whole (one contiguous run per outer index: a KV-cache
// update [1, T, kv, hd]) and ones where a partial dim breaks the run, against the
// element-by-element definition.
TEST(DynamicUpdateSlice, ContiguousInnerDimsMatchElementwiseDefinition) {
  struct Case {
    std::vector<int32_t> operand, update;
    std::vector<int64_t> start;
  };
  const std::vector<Case> cases = {
      {{1, 6, 3, 4}, {1, 2, 3, 4}, {0, 3, 0, 0}},  // KV cache: one run of 24
      {{2, 5, 3, 4}, {2, 2, 3, 4}, {0, 1, 0, 0}},  // two runs of 24
      {{1, 6, 3, 4}, {1, 2, 2, 4}, {0, 1, 1, 0}},  // partial kv dim: runs of 8
      {{1, 6, 3, 4}, {1, 2, 3, 3}, {0, 4, 0, 1}},  // partial last dim: runs of 3
      {{4, 5}, {4, 5}, {0, 0}},                    // the whole operand
  };
  for (const Case& c : cases) {
    const auto strides = [](const std::vector<int32_t>& shape) {
      std::vector<int64_t> st(shape.size(), 1);
      for (int d = static_cast<int>(shape.size()) - 2; d >= 0; --d)
        st[d] = st[d + 1] * shape[d + 1];
      return st;
    };
    int64_t operand_count = 1, update_count = 1;
    for (int32_t d : c.operand) operand_count *= d;
    for (int32_t d : c.update) update_count *= d;
    std::vector<float> buffer(operand_count);
    std::iota(buffer.begin(), buffer.end(), -1000.0f);
    std::vector<float> update(update_count);
    std::iota(update.begin(), update.end(), 1.0f);
    std::vector<float> expected = buffer;
    const auto os = strides(c.operand), us = strides(c.update);
    for (int64_t i = 0; i < update_count; ++i) {
      int64_t at = 0;
      for (size_t d = 0; d < c.update.size(); ++d)
        at += ((i / us[d]) % c.update[d] + c.start[d]) * os[d];
      expected[at] = update[i];
    }
    EXPECT_FALSE(DynamicUpdateSlice(buffer.data(), c.operand, update.data(), c.update, c.start,
                                    sizeof(float), buffer.data()));
    EXPECT_EQ(buffer, expected) << ShapeToString(c.update) << " into " << ShapeToString(c.operand);
  }
}

TEST(Cast, FloatIntBool) {
  ASSERT_OK_AND_ASSIGN(
      auto fi, RunOp(OpCode::kCast, graph::NoOptions{}, {F({4}, {1.7f, -1.7f, 3e10f, 0.0f})},
                     {{DType::kInt32, {4}}}));
  EXPECT_EQ(fi[0].i(), (std::vector<int32_t>{1, -1, INT32_MAX, 0}));
  ASSERT_OK_AND_ASSIGN(auto ib, RunOp(OpCode::kCast, graph::NoOptions{}, {I({3}, {0, 5, -1})},
                                      {{DType::kBool, {3}}}));
  EXPECT_EQ(ib[0].b(), (std::vector<uint8_t>{0, 1, 1}));
  ASSERT_OK_AND_ASSIGN(auto bf, RunOp(OpCode::kCast, graph::NoOptions{}, {B({3}, {0, 1, 9})},
                                      {{DType::kFloat32, {3}}}));
  EXPECT_EQ(bf[0].f(), (std::vector<float>{0, 1, 1}));
  ASSERT_OK_AND_ASSIGN(auto if_, RunOp(OpCode::kCast, graph::NoOptions{}, {I({2}, {-3, 4})},
                                       {{DType::kFloat32, {2}}}));
  EXPECT_EQ(if_[0].f(), (std::vector<float>{-3, 4}));
}

}  // namespace
}  // namespace liteq::runtime::testing
