// GraphBuilder's op helpers: shape and dtype inference per op (TFLite semantics).
#include <algorithm>
#include <numeric>

#include "graph/builder.h"

namespace liteq::graph {
namespace {

int64_t NumElements(const Shape& s) {
  int64_t n = 1;
  for (int32_t d : s) n *= d;
  return n;
}

// Axis in [-rank, rank) -> [0, rank), or -1.
int NormalizeAxis(int axis, int rank) {
  if (axis < -rank || axis >= rank) return -1;
  return axis < 0 ? axis + rank : axis;
}

}  // namespace

bool GraphBuilder::Broadcast(const char* op, const std::vector<TensorId>& ins, Shape* out) {
  size_t rank = 0;
  for (TensorId id : ins) {
    if (!Valid(id)) {
      Fail(InternalError(std::string(op) + ": invalid tensor id " + std::to_string(id)));
      return false;
    }
    rank = std::max(rank, shape(id).size());
  }
  out->assign(rank, 1);
  for (TensorId id : ins) {
    const Shape& s = shape(id);
    for (size_t i = 0; i < s.size(); ++i) {
      int32_t& o = (*out)[rank - s.size() + i];
      const int32_t d = s[i];
      if (d == o || d == 1) continue;
      if (o == 1) {
        o = d;
        continue;
      }
      std::string names;
      for (TensorId x : ins) names += (names.empty() ? "" : ", ") + Describe(x);
      Fail(InvalidArgumentError(std::string(op) + " '" + ScopedName("") +
                                "': shapes do not broadcast: " + names));
      return false;
    }
  }
  return true;
}

TensorId GraphBuilder::Binary(OpCode code, TensorId a, TensorId b, std::string_view leaf) {
  Shape out;
  if (!Broadcast(OpCodeName(code), {a, b}, &out)) {
    return Placeholder(Valid(a) ? dtype(a) : DType::kFloat32, Valid(a) ? shape(a) : Shape{}, leaf);
  }
  if (dtype(a) != dtype(b)) {
    Fail(InvalidArgumentError(std::string(OpCodeName(code)) + ": dtypes differ: " + Describe(a) +
                              " vs " + Describe(b)));
  }
  OpOptions options = NoOptions{};
  if (code == OpCode::kAdd || code == OpCode::kSub || code == OpCode::kMul ||
      code == OpCode::kDiv) {
    options = BinaryOptions{};
  }
  return Emit(code, {a, b}, options, dtype(a), std::move(out), leaf);
}

TensorId GraphBuilder::Add(TensorId a, TensorId b, std::string_view leaf) {
  return Binary(OpCode::kAdd, a, b, leaf);
}
TensorId GraphBuilder::Sub(TensorId a, TensorId b, std::string_view leaf) {
  return Binary(OpCode::kSub, a, b, leaf);
}
TensorId GraphBuilder::Mul(TensorId a, TensorId b, std::string_view leaf) {
  return Binary(OpCode::kMul, a, b, leaf);
}
TensorId GraphBuilder::Div(TensorId a, TensorId b, std::string_view leaf) {
  return Binary(OpCode::kDiv, a, b, leaf);
}
TensorId GraphBuilder::Maximum(TensorId a, TensorId b, std::string_view leaf) {
  return Binary(OpCode::kMaximum, a, b, leaf);
}
TensorId GraphBuilder::Minimum(TensorId a, TensorId b, std::string_view leaf) {
  return Binary(OpCode::kMinimum, a, b, leaf);
}
TensorId GraphBuilder::Pow(TensorId a, TensorId b, std::string_view leaf) {
  return Binary(OpCode::kPow, a, b, leaf);
}
TensorId GraphBuilder::SquaredDifference(TensorId a, TensorId b, std::string_view leaf) {
  return Binary(OpCode::kSquaredDifference, a, b, leaf);
}

TensorId GraphBuilder::Compare(OpCode code, TensorId a, TensorId b, std::string_view leaf) {
  Shape out;
  if (!Broadcast(OpCodeName(code), {a, b}, &out)) {
    return Placeholder(DType::kBool, Valid(a) ? shape(a) : Shape{}, leaf);
  }
  if (dtype(a) != dtype(b)) {
    Fail(InvalidArgumentError(std::string(OpCodeName(code)) + ": dtypes differ: " + Describe(a) +
                              " vs " + Describe(b)));
  }
  return Emit(code, {a, b}, NoOptions{}, DType::kBool, std::move(out), leaf);
}

TensorId GraphBuilder::Less(TensorId a, TensorId b, std::string_view leaf) {
  return Compare(OpCode::kLess, a, b, leaf);
}
TensorId GraphBuilder::LessEqual(TensorId a, TensorId b, std::string_view leaf) {
  return Compare(OpCode::kLessEqual, a, b, leaf);
}
TensorId GraphBuilder::Greater(TensorId a, TensorId b, std::string_view leaf) {
  return Compare(OpCode::kGreater, a, b, leaf);
}
TensorId GraphBuilder::GreaterEqual(TensorId a, TensorId b, std::string_view leaf) {
  return Compare(OpCode::kGreaterEqual, a, b, leaf);
}
TensorId GraphBuilder::Equal(TensorId a, TensorId b, std::string_view leaf) {
  return Compare(OpCode::kEqual, a, b, leaf);
}

TensorId GraphBuilder::LogicalAnd(TensorId a, TensorId b, std::string_view leaf) {
  Shape out;
  if (!Broadcast("LOGICAL_AND", {a, b}, &out)) return Placeholder(DType::kBool, {}, leaf);
  if (dtype(a) != DType::kBool || dtype(b) != DType::kBool) {
    Fail(
        InvalidArgumentError("LOGICAL_AND needs bool inputs: " + Describe(a) + ", " + Describe(b)));
  }
  return Emit(OpCode::kLogicalAnd, {a, b}, NoOptions{}, DType::kBool, std::move(out), leaf);
}

TensorId GraphBuilder::SelectV2(TensorId cond, TensorId a, TensorId b, std::string_view leaf) {
  Shape out;
  if (!Broadcast("SELECT_V2", {cond, a, b}, &out)) {
    return Placeholder(Valid(a) ? dtype(a) : DType::kFloat32, {}, leaf);
  }
  if (dtype(cond) != DType::kBool || dtype(a) != dtype(b)) {
    Fail(InvalidArgumentError("SELECT_V2 needs a bool condition and equal value dtypes: " +
                              Describe(cond) + ", " + Describe(a) + ", " + Describe(b)));
  }
  return Emit(OpCode::kSelectV2, {cond, a, b}, NoOptions{}, dtype(a), std::move(out), leaf);
}

TensorId GraphBuilder::Unary(OpCode code, TensorId x, OpOptions options, std::string_view leaf) {
  if (!Valid(x)) {
    Fail(InternalError(std::string(OpCodeName(code)) + ": invalid input"));
    return Placeholder(DType::kFloat32, {}, leaf);
  }
  return Emit(code, {x}, std::move(options), dtype(x), shape(x), leaf);
}

TensorId GraphBuilder::Rsqrt(TensorId x, std::string_view leaf) {
  return Unary(OpCode::kRsqrt, x, NoOptions{}, leaf);
}
TensorId GraphBuilder::Sqrt(TensorId x, std::string_view leaf) {
  return Unary(OpCode::kSqrt, x, NoOptions{}, leaf);
}
TensorId GraphBuilder::Square(TensorId x, std::string_view leaf) {
  return Unary(OpCode::kSquare, x, NoOptions{}, leaf);
}
TensorId GraphBuilder::Exp(TensorId x, std::string_view leaf) {
  return Unary(OpCode::kExp, x, NoOptions{}, leaf);
}
TensorId GraphBuilder::Neg(TensorId x, std::string_view leaf) {
  return Unary(OpCode::kNeg, x, NoOptions{}, leaf);
}
TensorId GraphBuilder::Abs(TensorId x, std::string_view leaf) {
  return Unary(OpCode::kAbs, x, NoOptions{}, leaf);
}
TensorId GraphBuilder::Tanh(TensorId x, std::string_view leaf) {
  return Unary(OpCode::kTanh, x, NoOptions{}, leaf);
}
TensorId GraphBuilder::Logistic(TensorId x, std::string_view leaf) {
  return Unary(OpCode::kLogistic, x, NoOptions{}, leaf);
}
TensorId GraphBuilder::Relu(TensorId x, std::string_view leaf) {
  return Unary(OpCode::kRelu, x, NoOptions{}, leaf);
}
TensorId GraphBuilder::Sin(TensorId x, std::string_view leaf) {
  return Unary(OpCode::kSin, x, NoOptions{}, leaf);
}
TensorId GraphBuilder::Cos(TensorId x, std::string_view leaf) {
  return Unary(OpCode::kCos, x, NoOptions{}, leaf);
}
TensorId GraphBuilder::Gelu(TensorId x, bool approximate, std::string_view leaf) {
  return Unary(OpCode::kGelu, x, GeluOptions{approximate}, leaf);
}

TensorId GraphBuilder::Cast(TensorId x, DType to, std::string_view leaf) {
  if (!Valid(x)) return Unary(OpCode::kCast, x, NoOptions{}, leaf);
  return Emit(OpCode::kCast, {x}, CastOptions{dtype(x), to}, to, shape(x), leaf);
}

TensorId GraphBuilder::FullyConnected(TensorId x, TensorId w, TensorId bias, bool keep_num_dims,
                                      std::string_view leaf) {
  if (!Valid(x) || !Valid(w) || (bias != -1 && !Valid(bias))) {
    Fail(InternalError("FULLY_CONNECTED '" + ScopedName(leaf) + "': invalid input"));
    return Placeholder(DType::kFloat32, {}, leaf);
  }
  const Shape& xs = shape(x);
  const Shape& ws = shape(w);
  if (ws.size() != 2 || xs.empty() || xs.back() != ws[1]) {
    Fail(InvalidArgumentError("FULLY_CONNECTED '" + ScopedName(leaf) + "': input " + Describe(x) +
                              " does not fit weights " + Describe(w) + " ([out, in])"));
    return Placeholder(DType::kFloat32, xs, leaf);
  }
  if (bias != -1 && shape(bias) != Shape{ws[0]}) {
    Fail(InvalidArgumentError("FULLY_CONNECTED '" + ScopedName(leaf) + "': bias " + Describe(bias) +
                              " does not match weights " + Describe(w)));
  }
  Shape out;
  if (keep_num_dims) {
    out = xs;
    out.back() = ws[0];
  } else {
    out = {static_cast<int32_t>(NumElements(xs) / std::max(1, ws[1])), ws[0]};
  }
  std::vector<TensorId> inputs = {x, w};
  if (bias != -1) inputs.push_back(bias);
  FullyConnectedOptions options;
  options.keep_num_dims = keep_num_dims;
  return Emit(OpCode::kFullyConnected, std::move(inputs), options, DType::kFloat32, std::move(out),
              leaf);
}

TensorId GraphBuilder::BatchMatMul(TensorId a, TensorId b, bool adj_x, bool adj_y,
                                   std::string_view leaf) {
  if (!Valid(a) || !Valid(b) || rank(a) < 2 || rank(b) < 2) {
    Fail(InternalError("BATCH_MATMUL '" + ScopedName(leaf) +
                       "': inputs need rank >= 2: " + Describe(a) + ", " + Describe(b)));
    return Placeholder(DType::kFloat32, {}, leaf);
  }
  const Shape& as = shape(a);
  const Shape& bs = shape(b);
  const int32_t m = adj_x ? as[as.size() - 1] : as[as.size() - 2];
  const int32_t ka = adj_x ? as[as.size() - 2] : as[as.size() - 1];
  const int32_t kb = adj_y ? bs[bs.size() - 1] : bs[bs.size() - 2];
  const int32_t n = adj_y ? bs[bs.size() - 2] : bs[bs.size() - 1];
  if (ka != kb) {
    Fail(InvalidArgumentError("BATCH_MATMUL '" + ScopedName(leaf) + "': inner dimensions differ: " +
                              Describe(a) + " x " + Describe(b) + (adj_y ? " (adj_y)" : "")));
    return Placeholder(DType::kFloat32, {}, leaf);
  }
  // Batch dimensions broadcast like elementwise ops.
  const Shape a_batch(as.begin(), as.end() - 2);
  const Shape b_batch(bs.begin(), bs.end() - 2);
  const size_t r = std::max(a_batch.size(), b_batch.size());
  Shape out(r, 1);
  for (size_t i = 0; i < r; ++i) {
    const int32_t da = i + a_batch.size() >= r ? a_batch[i + a_batch.size() - r] : 1;
    const int32_t db = i + b_batch.size() >= r ? b_batch[i + b_batch.size() - r] : 1;
    if (da != db && da != 1 && db != 1) {
      Fail(InvalidArgumentError("BATCH_MATMUL '" + ScopedName(leaf) +
                                "': batch dimensions do not broadcast: " + Describe(a) + ", " +
                                Describe(b)));
      return Placeholder(DType::kFloat32, {}, leaf);
    }
    out[i] = std::max(da, db);
  }
  out.push_back(m);
  out.push_back(n);
  BatchMatMulOptions options;
  options.adj_x = adj_x;
  options.adj_y = adj_y;
  return Emit(OpCode::kBatchMatmul, {a, b}, options, dtype(a), std::move(out), leaf);
}

TensorId GraphBuilder::Softmax(TensorId x, float beta, std::string_view leaf) {
  return Unary(OpCode::kSoftmax, x, SoftmaxOptions{beta}, leaf);
}

TensorId GraphBuilder::Reduce(OpCode code, TensorId x, const std::vector<int32_t>& axes,
                              bool keep_dims, std::string_view leaf) {
  if (!Valid(x)) return Unary(code, x, NoOptions{}, leaf);
  const int r = rank(x);
  std::vector<bool> reduced(r, false);
  for (int32_t a : axes) {
    const int axis = NormalizeAxis(a, r);
    if (axis < 0) {
      Fail(InvalidArgumentError(std::string(OpCodeName(code)) + " '" + ScopedName(leaf) +
                                "': axis " + std::to_string(a) + " out of range for " +
                                Describe(x)));
      return Placeholder(dtype(x), shape(x), leaf);
    }
    reduced[axis] = true;
  }
  Shape out;
  for (int d = 0; d < r; ++d) {
    if (!reduced[d]) {
      out.push_back(shape(x)[d]);
    } else if (keep_dims) {
      out.push_back(1);
    }
  }
  const TensorId axes_t = VectorInt32(axes);
  return Emit(code, {x, axes_t}, ReducerOptions{keep_dims}, dtype(x), std::move(out), leaf);
}

TensorId GraphBuilder::Mean(TensorId x, const std::vector<int32_t>& axes, bool keep_dims,
                            std::string_view leaf) {
  return Reduce(OpCode::kMean, x, axes, keep_dims, leaf);
}
TensorId GraphBuilder::Sum(TensorId x, const std::vector<int32_t>& axes, bool keep_dims,
                           std::string_view leaf) {
  return Reduce(OpCode::kSum, x, axes, keep_dims, leaf);
}
TensorId GraphBuilder::ReduceMax(TensorId x, const std::vector<int32_t>& axes, bool keep_dims,
                                 std::string_view leaf) {
  return Reduce(OpCode::kReduceMax, x, axes, keep_dims, leaf);
}

TensorId GraphBuilder::Reshape(TensorId x, Shape new_shape, std::string_view leaf) {
  if (!Valid(x)) return Unary(OpCode::kReshape, x, NoOptions{}, leaf);
  const int64_t total = NumElements(shape(x));
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < new_shape.size(); ++i) {
    if (new_shape[i] == -1 && infer == -1) {
      infer = static_cast<int>(i);
    } else if (new_shape[i] < 0) {
      known = -1;
      break;
    } else {
      known *= new_shape[i];
    }
  }
  if (infer >= 0 && known > 0 && total % known == 0) {
    new_shape[infer] = static_cast<int32_t>(total / known);
    known = total;
  }
  if (known != total) {
    Fail(InvalidArgumentError("RESHAPE '" + ScopedName(leaf) + "': cannot reshape " + Describe(x) +
                              " to " + ShapeString(new_shape)));
    return Placeholder(dtype(x), shape(x), leaf);
  }
  const TensorId shape_t = VectorInt32(new_shape);
  return Emit(OpCode::kReshape, {x, shape_t}, ReshapeOptions{new_shape}, dtype(x), new_shape, leaf);
}

TensorId GraphBuilder::Transpose(TensorId x, const std::vector<int32_t>& perm,
                                 std::string_view leaf) {
  if (!Valid(x)) return Unary(OpCode::kTranspose, x, NoOptions{}, leaf);
  const int r = rank(x);
  std::vector<int32_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int32_t> iota(r);
  std::iota(iota.begin(), iota.end(), 0);
  if (sorted != iota) {
    Fail(InvalidArgumentError("TRANSPOSE '" + ScopedName(leaf) + "': " + ShapeString(perm) +
                              " is not a permutation for " + Describe(x)));
    return Placeholder(dtype(x), shape(x), leaf);
  }
  Shape out(r);
  for (int i = 0; i < r; ++i) out[i] = shape(x)[perm[i]];
  const TensorId perm_t = VectorInt32(perm);
  return Emit(OpCode::kTranspose, {x, perm_t}, NoOptions{}, dtype(x), std::move(out), leaf);
}

TensorId GraphBuilder::Slice(TensorId x, const std::vector<int32_t>& begin,
                             const std::vector<int32_t>& size, std::string_view leaf) {
  if (!Valid(x)) return Unary(OpCode::kSlice, x, NoOptions{}, leaf);
  const Shape& xs = shape(x);
  const size_t r = xs.size();
  if (begin.size() != r || size.size() != r) {
    Fail(InvalidArgumentError("SLICE '" + ScopedName(leaf) + "': begin/size rank mismatch for " +
                              Describe(x)));
    return Placeholder(dtype(x), xs, leaf);
  }
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int32_t s = size[i] == -1 ? xs[i] - begin[i] : size[i];
    if (begin[i] < 0 || s < 0 || begin[i] + s > xs[i]) {
      Fail(InvalidArgumentError("SLICE '" + ScopedName(leaf) + "': begin " + ShapeString(begin) +
                                " size " + ShapeString(size) + " outside " + Describe(x)));
      return Placeholder(dtype(x), xs, leaf);
    }
    out[i] = s;
  }
  const TensorId begin_t = VectorInt32(begin);
  const TensorId size_t_ = VectorInt32(size);
  return Emit(OpCode::kSlice, {x, begin_t, size_t_}, NoOptions{}, dtype(x), std::move(out), leaf);
}

TensorId GraphBuilder::Concat(const std::vector<TensorId>& inputs, int axis,
                              std::string_view leaf) {
  if (inputs.empty() || !Valid(inputs[0])) {
    Fail(InternalError("CONCATENATION '" + ScopedName(leaf) + "': no valid inputs"));
    return Placeholder(DType::kFloat32, {}, leaf);
  }
  const int r = rank(inputs[0]);
  const int ax = NormalizeAxis(axis, r);
  Shape out = shape(inputs[0]);
  bool bad = ax < 0;
  if (!bad) out[ax] = 0;
  for (TensorId in : inputs) {
    if (bad || !Valid(in) || rank(in) != r || dtype(in) != dtype(inputs[0])) {
      bad = true;
      break;
    }
    for (int d = 0; d < r; ++d) {
      if (d != ax && shape(in)[d] != out[d]) bad = true;
    }
    out[ax] += shape(in)[ax];
  }
  if (bad) {
    std::string names;
    for (TensorId x : inputs) names += (names.empty() ? "" : ", ") + Describe(x);
    Fail(InvalidArgumentError("CONCATENATION '" + ScopedName(leaf) + "' on axis " +
                              std::to_string(axis) + ": inputs do not fit: " + names));
    return Placeholder(dtype(inputs[0]), shape(inputs[0]), leaf);
  }
  return Emit(OpCode::kConcatenation, inputs, ConcatenationOptions{ax, graph::Activation::kNone},
              dtype(inputs[0]), std::move(out), leaf);
}

TensorId GraphBuilder::Gather(TensorId params, TensorId indices, int axis, std::string_view leaf) {
  if (!Valid(params) || !Valid(indices)) {
    Fail(InternalError("GATHER '" + ScopedName(leaf) + "': invalid input"));
    return Placeholder(DType::kFloat32, {}, leaf);
  }
  const int r = rank(params);
  const int ax = NormalizeAxis(axis, r);
  if (ax < 0 || dtype(indices) != DType::kInt32) {
    Fail(InvalidArgumentError("GATHER '" + ScopedName(leaf) + "': bad axis " +
                              std::to_string(axis) + " or indices " + Describe(indices) +
                              " for params " + Describe(params)));
    return Placeholder(dtype(params), shape(params), leaf);
  }
  const Shape& ps = shape(params);
  Shape out(ps.begin(), ps.begin() + ax);
  for (int32_t d : shape(indices)) out.push_back(d);
  for (int d = ax + 1; d < r; ++d) out.push_back(ps[d]);
  return Emit(OpCode::kGather, {params, indices}, GatherOptions{ax, 0}, dtype(params),
              std::move(out), leaf);
}

TensorId GraphBuilder::DynamicUpdateSlice(TensorId operand, TensorId update, TensorId start,
                                          std::string_view leaf) {
  if (!Valid(operand) || !Valid(update) || !Valid(start)) {
    Fail(InternalError("DYNAMIC_UPDATE_SLICE '" + ScopedName(leaf) + "': invalid input"));
    return Placeholder(DType::kFloat32, {}, leaf);
  }
  const Shape& os = shape(operand);
  const Shape& us = shape(update);
  bool bad = os.size() != us.size() || dtype(operand) != dtype(update) ||
             dtype(start) != DType::kInt32 ||
             shape(start) != Shape{static_cast<int32_t>(os.size())};
  for (size_t i = 0; !bad && i < os.size(); ++i) bad = us[i] > os[i];
  if (bad) {
    Fail(InvalidArgumentError("DYNAMIC_UPDATE_SLICE '" + ScopedName(leaf) + "': update " +
                              Describe(update) + " / start " + Describe(start) +
                              " do not fit operand " + Describe(operand)));
    return Placeholder(dtype(operand), os, leaf);
  }
  return Emit(OpCode::kDynamicUpdateSlice, {operand, update, start}, NoOptions{}, dtype(operand),
              os, leaf);
}

}  // namespace liteq::graph
