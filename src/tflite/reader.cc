#include "tflite/reader.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/mapped_file.h"
#include "tflite/op_schema.h"
#include "tflite/validate.h"

namespace liteq::tflite {
namespace {

constexpr uint32_t kSchemaVersion = 3;
// The flatbuffers Verifier's default of 1M tables is below what a large LLM export
// (several tables per tensor and op) can reach.
constexpr uint32_t kMaxTables = 50'000'000;

std::string Printable(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += std::isprint(p[i]) ? static_cast<char>(p[i]) : '?';
  return s;
}

template <typename T>
std::vector<T> ToVector(const flatbuffers::Vector<T>* v) {
  if (v == nullptr) return {};
  return std::vector<T>(v->begin(), v->end());
}

std::string Str(const flatbuffers::String* s) { return s == nullptr ? "" : s->str(); }

class ModelDecoder {
 public:
  ModelDecoder(std::shared_ptr<const void> owner, std::span<const uint8_t> file)
      : owner_(std::move(owner)), file_(file) {}

  Result<graph::Model> Decode() {
    LITEQ_RETURN_IF_ERROR(VerifyFlatbuffer());
    root_ = fb::GetModel(file_.data());
    if (root_->version() != kSchemaVersion) {
      return UnimplementedError("schema version " + std::to_string(root_->version()) +
                                " (liteq reads version 3)");
    }
    if (root_->subgraphs() == nullptr || root_->subgraphs()->size() == 0) {
      return DataLossError("the model has no subgraph");
    }
    if (root_->buffers() == nullptr || root_->buffers()->size() == 0) {
      return DataLossError("the model has no buffers (buffer 0 is required)");
    }
    LITEQ_RETURN_IF_ERROR(LocateBuffers());
    LITEQ_RETURN_IF_ERROR(DecodeMetadata());
    DecideKeptBuffers();

    model_.description = Str(root_->description());
    const auto& subgraphs = *root_->subgraphs();
    for (uint32_t s = 0; s < subgraphs.size(); ++s) {
      graph::Subgraph sg;
      Status st = DecodeSubgraph(*subgraphs.Get(s), sg);
      if (!st.ok()) {
        return st.WithContext("subgraph " + std::to_string(s) +
                              (sg.name.empty() ? "" : " '" + sg.name + "'"));
      }
      model_.subgraphs.push_back(std::move(sg));
    }
    LITEQ_RETURN_IF_ERROR(DecodeSignatures());

    Status st = ValidateModel(model_);
    if (st.code() == StatusCode::kInvalidArgument) return DataLossError(st.message());
    LITEQ_RETURN_IF_ERROR(st);
    return std::move(model_);
  }

 private:
  Status VerifyFlatbuffer() {
    if (file_.size() < 8) {
      return DataLossError("file of " + std::to_string(file_.size()) +
                           " bytes is too small to be a .tflite model");
    }
    if (!fb::ModelBufferHasIdentifier(file_.data())) {
      return DataLossError("not a .tflite model: file identifier is '" +
                           Printable(file_.data() + 4, 4) + "', expected 'TFL3'");
    }
    if (reinterpret_cast<uintptr_t>(file_.data()) % 8 != 0) {
      return InvalidArgumentError("model bytes must be 8-byte aligned in memory");
    }
    // Buffers stored after the flatbuffer may push the file past the flatbuffers size
    // limit; the flatbuffer itself must lie within it, so verify only that prefix.
    const size_t limit = std::min<size_t>(file_.size(), FLATBUFFERS_MAX_BUFFER_SIZE - 1);
    flatbuffers::Verifier::Options opts;
    opts.max_tables = kMaxTables;
    flatbuffers::Verifier verifier(file_.data(), limit, opts);
    if (!fb::VerifyModelBuffer(verifier)) {
      return DataLossError("flatbuffer verification failed (truncated or corrupt file)");
    }
    return Status::Ok();
  }

  // Schema Buffer: inline `data`, or, only when data is empty, `offset` (from the start
  // of the file, valid only if > 1) and `size`.
  Status LocateBuffers() {
    const auto& buffers = *root_->buffers();
    spans_.resize(buffers.size());
    for (uint32_t i = 0; i < buffers.size(); ++i) {
      const fb::Buffer* b = buffers.Get(i);
      if (b->data() != nullptr && b->data()->size() > 0) {
        spans_[i] = {b->data()->data(), b->data()->size()};
      } else if (b->offset() > 1) {
        const uint64_t offset = b->offset();
        const uint64_t size = b->size();
        if (offset > file_.size() || size > file_.size() - offset) {
          return DataLossError("buffer " + std::to_string(i) + ": data at offset " +
                               std::to_string(offset) + " of " + std::to_string(size) +
                               " bytes extends past the end of the file (" +
                               std::to_string(file_.size()) + " bytes)");
        }
        spans_[i] = file_.subspan(offset, size);
      }
    }
    if (!spans_[0].empty()) return DataLossError("buffer 0 (the empty sentinel) has data");
    return Status::Ok();
  }

  Status DecodeMetadata() {
    meta_ref_.assign(spans_.size(), false);
    if (root_->metadata() == nullptr) return Status::Ok();
    for (uint32_t i = 0; i < root_->metadata()->size(); ++i) {
      const fb::Metadata* m = root_->metadata()->Get(i);
      const std::string name = Str(m->name());
      if (m->buffer() >= spans_.size()) {
        return DataLossError("metadata '" + name + "' refers to buffer " +
                             std::to_string(m->buffer()) + " but there are " +
                             std::to_string(spans_.size()) + " buffers");
      }
      const auto bytes = spans_[m->buffer()];
      model_.metadata[name] =
          std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      meta_ref_[m->buffer()] = true;
    }
    return Status::Ok();
  }

  // Buffers that only hold metadata are not graph buffers (the writer re-creates them
  // from Model::metadata); the others keep their order.
  void DecideKeptBuffers() {
    std::vector<bool> tensor_ref(spans_.size(), false);
    for (const fb::SubGraph* sg : *root_->subgraphs()) {
      if (sg->tensors() == nullptr) continue;
      for (const fb::Tensor* t : *sg->tensors()) {
        if (t->buffer() < spans_.size()) tensor_ref[t->buffer()] = true;
      }
    }
    remap_.assign(spans_.size(), 0);
    for (uint32_t i = 0; i < spans_.size(); ++i) {
      if (i > 0 && meta_ref_[i] && !tensor_ref[i]) continue;
      remap_[i] = static_cast<uint32_t>(model_.buffers.size());
      if (i == 0) continue;  // graph::Model already holds the sentinel
      graph::Buffer b;
      if (!spans_[i].empty()) {
        b.size = spans_[i].size();
        b.data = spans_[i].data();
        b.keep_alive = owner_;
      }
      model_.buffers.push_back(std::move(b));
    }
  }

  // One shared copy per distinct parameter vector: the prefill and decode subgraphs
  // repeat every tensor's parameters and per-channel weights mostly have all-zero zero
  // points of the same length, so sharing keeps one allocation where there were many.
  template <typename T>
  using Pool = std::unordered_map<std::string, graph::SharedVector<T>>;
  template <typename T>
  static graph::SharedVector<T> Intern(const flatbuffers::Vector<T>* v, Pool<T>& pool) {
    if (v == nullptr || v->size() == 0) return {};
    std::string key(reinterpret_cast<const char*>(v->Data()), v->size() * sizeof(T));
    auto [it, inserted] = pool.try_emplace(std::move(key));
    if (inserted) it->second = ToVector(v);
    return it->second;
  }

  Status DecodeTensor(const fb::Tensor& t, graph::Tensor& out) {
    out.name = Str(t.name());
    if (!IsSupportedTensorType(static_cast<int8_t>(t.type()))) {
      const char* name = fb::EnumNameTensorType(t.type());
      return UnimplementedError("type " + std::string(*name ? name : "?") + " (" +
                                std::to_string(static_cast<int>(t.type())) +
                                ") is not supported by liteq");
    }
    out.dtype = static_cast<graph::DType>(t.type());
    out.shape = ToVector(t.shape());
    out.is_variable = t.is_variable();
    if (t.sparsity() != nullptr) return UnimplementedError("sparse tensors are not supported");
    if (t.external_buffer() != 0) {
      return UnimplementedError("data in an external file (external_buffer) is not supported");
    }
    if (t.buffer() >= spans_.size()) {
      return DataLossError("refers to buffer " + std::to_string(t.buffer()) + " but there are " +
                           std::to_string(spans_.size()) + " buffers");
    }
    // An empty buffer means no constant data (the converter gives activations their own
    // empty buffers); liteq spells that as buffer 0.
    out.buffer = spans_[t.buffer()].empty() ? 0 : remap_[t.buffer()];
    if (const fb::QuantizationParameters* q = t.quantization()) {
      if (q->details_type() != fb::QuantizationDetails_NONE) {
        return UnimplementedError(std::string("quantization details ") +
                                  fb::EnumNameQuantizationDetails(q->details_type()) +
                                  " are not supported");
      }
      // Without scales the tensor is not quantized (as the runtime reads it).
      if (q->scale() != nullptr && q->scale()->size() > 0) {
        out.quant.scale = Intern(q->scale(), scales_);
        out.quant.zero_point = Intern(q->zero_point(), zero_points_);
        out.quant.quantized_dimension = q->quantized_dimension();
      }
    }
    return Status::Ok();
  }

  Status DecodeOp(const fb::Operator& op, graph::Op& out) {
    const auto* codes = root_->operator_codes();
    const uint32_t n_codes = codes == nullptr ? 0 : codes->size();
    if (op.opcode_index() >= n_codes) {
      return DataLossError("opcode_index " + std::to_string(op.opcode_index()) +
                           " is out of range (" + std::to_string(n_codes) + " operator codes)");
    }
    const fb::OperatorCode* code = codes->Get(op.opcode_index());
    // Schema OperatorCode: the real code is the larger of builtin_code and
    // deprecated_builtin_code (files from before builtin_code existed only set the
    // latter; newer ones cap it at 127).
    const int32_t builtin =
        std::max<int32_t>(code->builtin_code(), code->deprecated_builtin_code());
    if (builtin == fb::BuiltinOperator_CUSTOM) {
      return UnimplementedError("custom op '" + Str(code->custom_code()) + "' is not supported");
    }
    const OpSchema* schema = FindOpSchema(builtin);
    if (schema == nullptr) {
      const char* name = fb::EnumNameBuiltinOperator(static_cast<fb::BuiltinOperator>(builtin));
      return UnimplementedError("builtin operator " + std::string(*name ? name : "?") + " (" +
                                std::to_string(builtin) + ") is not supported by liteq");
    }
    out.code = schema->code;
    out.inputs = ToVector(op.inputs());
    out.outputs = ToVector(op.outputs());
    LITEQ_ASSIGN_OR_RETURN(out.options, ParseOptions(out.code, op));
    return Status::Ok();
  }

  Status DecodeSubgraph(const fb::SubGraph& in, graph::Subgraph& out) {
    out.name = Str(in.name());
    // Exact capacities: grown by doubling, the two vectors of a SmolLM2 subgraph held
    // ~250 KB of unused Tensor slots each for the life of the model.
    if (in.tensors() != nullptr) out.tensors.reserve(in.tensors()->size());
    if (in.operators() != nullptr) out.ops.reserve(in.operators()->size());
    if (in.tensors() != nullptr) {
      for (uint32_t i = 0; i < in.tensors()->size(); ++i) {
        graph::Tensor t;
        Status st = DecodeTensor(*in.tensors()->Get(i), t);
        if (!st.ok()) {
          return st.WithContext("tensor " + std::to_string(i) +
                                (t.name.empty() ? "" : " '" + t.name + "'"));
        }
        out.tensors.push_back(std::move(t));
      }
    }
    out.inputs = ToVector(in.inputs());
    out.outputs = ToVector(in.outputs());
    if (in.operators() != nullptr) {
      for (uint32_t i = 0; i < in.operators()->size(); ++i) {
        graph::Op op;
        Status st = DecodeOp(*in.operators()->Get(i), op);
        if (!st.ok()) return st.WithContext("op " + std::to_string(i));
        out.ops.push_back(std::move(op));
      }
    }
    return Status::Ok();
  }

  Status DecodeTensorMaps(const flatbuffers::Vector<flatbuffers::Offset<fb::TensorMap>>* maps,
                          const char* what, std::vector<std::pair<std::string, int32_t>>& out) {
    if (maps == nullptr) return Status::Ok();
    for (const fb::TensorMap* m : *maps) {
      if (m->name() == nullptr) return DataLossError(std::string(what) + " without a name");
      if (m->tensor_index() > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
        return DataLossError(std::string(what) + " '" + m->name()->str() + "' has tensor index " +
                             std::to_string(m->tensor_index()) + ", out of range");
      }
      out.emplace_back(m->name()->str(), static_cast<int32_t>(m->tensor_index()));
    }
    return Status::Ok();
  }

  Status DecodeSignatures() {
    if (root_->signature_defs() == nullptr) return Status::Ok();
    for (uint32_t i = 0; i < root_->signature_defs()->size(); ++i) {
      const fb::SignatureDef* def = root_->signature_defs()->Get(i);
      graph::Signature sig;
      sig.key = Str(def->signature_key());
      sig.subgraph = def->subgraph_index();
      Status st =
          def->signature_key() == nullptr ? DataLossError("has no signature_key") : Status::Ok();
      if (st.ok()) st = DecodeTensorMaps(def->inputs(), "input", sig.inputs);
      if (st.ok()) st = DecodeTensorMaps(def->outputs(), "output", sig.outputs);
      if (!st.ok()) return st.WithContext("signature " + std::to_string(i) + " '" + sig.key + "'");
      model_.signatures.push_back(std::move(sig));
    }
    return Status::Ok();
  }

  std::shared_ptr<const void> owner_;
  std::span<const uint8_t> file_;
  const fb::Model* root_ = nullptr;
  std::vector<std::span<const uint8_t>> spans_;  // each schema buffer's bytes
  std::vector<bool> meta_ref_;
  std::vector<uint32_t> remap_;  // schema buffer index -> graph buffer index
  graph::Model model_;
  Pool<float> scales_;
  Pool<int64_t> zero_points_;
};

}  // namespace

Result<std::shared_ptr<const graph::Model>> ReadTfliteFromMemory(
    std::shared_ptr<const void> owner, std::span<const uint8_t> bytes,
    const std::string& name_for_errors) {
  ModelDecoder decoder(std::move(owner), bytes);
  auto model = decoder.Decode();
  if (!model.ok()) return model.status().WithContext(name_for_errors);
  return std::shared_ptr<const graph::Model>(
      std::make_shared<graph::Model>(std::move(model).value()));
}

Result<std::shared_ptr<const graph::Model>> ReadTflite(const std::string& path) {
  LITEQ_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path));
  const std::span<const uint8_t> bytes = file->bytes();
  return ReadTfliteFromMemory(std::move(file), bytes, path);
}

}  // namespace liteq::tflite
