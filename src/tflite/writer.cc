#include "tflite/writer.h"

#include <map>
#include <utility>
#include <vector>

#include "common/atomic_file.h"
#include "tflite/op_schema.h"
#include "tflite/validate.h"

namespace liteq::tflite {
namespace {

// Model.version: the runtime refuses any other (TFLITE_SCHEMA_VERSION).
constexpr uint32_t kSchemaVersion = 3;
// Buffer.offset is only meaningful when > 1 (schema comment on Buffer); any such value
// makes flatbuffers store the field, so it can be patched once the size is known.
constexpr uint64_t kOffsetPlaceholder = 2;
// Inline buffers live inside the flatbuffer, whose offsets are 32-bit signed.
constexpr uint64_t kMaxInlineBytes = (uint64_t{1} << 31) - (uint64_t{1} << 24);

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// The official runtime registers every builtin from version 1 and its kernels read
// the tensor types, not the version, so version 1 loads everywhere. (The converter
// bumps versions for quantized variants only to record the minimum runtime.)
int32_t OpVersion(const graph::Op&) { return 1; }

// NoOptions means "the defaults", except for CAST whose options describe its tensors.
graph::OpOptions ResolveOptions(const graph::Subgraph& sg, const graph::Op& op) {
  if (op.code == graph::OpCode::kCast && std::holds_alternative<graph::NoOptions>(op.options) &&
      op.inputs[0] >= 0) {  // (ValidateModel checked the counts and ranges)
    return graph::CastOptions{sg.tensors[op.inputs[0]].dtype, sg.tensors[op.outputs[0]].dtype};
  }
  return op.options;
}

class ModelSerializer {
 public:
  ModelSerializer(const graph::Model& model, const WriteOptions& options)
      : model_(model), options_(options), fbb_(1 << 16) {}

  // Builds the finished flatbuffer; buffers' offsets are placeholders if external.
  Status Build() {
    std::vector<flatbuffers::Offset<fb::SubGraph>> subgraphs;
    for (const graph::Subgraph& sg : model_.subgraphs) subgraphs.push_back(BuildSubgraph(sg));
    LITEQ_ASSIGN_OR_RETURN(auto buffers, BuildBuffers());
    std::vector<flatbuffers::Offset<fb::Metadata>> metadata;
    // Metadata bytes are small (JSON): stored inline, in buffers after the model's.
    uint32_t index = static_cast<uint32_t>(model_.buffers.size());
    for (const auto& [name, bytes] : model_.metadata) {
      fbb_.ForceVectorAlignment(bytes.size(), 1, 16);
      auto data = fbb_.CreateVector(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      buffers.push_back(fb::CreateBuffer(fbb_, data));
      metadata.push_back(fb::CreateMetadata(fbb_, fbb_.CreateString(name), index++));
    }
    std::vector<flatbuffers::Offset<fb::SignatureDef>> signatures;
    for (const graph::Signature& sig : model_.signatures) {
      signatures.push_back(fb::CreateSignatureDef(fbb_, BuildTensorMaps(sig.inputs),
                                                  BuildTensorMaps(sig.outputs),
                                                  fbb_.CreateString(sig.key), sig.subgraph));
    }
    auto root = fb::CreateModel(
        fbb_, kSchemaVersion, fbb_.CreateVector(codes_), fbb_.CreateVector(subgraphs),
        model_.description.empty() ? 0 : fbb_.CreateString(model_.description),
        fbb_.CreateVector(buffers), 0, metadata.empty() ? 0 : fbb_.CreateVector(metadata),
        signatures.empty() ? 0 : fbb_.CreateVector(signatures));
    fb::FinishModelBuffer(fbb_, root);
    return Status::Ok();
  }

  // Offsets of each buffer's data from the start of the file (0 for empty buffers),
  // patched into the built flatbuffer.
  Result<std::vector<uint64_t>> PlaceExternalBuffers() {
    std::vector<uint64_t> offsets(model_.buffers.size(), 0);
    uint64_t pos = fbb_.GetSize();
    fb::Model* root = fb::GetMutableModel(fbb_.GetBufferPointer());
    for (size_t i = 1; i < model_.buffers.size(); ++i) {
      if (model_.buffers[i].empty()) continue;
      pos = AlignUp(pos, options_.buffer_alignment);
      offsets[i] = pos;
      if (!root->mutable_buffers()
               ->GetMutableObject(static_cast<uint32_t>(i))
               ->mutate_offset(pos)) {
        return InternalError("buffer " + std::to_string(i) + ": offset field missing");
      }
      pos += model_.buffers[i].size;
    }
    return offsets;
  }

  std::span<const uint8_t> bytes() const { return {fbb_.GetBufferPointer(), fbb_.GetSize()}; }

 private:
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::TensorMap>>> BuildTensorMaps(
      const std::vector<std::pair<std::string, int32_t>>& entries) {
    std::vector<flatbuffers::Offset<fb::TensorMap>> maps;
    for (const auto& [name, index] : entries) {
      maps.push_back(
          fb::CreateTensorMap(fbb_, fbb_.CreateString(name), static_cast<uint32_t>(index)));
    }
    return fbb_.CreateVector(maps);
  }

  uint32_t OperatorCodeIndex(const graph::Op& op) {
    const int32_t code = static_cast<int32_t>(op.code);
    const int32_t version = OpVersion(op);
    auto [it, inserted] =
        code_index_.try_emplace({code, version}, static_cast<uint32_t>(codes_.size()));
    if (inserted) {
      // Schema OperatorCode: builtin_code holds the real value; readers built before
      // it existed use deprecated_builtin_code, which caps at
      // PLACEHOLDER_FOR_GREATER_OP_CODES (127).
      const int8_t deprecated =
          static_cast<int8_t>(code < fb::BuiltinOperator_PLACEHOLDER_FOR_GREATER_OP_CODES
                                  ? code
                                  : fb::BuiltinOperator_PLACEHOLDER_FOR_GREATER_OP_CODES);
      codes_.push_back(fb::CreateOperatorCode(fbb_, deprecated, 0, version,
                                              static_cast<fb::BuiltinOperator>(code)));
    }
    return it->second;
  }

  flatbuffers::Offset<fb::Tensor> BuildTensor(const graph::Tensor& t) {
    flatbuffers::Offset<fb::QuantizationParameters> quant = 0;
    if (!t.quant.empty()) {
      quant = fb::CreateQuantizationParameters(
          fbb_, 0, 0, SharedVector(t.quant.scale.vector(), scale_vectors_),
          SharedVector(t.quant.zero_point.vector(), zero_point_vectors_),
          fb::QuantizationDetails_NONE, 0, t.quant.quantized_dimension);
    }
    // has_rank = true: liteq shapes are always fully known (scalars included).
    return fb::CreateTensor(fbb_, fbb_.CreateVector(t.shape), static_cast<fb::TensorType>(t.dtype),
                            t.buffer, fbb_.CreateString(t.name), quant, t.is_variable,
                            /*sparsity=*/0, /*shape_signature=*/0, /*has_rank=*/true);
  }

  flatbuffers::Offset<fb::SubGraph> BuildSubgraph(const graph::Subgraph& sg) {
    std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
    for (const graph::Tensor& t : sg.tensors) tensors.push_back(BuildTensor(t));
    std::vector<flatbuffers::Offset<fb::Operator>> ops;
    for (const graph::Op& op : sg.ops) {
      const uint32_t opcode_index = OperatorCodeIndex(op);
      auto inputs = fbb_.CreateVector(op.inputs);
      auto outputs = fbb_.CreateVector(op.outputs);
      auto options = BuildOptions(fbb_, op.code, ResolveOptions(sg, op));
      fb::OperatorBuilder b(fbb_);
      b.add_opcode_index(opcode_index);
      b.add_inputs(inputs);
      b.add_outputs(outputs);
      if (!options.IsNull()) {
        b.add_builtin_options_type(GetOpSchema(op.code).options_type);
        b.add_builtin_options(options);
      }
      ops.push_back(b.Finish());
    }
    return fb::CreateSubGraph(fbb_, fbb_.CreateVector(tensors), fbb_.CreateVector(sg.inputs),
                              fbb_.CreateVector(sg.outputs), fbb_.CreateVector(ops),
                              sg.name.empty() ? 0 : fbb_.CreateString(sg.name));
  }

  Result<std::vector<flatbuffers::Offset<fb::Buffer>>> BuildBuffers() {
    std::vector<flatbuffers::Offset<fb::Buffer>> buffers;
    uint64_t inline_bytes = 0;
    std::vector<uint8_t> scratch;
    for (size_t i = 0; i < model_.buffers.size(); ++i) {
      const graph::Buffer& b = model_.buffers[i];
      if (b.empty()) {
        buffers.push_back(fb::CreateBuffer(fbb_));
      } else if (options_.external_buffers) {
        buffers.push_back(fb::CreateBuffer(fbb_, 0, kOffsetPlaceholder, b.size));
      } else {
        inline_bytes += b.size;
        if (inline_bytes > kMaxInlineBytes) {
          return InvalidArgumentError("constant data exceeds 2 GB; write with external buffers");
        }
        auto bytes = b.Materialize(scratch);
        if (!bytes.ok()) return bytes.status().WithContext("buffer " + std::to_string(i));
        fbb_.ForceVectorAlignment(bytes->size(), 1, 16);  // Buffer.data force_align: 16
        buffers.push_back(fb::CreateBuffer(fbb_, fbb_.CreateVector(bytes->data(), bytes->size())));
      }
    }
    return buffers;
  }

  const graph::Model& model_;
  const WriteOptions& options_;
  flatbuffers::FlatBufferBuilder fbb_;
  // Per-channel scales and zero points are written once and referenced by every
  // tensor with the same values: the prefill and decode subgraphs' copies of a weight
  // (a 32000-row embedding carries 32000 floats and 32000 int64 zero points: 6% of its
  // int8 bytes at hidden size 192, twice without sharing), and the all-zero zero
  // points of every weight with as many rows. A flatbuffer vector may be referenced
  // from several tables; readers only follow offsets.
  template <typename T>
  flatbuffers::Offset<flatbuffers::Vector<T>> SharedVector(
      const std::vector<T>& values,
      std::map<std::vector<T>, flatbuffers::Offset<flatbuffers::Vector<T>>>& cache) {
    auto [it, inserted] = cache.try_emplace(values);
    if (inserted) it->second = fbb_.CreateVector(values);
    return it->second;
  }
  std::map<std::vector<float>, flatbuffers::Offset<flatbuffers::Vector<float>>> scale_vectors_;
  std::map<std::vector<int64_t>, flatbuffers::Offset<flatbuffers::Vector<int64_t>>>
      zero_point_vectors_;
  std::map<std::pair<int32_t, int32_t>, uint32_t> code_index_;
  std::vector<flatbuffers::Offset<fb::OperatorCode>> codes_;
};

// "buffer 3 (tensor 'w' of subgraph 0)" for errors of lazy producers.
std::string DescribeBuffer(const graph::Model& model, size_t index) {
  for (size_t s = 0; s < model.subgraphs.size(); ++s) {
    for (const graph::Tensor& t : model.subgraphs[s].tensors) {
      if (t.buffer == index) {
        return "buffer " + std::to_string(index) + " (tensor '" + t.name + "' of subgraph " +
               std::to_string(s) + ")";
      }
    }
  }
  return "buffer " + std::to_string(index);
}

Status WriteFile(const graph::Model& model, const std::string& path, const WriteOptions& options) {
  if (options.buffer_alignment == 0 ||
      (options.buffer_alignment & (options.buffer_alignment - 1)) != 0) {
    return InvalidArgumentError("buffer_alignment must be a power of two");
  }
  LITEQ_RETURN_IF_ERROR(ValidateModel(model));
  ModelSerializer serializer(model, options);
  LITEQ_RETURN_IF_ERROR(serializer.Build());
  std::vector<uint64_t> offsets;
  if (options.external_buffers) {
    LITEQ_ASSIGN_OR_RETURN(offsets, serializer.PlaceExternalBuffers());
  }
  const std::span<const uint8_t> flatbuffer = serializer.bytes();
  flatbuffers::Verifier verifier(flatbuffer.data(), flatbuffer.size());
  if (!fb::VerifyModelBuffer(verifier)) {
    return InternalError("the built flatbuffer does not verify");
  }

  LITEQ_ASSIGN_OR_RETURN(AtomicFileWriter file, AtomicFileWriter::Create(path));
  LITEQ_RETURN_IF_ERROR(file.Write(flatbuffer.data(), flatbuffer.size()));
  std::vector<uint8_t> scratch;
  for (size_t i = 0; i < offsets.size(); ++i) {
    if (offsets[i] == 0) continue;
    LITEQ_RETURN_IF_ERROR(file.WriteZeros(offsets[i] - file.offset()));
    auto bytes = model.buffers[i].Materialize(scratch);
    if (!bytes.ok()) return bytes.status().WithContext(DescribeBuffer(model, i));
    if (bytes->size() != model.buffers[i].size) {
      return InternalError(DescribeBuffer(model, i) + ": producer returned " +
                           std::to_string(bytes->size()) + " bytes, expected " +
                           std::to_string(model.buffers[i].size));
    }
    LITEQ_RETURN_IF_ERROR(file.Write(bytes->data(), bytes->size()));
  }
  return file.Commit();
}

}  // namespace

Status WriteTflite(const graph::Model& model, const std::string& path,
                   const WriteOptions& options) {
  Status st = WriteFile(model, path, options);
  // AtomicFileWriter's own messages already start with the path.
  if (!st.ok() && st.message().rfind(path, 0) != 0) return st.WithContext(path);
  return st;
}

}  // namespace liteq::tflite
