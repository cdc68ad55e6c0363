#include "model/weights.h"

#include <algorithm>
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

// Fills `out` with elements [first, first + out.size()) of the selected rows of
// `spec.tensor` (concatenated), transformed.
Status ProduceFloats(const io::Checkpoint& ckpt, const WeightSpec& spec, int64_t row_elems,
                     uint64_t first, std::span<float> out) {
  if (spec.rows.empty()) {
    LITEQ_RETURN_IF_ERROR(ckpt.ReadFloat32Range(spec.tensor, first, out));
  } else {
    // Walk the row ranges in selection order; `begin` is where range r starts among
    // the selected elements.
    uint64_t begin = 0;
    size_t filled = 0;
    for (const RowRange& r : spec.rows) {
      const auto range_elems = static_cast<uint64_t>(r.count * row_elems);
      const uint64_t want_lo = first + filled, want_hi = first + out.size();
      if (want_lo < begin + range_elems && want_lo < want_hi) {
        const uint64_t n = std::min(want_hi, begin + range_elems) - want_lo;
        const auto source = static_cast<uint64_t>(r.start * row_elems) + (want_lo - begin);
        LITEQ_RETURN_IF_ERROR(ckpt.ReadFloat32Range(spec.tensor, source, out.subspan(filled, n)));
        filled += n;
      }
      begin += range_elems;
    }
    if (filled != out.size()) {
      return InternalError("weight '" + spec.Key() + "': elements [" + std::to_string(first) +
                           ", +" + std::to_string(out.size()) + ") outside the selected rows");
    }
  }
  if (spec.transform == WeightTransform::kPlusOne) {
    for (float& v : out) v = 1.0f + v;  // GemmaRMSNorm: (1.0 + weight.float()) in fp32
  }
  return Status::Ok();
}

// The byte range [offset, offset + dst.size()) of the weight as float32.
Status ProduceBytes(const io::Checkpoint& ckpt, const WeightSpec& spec, int64_t row_elems,
                    size_t offset, std::span<uint8_t> dst) {
  if (offset % sizeof(float) != 0 || dst.size() % sizeof(float) != 0) {
    return InternalError("weight '" + spec.Key() + "': byte range not on float boundaries");
  }
  const size_t count = dst.size() / sizeof(float);
  if (reinterpret_cast<uintptr_t>(dst.data()) % alignof(float) == 0) {
    return ProduceFloats(ckpt, spec, row_elems, offset / sizeof(float),
                         std::span<float>(reinterpret_cast<float*>(dst.data()), count));
  }
  std::vector<float> scratch(count);
  LITEQ_RETURN_IF_ERROR(ProduceFloats(ckpt, spec, row_elems, offset / sizeof(float), scratch));
  std::memcpy(dst.data(), scratch.data(), dst.size());
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
  return b_.LazyRangedConstant(
      key, graph::DType::kFloat32, shape,
      [ckpt, spec, row_elems](size_t offset, std::span<uint8_t> dst) {
        return ProduceBytes(*ckpt, spec, row_elems, offset, dst);
      },
      key);
}

graph::TensorId Weights::Optional(const std::string& tensor, const graph::Shape& shape) {
  if (!Has(tensor)) return -1;
  return Get(tensor, shape);
}

}  // namespace liteq::model
