#include "model/weights.h"

#include <cstring>
#include <span>

namespace liteq::model {
namespace {

std::string ShapeOf(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(s[i]);
  }
  return out + "]";
}

// Fills `dst` (float32 bytes) with the selected rows of `spec.tensor`, transformed.
Status Produce(const io::Checkpoint& ckpt, const WeightSpec& spec, int64_t row_elems,
               std::span<uint8_t> dst) {
  const size_t count = dst.size() / sizeof(float);
  std::vector<float> scratch;
  std::span<float> out;
  const bool aligned = reinterpret_cast<uintptr_t>(dst.data()) % alignof(float) == 0;
  if (spec.rows.empty()) {
    if (aligned) {
      out = std::span<float>(reinterpret_cast<float*>(dst.data()), count);
      LITEQ_RETURN_IF_ERROR(ckpt.ReadFloat32(spec.tensor, out));
    } else {
      LITEQ_ASSIGN_OR_RETURN(scratch, ckpt.ReadFloat32(spec.tensor));
      out = std::span<float>(scratch);
    }
  } else {
    LITEQ_ASSIGN_OR_RETURN(std::vector<float> all, ckpt.ReadFloat32(spec.tensor));
    scratch.reserve(count);
    for (const RowRange& r : spec.rows) {
      const size_t begin = static_cast<size_t>(r.start * row_elems);
      const size_t end = static_cast<size_t>((r.start + r.count) * row_elems);
      if (end > all.size()) {
        return InternalError("row selection of '" + spec.tensor + "' out of range");
      }
      scratch.insert(scratch.end(), all.begin() + begin, all.begin() + end);
    }
    out = std::span<float>(scratch);
  }
  if (out.size() != count) {
    return InternalError("weight '" + spec.Key() + "' produced " + std::to_string(out.size()) +
                         " values, expected " + std::to_string(count));
  }
  if (spec.transform == WeightTransform::kPlusOne) {
    for (float& v : out) v = 1.0f + v;  // GemmaRMSNorm: (1.0 + weight.float()) in fp32
  }
  if (out.data() != reinterpret_cast<float*>(dst.data())) {
    std::memcpy(dst.data(), out.data(), dst.size());
  }
  return Status::Ok();
}

}  // namespace

std::string WeightSpec::Key() const {
  std::string key = tensor;
  if (!rows.empty()) {
    key += "[";
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i) key += ",";
      key += std::to_string(rows[i].start) + ":" + std::to_string(rows[i].start + rows[i].count);
    }
    key += "]";
  }
  if (transform == WeightTransform::kPlusOne) key += "+1";
  return key;
}

graph::TensorId Weights::Get(const WeightSpec& spec, const graph::Shape& shape) {
  const std::string key = spec.Key();
  const io::TensorInfo* info = ckpt_->Find(spec.tensor);
  auto placeholder = [&] { return b_.Activation("missing_weight", graph::DType::kFloat32, shape); };
  if (info == nullptr) {
    b_.Fail(NotFoundError(ckpt_->path() + ": tensor '" + spec.tensor +
                          "' is missing (needed by the model's architecture)"));
    return placeholder();
  }
  // Expected checkpoint shape: `shape`, with dim 0 covering every selected row.
  std::vector<int64_t> want(shape.begin(), shape.end());
  int64_t row_elems = 1;
  for (size_t d = 1; d < shape.size(); ++d) row_elems *= shape[d];
  bool ok = info->shape.size() == want.size();
  if (ok && !spec.rows.empty()) {
    int64_t rows = 0;
    for (const RowRange& r : spec.rows) {
      rows += r.count;
      if (r.start < 0 || r.count < 0 || r.start + r.count > info->shape[0]) ok = false;
    }
    ok = ok && !want.empty() && rows == want[0];
    if (ok) want[0] = info->shape[0];
  }
  if (ok) ok = info->shape == want;
  if (!ok) {
    b_.Fail(InvalidArgumentError(ckpt_->path() + ": tensor '" + spec.tensor + "' has shape " +
                                 ShapeOf(info->shape) + ", expected " + ShapeOf(want) +
                                 " from the config"));
    return placeholder();
  }
  std::shared_ptr<const io::Checkpoint> ckpt = ckpt_;
  return b_.LazyConstant(
      key, graph::DType::kFloat32, shape,
      [ckpt, spec, row_elems](std::span<uint8_t> dst) {
        return Produce(*ckpt, spec, row_elems, dst);
      },
      key);
}

graph::TensorId Weights::Optional(const std::string& tensor, const graph::Shape& shape) {
  if (!Has(tensor)) return -1;
  return Get(tensor, shape);
}

}  // namespace liteq::model
