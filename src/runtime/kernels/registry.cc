#include "runtime/kernels/kernels.h"

namespace liteq::runtime {

PrepareFn FindPrepareFn(graph::OpCode code) {
  using graph::OpCode;
  switch (code) {
    case OpCode::kAdd:
    case OpCode::kSub:
    case OpCode::kMul:
    case OpCode::kDiv:
    case OpCode::kMaximum:
    case OpCode::kMinimum:
    case OpCode::kSquaredDifference:
    case OpCode::kPow:
      return PrepareArithmetic;
    case OpCode::kLess:
    case OpCode::kLessEqual:
    case OpCode::kGreater:
    case OpCode::kGreaterEqual:
    case OpCode::kEqual:
      return PrepareComparison;
    case OpCode::kLogicalAnd:
      return PrepareLogicalAnd;
    case OpCode::kSelectV2:
      return PrepareSelectV2;
    case OpCode::kNeg:
    case OpCode::kAbs:
    case OpCode::kExp:
    case OpCode::kSqrt:
    case OpCode::kRsqrt:
    case OpCode::kSquare:
    case OpCode::kSin:
    case OpCode::kCos:
    case OpCode::kTanh:
    case OpCode::kLogistic:
    case OpCode::kGelu:
    case OpCode::kRelu:
      return PrepareUnary;
    case OpCode::kSoftmax:
      return PrepareSoftmax;
    case OpCode::kMean:
    case OpCode::kSum:
    case OpCode::kReduceMax:
      return PrepareReduce;
    case OpCode::kFullyConnected:
      return PrepareFullyConnected;
    case OpCode::kBatchMatmul:
      return PrepareBatchMatMul;
    case OpCode::kReshape:
      return PrepareReshape;
    case OpCode::kSqueeze:
      return PrepareSqueeze;
    case OpCode::kTranspose:
      return PrepareTranspose;
    case OpCode::kSlice:
      return PrepareSlice;
    case OpCode::kStridedSlice:
      return PrepareStridedSlice;
    case OpCode::kConcatenation:
      return PrepareConcatenation;
    case OpCode::kGather:
      return PrepareGather;
    case OpCode::kEmbeddingLookup:
      return PrepareEmbeddingLookup;
    case OpCode::kDynamicUpdateSlice:
      return PrepareDynamicUpdateSlice;
    case OpCode::kCast:
      return PrepareCast;
    case OpCode::kDequantize:
      return PrepareDequantize;
    case OpCode::kQuantize:
      return PrepareQuantize;
    case OpCode::kPad:
      return nullptr;
  }
  return nullptr;
}

OutputAlias OutputAliasOf(graph::OpCode code) {
  switch (code) {
    case graph::OpCode::kReshape:
    case graph::OpCode::kSqueeze:
      return OutputAlias::kView;
    case graph::OpCode::kDynamicUpdateSlice:
      return OutputAlias::kInPlaceUpdate;
    default:
      return OutputAlias::kNone;
  }
}

}  // namespace liteq::runtime
