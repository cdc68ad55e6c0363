#include "runtime/kernels/shape_util.h"

#include <algorithm>
#include <cstring>

namespace liteq::runtime {

std::string ShapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int32_t d : shape) n *= d;
  return n;
}

std::vector<int64_t> Strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int d = static_cast<int>(shape.size()) - 2; d >= 0; --d) {
    strides[d] = strides[d + 1] * shape[d + 1];
  }
  return strides;
}

int NormalizeAxis(int64_t axis, int rank) {
  if (axis < -rank || axis >= rank) return -1;
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

Result<Shape> BroadcastShapes(const std::vector<Shape>& shapes) {
  size_t rank = 0;
  for (const Shape& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (size_t k = 0; k < shapes.size(); ++k) {
    const Shape& s = shapes[k];
    for (size_t i = 0; i < s.size(); ++i) {
      const size_t d = rank - s.size() + i;
      if (s[i] == out[d] || s[i] == 1) continue;
      if (out[d] == 1) {
        out[d] = s[i];
        continue;
      }
      std::string all;
      for (const Shape& t : shapes) all += (all.empty() ? "" : " and ") + ShapeToString(t);
      return InvalidArgumentError("shapes " + all + " cannot be broadcast together");
    }
  }
  return out;
}

BroadcastPlan MakeBroadcastPlan(const Shape& out, const std::vector<Shape>& inputs) {
  BroadcastPlan plan;
  plan.num_inputs = static_cast<int>(inputs.size());
  const size_t rank = out.size();
  // Per output dim (skipping size-1 dims, which never move an index): for each input,
  // whether it advances along that dim.
  std::vector<int64_t> dims;
  std::vector<std::array<bool, BroadcastPlan::kMaxInputs>> advances;
  for (size_t d = 0; d < rank; ++d) {
    if (out[d] == 1) continue;
    std::array<bool, BroadcastPlan::kMaxInputs> adv{};
    for (size_t k = 0; k < inputs.size(); ++k) {
      const Shape& s = inputs[k];
      const int64_t pos = static_cast<int64_t>(d) - static_cast<int64_t>(rank - s.size());
      adv[k] = pos >= 0 && s[pos] != 1;
    }
    if (!dims.empty() && advances.back() == adv) {
      dims.back() *= out[d];  // same broadcast pattern: merge with the previous dim
    } else {
      dims.push_back(out[d]);
      advances.push_back(adv);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    advances.push_back({});
  }
  plan.dims = dims;
  for (size_t k = 0; k < inputs.size(); ++k) {
    std::vector<int64_t>& strides = plan.strides[k];
    strides.assign(dims.size(), 0);
    int64_t stride = 1;
    for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
      if (advances[d][k]) {
        strides[d] = stride;
        stride *= dims[d];
      }
    }
  }
  return plan;
}

StridedCopyPlan MakeStridedCopyPlan(size_t element_size, int64_t base,
                                    const std::vector<int64_t>& dims,
                                    const std::vector<int64_t>& src_strides) {
  StridedCopyPlan plan;
  plan.element_size = element_size;
  plan.base = base;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == 1) continue;
    // Merge with the previous dim when the previous one steps exactly over this one.
    if (!plan.dims.empty() && plan.src_strides.back() == src_strides[d] * dims[d]) {
      plan.dims.back() *= dims[d];
      plan.src_strides.back() = src_strides[d];
      continue;
    }
    plan.dims.push_back(dims[d]);
    plan.src_strides.push_back(src_strides[d]);
  }
  for (int64_t d : dims) {
    if (d == 0) {  // empty copy
      plan.dims.assign(1, 0);
      plan.src_strides.assign(1, 1);
      return plan;
    }
  }
  if (plan.dims.empty()) {
    plan.dims.push_back(1);
    plan.src_strides.push_back(1);
  }
  return plan;
}

namespace {

template <size_t kSize>
void CopyInnerStrided(const uint8_t* src, int64_t stride, int64_t count, uint8_t* dst) {
  for (int64_t j = 0; j < count; ++j) {
    std::memcpy(dst + j * kSize, src + j * stride * static_cast<int64_t>(kSize), kSize);
  }
}

}  // namespace

int64_t StridedCopyRows(const StridedCopyPlan& plan) {
  int64_t outer = 1;
  for (size_t d = 0; d + 1 < plan.dims.size(); ++d) outer *= plan.dims[d];
  return plan.dims.back() == 0 ? 0 : outer;
}

void StridedCopy(const StridedCopyPlan& plan, const void* src, void* dst) {
  StridedCopyRowRange(plan, src, dst, 0, StridedCopyRows(plan));
}

void StridedCopyRowRange(const StridedCopyPlan& plan, const void* src_void, void* dst_void,
                         int64_t row_begin, int64_t row_end) {
  const auto* src = static_cast<const uint8_t*>(src_void);
  auto* dst = static_cast<uint8_t*>(dst_void);
  const int rank = static_cast<int>(plan.dims.size());
  const int64_t inner = plan.dims.back();
  if (inner == 0 || row_begin >= row_end) return;
  const int64_t inner_stride = plan.src_strides.back();
  const int64_t es = static_cast<int64_t>(plan.element_size);
  int64_t index[kMaxRuntimeRank] = {};  // merged rank <= tensor rank <= kMaxRuntimeRank
  int64_t off = plan.base;
  // The outer index of row_begin (row-major over dims[0 .. rank - 2]).
  for (int64_t d = rank - 2, rest = row_begin; d >= 0; --d) {
    index[d] = rest % plan.dims[d];
    rest /= plan.dims[d];
    off += index[d] * plan.src_strides[d];
  }
  dst += row_begin * inner * es;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint8_t* s = src + off * es;
    if (inner_stride == 1) {
      std::memcpy(dst, s, static_cast<size_t>(inner * es));
    } else {
      switch (plan.element_size) {
        case 1:
          CopyInnerStrided<1>(s, inner_stride, inner, dst);
          break;
        case 2:
          CopyInnerStrided<2>(s, inner_stride, inner, dst);
          break;
        case 4:
          CopyInnerStrided<4>(s, inner_stride, inner, dst);
          break;
        case 8:
          CopyInnerStrided<8>(s, inner_stride, inner, dst);
          break;
        default:
          for (int64_t j = 0; j < inner; ++j) {
            std::memcpy(dst + j * es, s + j * inner_stride * es, plan.element_size);
          }
      }
    }
    dst += inner * es;
    for (int d = rank - 2; d >= 0; --d) {
      if (++index[d] < plan.dims[d]) {
        off += plan.src_strides[d];
        break;
      }
      index[d] = 0;
      off -= plan.src_strides[d] * (plan.dims[d] - 1);
    }
  }
}

}  // namespace liteq::runtime
