#include "tflite/op_schema.h"

#include <cstring>
#include <string>
#include <type_traits>

namespace liteq::tflite {
namespace {

using graph::OpCode;

// Input/output counts follow the official kernels (tensorflow/lite/kernels/*.cc,
// NumInputs/NumOutputs checks); options types follow the converter's choice of
// BuiltinOptions member for each op.
constexpr OpSchema kOps[] = {
    {OpCode::kAdd, fb::BuiltinOptions_AddOptions, 2, 2, 1},
    {OpCode::kConcatenation, fb::BuiltinOptions_ConcatenationOptions, 1, -1, 1},
    {OpCode::kDequantize, fb::BuiltinOptions_DequantizeOptions, 1, 1, 1},
    {OpCode::kEmbeddingLookup, fb::BuiltinOptions_NONE, 2, 2, 1},
    // Bias (input 2) is optional: absent or -1.
    {OpCode::kFullyConnected, fb::BuiltinOptions_FullyConnectedOptions, 2, 3, 1},
    {OpCode::kLogistic, fb::BuiltinOptions_NONE, 1, 1, 1},
    {OpCode::kMul, fb::BuiltinOptions_MulOptions, 2, 2, 1},
    {OpCode::kRelu, fb::BuiltinOptions_NONE, 1, 1, 1},
    // The shape comes from input 1 or, without it, from ReshapeOptions.new_shape.
    {OpCode::kReshape, fb::BuiltinOptions_ReshapeOptions, 1, 2, 1},
    {OpCode::kSoftmax, fb::BuiltinOptions_SoftmaxOptions, 1, 1, 1},
    {OpCode::kTanh, fb::BuiltinOptions_NONE, 1, 1, 1},
    {OpCode::kPad, fb::BuiltinOptions_PadOptions, 2, 2, 1},
    {OpCode::kGather, fb::BuiltinOptions_GatherOptions, 2, 2, 1},
    {OpCode::kTranspose, fb::BuiltinOptions_TransposeOptions, 2, 2, 1},
    {OpCode::kMean, fb::BuiltinOptions_ReducerOptions, 2, 2, 1},
    {OpCode::kSub, fb::BuiltinOptions_SubOptions, 2, 2, 1},
    {OpCode::kDiv, fb::BuiltinOptions_DivOptions, 2, 2, 1},
    {OpCode::kSqueeze, fb::BuiltinOptions_SqueezeOptions, 1, 1, 1},
    {OpCode::kStridedSlice, fb::BuiltinOptions_StridedSliceOptions, 4, 4, 1},
    {OpCode::kExp, fb::BuiltinOptions_ExpOptions, 1, 1, 1},
    {OpCode::kCast, fb::BuiltinOptions_CastOptions, 1, 1, 1},
    {OpCode::kMaximum, fb::BuiltinOptions_MaximumMinimumOptions, 2, 2, 1},
    {OpCode::kMinimum, fb::BuiltinOptions_MaximumMinimumOptions, 2, 2, 1},
    {OpCode::kLess, fb::BuiltinOptions_LessOptions, 2, 2, 1},
    {OpCode::kNeg, fb::BuiltinOptions_NegOptions, 1, 1, 1},
    {OpCode::kGreater, fb::BuiltinOptions_GreaterOptions, 2, 2, 1},
    {OpCode::kGreaterEqual, fb::BuiltinOptions_GreaterEqualOptions, 2, 2, 1},
    {OpCode::kLessEqual, fb::BuiltinOptions_LessEqualOptions, 2, 2, 1},
    {OpCode::kSlice, fb::BuiltinOptions_SliceOptions, 3, 3, 1},
    {OpCode::kSin, fb::BuiltinOptions_NONE, 1, 1, 1},
    {OpCode::kEqual, fb::BuiltinOptions_EqualOptions, 2, 2, 1},
    {OpCode::kSum, fb::BuiltinOptions_ReducerOptions, 2, 2, 1},
    {OpCode::kSqrt, fb::BuiltinOptions_NONE, 1, 1, 1},
    {OpCode::kRsqrt, fb::BuiltinOptions_NONE, 1, 1, 1},
    {OpCode::kPow, fb::BuiltinOptions_PowOptions, 2, 2, 1},
    {OpCode::kReduceMax, fb::BuiltinOptions_ReducerOptions, 2, 2, 1},
    {OpCode::kLogicalAnd, fb::BuiltinOptions_LogicalAndOptions, 2, 2, 1},
    {OpCode::kSquare, fb::BuiltinOptions_SquareOptions, 1, 1, 1},
    {OpCode::kSquaredDifference, fb::BuiltinOptions_SquaredDifferenceOptions, 2, 2, 1},
    {OpCode::kAbs, fb::BuiltinOptions_AbsOptions, 1, 1, 1},
    {OpCode::kCos, fb::BuiltinOptions_CosOptions, 1, 1, 1},
    {OpCode::kQuantize, fb::BuiltinOptions_QuantizeOptions, 1, 1, 1},
    {OpCode::kSelectV2, fb::BuiltinOptions_SelectV2Options, 3, 3, 1},
    {OpCode::kBatchMatmul, fb::BuiltinOptions_BatchMatMulOptions, 2, 2, 1},
    {OpCode::kGelu, fb::BuiltinOptions_GeluOptions, 1, 1, 1},
    // operand, update, start indices.
    {OpCode::kDynamicUpdateSlice, fb::BuiltinOptions_DynamicUpdateSliceOptions, 3, 3, 1},
};

fb::ActivationFunctionType ToFb(graph::Activation a) {
  return static_cast<fb::ActivationFunctionType>(a);
}

Result<graph::Activation> ParseActivation(fb::ActivationFunctionType a) {
  if (a < fb::ActivationFunctionType_NONE || a > fb::ActivationFunctionType_TANH) {
    return UnimplementedError("fused activation " + std::to_string(static_cast<int>(a)) +
                              " is not supported");
  }
  return static_cast<graph::Activation>(a);
}

Result<graph::DType> ParseType(fb::TensorType t, const char* field) {
  if (!IsSupportedTensorType(static_cast<int8_t>(t))) {
    return UnimplementedError(std::string(field) + " has unsupported tensor type " +
                              std::to_string(static_cast<int>(t)));
  }
  return static_cast<graph::DType>(t);
}

std::vector<int32_t> ToVector(const flatbuffers::Vector<int32_t>* v) {
  if (v == nullptr) return {};
  return std::vector<int32_t>(v->begin(), v->end());
}

// The alternative T of `options`; T's defaults if it holds another (the writer
// validates first, so that does not happen there).
template <typename T>
T As(const graph::OpOptions& options) {
  if (const T* p = std::get_if<T>(&options)) return *p;
  return T{};
}

}  // namespace

const OpSchema* FindOpSchema(int32_t builtin_code) {
  for (const OpSchema& s : kOps) {
    if (static_cast<int32_t>(s.code) == builtin_code) return &s;
  }
  return nullptr;
}

const OpSchema& GetOpSchema(graph::OpCode code) {
  const OpSchema* s = FindOpSchema(static_cast<int32_t>(code));
  LITEQ_CHECK(s != nullptr);  // every graph::OpCode has an entry in kOps
  return *s;
}

bool IsSupportedTensorType(int8_t type) {
  return std::strcmp(graph::DTypeName(static_cast<graph::DType>(type)), "unknown") != 0;
}

graph::OpOptions DefaultOptions(graph::OpCode code) {
  switch (code) {
    case OpCode::kAdd:
    case OpCode::kSub:
    case OpCode::kMul:
    case OpCode::kDiv:
      return graph::BinaryOptions{};
    case OpCode::kFullyConnected:
      return graph::FullyConnectedOptions{};
    case OpCode::kConcatenation:
      return graph::ConcatenationOptions{};
    case OpCode::kSoftmax:
      return graph::SoftmaxOptions{};
    case OpCode::kReshape:
      return graph::ReshapeOptions{};
    case OpCode::kMean:
    case OpCode::kSum:
    case OpCode::kReduceMax:
      return graph::ReducerOptions{};
    case OpCode::kGather:
      return graph::GatherOptions{};
    case OpCode::kBatchMatmul:
      return graph::BatchMatMulOptions{};
    case OpCode::kStridedSlice:
      return graph::StridedSliceOptions{};
    case OpCode::kGelu:
      return graph::GeluOptions{};
    case OpCode::kSqueeze:
      return graph::SqueezeOptions{};
    case OpCode::kCast:
      return graph::CastOptions{};
    default:
      return graph::NoOptions{};
  }
}

bool OptionsMatch(graph::OpCode code, const graph::OpOptions& options) {
  return std::holds_alternative<graph::NoOptions>(options) ||
         options.index() == DefaultOptions(code).index();
}

flatbuffers::Offset<void> BuildOptions(flatbuffers::FlatBufferBuilder& fbb, graph::OpCode code,
                                       const graph::OpOptions& options) {
  const graph::OpOptions defaults = DefaultOptions(code);
  const graph::OpOptions& o =
      std::holds_alternative<graph::NoOptions>(options) ? defaults : options;
  switch (GetOpSchema(code).options_type) {
    case fb::BuiltinOptions_NONE:
      return 0;
    case fb::BuiltinOptions_AddOptions:
      // pot_scale_int16 = false: int16 ADD/SUB take TFLite's general-scale path (the
      // one liteq's runtime implements); the schema default (true) would require
      // power-of-two scales. Float and int8 kernels ignore the field.
      return fb::CreateAddOptions(fbb, ToFb(As<graph::BinaryOptions>(o).activation),
                                  /*pot_scale_int16=*/false)
          .Union();
    case fb::BuiltinOptions_SubOptions:
      return fb::CreateSubOptions(fbb, ToFb(As<graph::BinaryOptions>(o).activation),
                                  /*pot_scale_int16=*/false)
          .Union();
    case fb::BuiltinOptions_MulOptions:
      return fb::CreateMulOptions(fbb, ToFb(As<graph::BinaryOptions>(o).activation)).Union();
    case fb::BuiltinOptions_DivOptions:
      return fb::CreateDivOptions(fbb, ToFb(As<graph::BinaryOptions>(o).activation)).Union();
    case fb::BuiltinOptions_FullyConnectedOptions: {
      const auto fc = As<graph::FullyConnectedOptions>(o);
      return fb::CreateFullyConnectedOptions(fbb, ToFb(fc.activation),
                                             fb::FullyConnectedOptionsWeightsFormat_DEFAULT,
                                             fc.keep_num_dims, fc.asymmetric_quantize_inputs)
          .Union();
    }
    case fb::BuiltinOptions_ConcatenationOptions: {
      const auto c = As<graph::ConcatenationOptions>(o);
      return fb::CreateConcatenationOptions(fbb, c.axis, ToFb(c.activation)).Union();
    }
    case fb::BuiltinOptions_SoftmaxOptions:
      return fb::CreateSoftmaxOptions(fbb, As<graph::SoftmaxOptions>(o).beta).Union();
    case fb::BuiltinOptions_ReshapeOptions: {
      const auto shape = As<graph::ReshapeOptions>(o).new_shape;
      auto vec = shape.empty() ? 0 : fbb.CreateVector(shape);
      return fb::CreateReshapeOptions(fbb, vec).Union();
    }
    case fb::BuiltinOptions_ReducerOptions:
      return fb::CreateReducerOptions(fbb, As<graph::ReducerOptions>(o).keep_dims).Union();
    case fb::BuiltinOptions_GatherOptions: {
      const auto g = As<graph::GatherOptions>(o);
      return fb::CreateGatherOptions(fbb, g.axis, g.batch_dims).Union();
    }
    case fb::BuiltinOptions_BatchMatMulOptions: {
      const auto b = As<graph::BatchMatMulOptions>(o);
      return fb::CreateBatchMatMulOptions(fbb, b.adj_x, b.adj_y, b.asymmetric_quantize_inputs)
          .Union();
    }
    case fb::BuiltinOptions_StridedSliceOptions: {
      const auto s = As<graph::StridedSliceOptions>(o);
      return fb::CreateStridedSliceOptions(fbb, s.begin_mask, s.end_mask, s.ellipsis_mask,
                                           s.new_axis_mask, s.shrink_axis_mask, s.offset)
          .Union();
    }
    case fb::BuiltinOptions_GeluOptions:
      return fb::CreateGeluOptions(fbb, As<graph::GeluOptions>(o).approximate).Union();
    case fb::BuiltinOptions_SqueezeOptions: {
      const auto dims = As<graph::SqueezeOptions>(o).squeeze_dims;
      auto vec = dims.empty() ? 0 : fbb.CreateVector(dims);
      return fb::CreateSqueezeOptions(fbb, vec).Union();
    }
    case fb::BuiltinOptions_CastOptions: {
      const auto c = As<graph::CastOptions>(o);
      return fb::CreateCastOptions(fbb, static_cast<fb::TensorType>(c.in),
                                   static_cast<fb::TensorType>(c.out))
          .Union();
    }
    // Options tables without fields: an empty table, as the converter writes.
    default: {
      auto start = fbb.StartTable();
      return flatbuffers::Offset<void>(fbb.EndTable(start));
    }
  }
}

Result<graph::OpOptions> ParseOptions(graph::OpCode code, const fb::Operator& op) {
  const fb::BuiltinOptions expected = GetOpSchema(code).options_type;
  const fb::BuiltinOptions actual = op.builtin_options_type();
  if (actual != fb::BuiltinOptions_NONE && actual != expected) {
    return DataLossError(
        std::string("builtin_options has type ") + std::to_string(static_cast<int>(actual)) +
        " but " + graph::OpCodeName(code) + " takes " +
        (expected == fb::BuiltinOptions_NONE ? std::string("none")
                                             : std::string(fb::EnumNameBuiltinOptions(expected))));
  }
  graph::OpOptions result = DefaultOptions(code);
  // A missing table (type NONE, or a null value) leaves the schema defaults.
  switch (expected) {
    case fb::BuiltinOptions_AddOptions:
      if (auto* p = op.builtin_options_as_AddOptions()) {
        LITEQ_ASSIGN_OR_RETURN(auto a, ParseActivation(p->fused_activation_function()));
        result = graph::BinaryOptions{a};
      }
      break;
    case fb::BuiltinOptions_SubOptions:
      if (auto* p = op.builtin_options_as_SubOptions()) {
        LITEQ_ASSIGN_OR_RETURN(auto a, ParseActivation(p->fused_activation_function()));
        result = graph::BinaryOptions{a};
      }
      break;
    case fb::BuiltinOptions_MulOptions:
      if (auto* p = op.builtin_options_as_MulOptions()) {
        LITEQ_ASSIGN_OR_RETURN(auto a, ParseActivation(p->fused_activation_function()));
        result = graph::BinaryOptions{a};
      }
      break;
    case fb::BuiltinOptions_DivOptions:
      if (auto* p = op.builtin_options_as_DivOptions()) {
        LITEQ_ASSIGN_OR_RETURN(auto a, ParseActivation(p->fused_activation_function()));
        result = graph::BinaryOptions{a};
      }
      break;
    case fb::BuiltinOptions_FullyConnectedOptions:
      if (auto* p = op.builtin_options_as_FullyConnectedOptions()) {
        if (p->weights_format() != fb::FullyConnectedOptionsWeightsFormat_DEFAULT) {
          return UnimplementedError("FULLY_CONNECTED weights_format " +
                                    std::to_string(p->weights_format()) + " is not supported");
        }
        LITEQ_ASSIGN_OR_RETURN(auto a, ParseActivation(p->fused_activation_function()));
        result =
            graph::FullyConnectedOptions{a, p->keep_num_dims(), p->asymmetric_quantize_inputs()};
      }
      break;
    case fb::BuiltinOptions_ConcatenationOptions:
      if (auto* p = op.builtin_options_as_ConcatenationOptions()) {
        LITEQ_ASSIGN_OR_RETURN(auto a, ParseActivation(p->fused_activation_function()));
        result = graph::ConcatenationOptions{p->axis(), a};
      }
      break;
    case fb::BuiltinOptions_SoftmaxOptions:
      if (auto* p = op.builtin_options_as_SoftmaxOptions()) {
        result = graph::SoftmaxOptions{p->beta()};
      } else {
        result = graph::SoftmaxOptions{0.0f};  // the schema default, as the runtime reads it
      }
      break;
    case fb::BuiltinOptions_ReshapeOptions:
      if (auto* p = op.builtin_options_as_ReshapeOptions()) {
        result = graph::ReshapeOptions{ToVector(p->new_shape())};
      }
      break;
    case fb::BuiltinOptions_ReducerOptions:
      if (auto* p = op.builtin_options_as_ReducerOptions()) {
        result = graph::ReducerOptions{p->keep_dims()};
      }
      break;
    case fb::BuiltinOptions_GatherOptions:
      if (auto* p = op.builtin_options_as_GatherOptions()) {
        result = graph::GatherOptions{p->axis(), p->batch_dims()};
      }
      break;
    case fb::BuiltinOptions_BatchMatMulOptions:
      if (auto* p = op.builtin_options_as_BatchMatMulOptions()) {
        result = graph::BatchMatMulOptions{p->adj_x(), p->adj_y(), p->asymmetric_quantize_inputs()};
      }
      break;
    case fb::BuiltinOptions_StridedSliceOptions:
      if (auto* p = op.builtin_options_as_StridedSliceOptions()) {
        result = graph::StridedSliceOptions{p->begin_mask(),       p->end_mask(),
                                            p->ellipsis_mask(),    p->new_axis_mask(),
                                            p->shrink_axis_mask(), p->offset()};
      }
      break;
    case fb::BuiltinOptions_GeluOptions:
      if (auto* p = op.builtin_options_as_GeluOptions()) {
        result = graph::GeluOptions{p->approximate()};
      }
      break;
    case fb::BuiltinOptions_SqueezeOptions:
      if (auto* p = op.builtin_options_as_SqueezeOptions()) {
        result = graph::SqueezeOptions{ToVector(p->squeeze_dims())};
      }
      break;
    case fb::BuiltinOptions_CastOptions:
      if (auto* p = op.builtin_options_as_CastOptions()) {
        LITEQ_ASSIGN_OR_RETURN(auto in, ParseType(p->in_data_type(), "CastOptions.in_data_type"));
        LITEQ_ASSIGN_OR_RETURN(auto out,
                               ParseType(p->out_data_type(), "CastOptions.out_data_type"));
        result = graph::CastOptions{in, out};
      }
      break;
    default:
      break;  // options without fields
  }
  return result;
}

}  // namespace liteq::tflite
