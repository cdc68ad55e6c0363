// GGUF v3 container writing and Q8_0 quantization (see gguf_writer.h).
#include "io/gguf_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/atomic_file.h"
#include "common/half.h"

namespace liteq::io {
namespace {

void AppendRaw(std::string& out, const void* data, size_t size) {
  out.append(static_cast<const char*>(data), size);
}
template <typename T>
void AppendScalar(std::string& out, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  AppendRaw(out, &value, sizeof(T));  // x86/ARM hosts are little-endian, as GGUF is
}
void AppendString(std::string& out, const std::string& s) {
  AppendScalar<uint64_t>(out, s.size());
  out.append(s);
}
void AppendKey(std::string& out, const std::string& key, GgufValueType type) {
  AppendString(out, key);
  AppendScalar<uint32_t>(out, static_cast<uint32_t>(type));
}
uint64_t AlignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

uint64_t GgmlTypeBytes(GgmlType type, uint64_t elements) {
  switch (type) {
    case GgmlType::kF32:
      return elements * 4;
    case GgmlType::kF16:
      return elements * 2;
    case GgmlType::kQ8_0:
      return elements / kQ8_0BlockSize * kQ8_0BlockBytes;
  }
  return 0;
}

void QuantizeQ8_0(std::span<const float> x, std::span<uint8_t> out) {
  const size_t blocks = x.size() / kQ8_0BlockSize;
  for (size_t b = 0; b < blocks; ++b) {
    const float* in = x.data() + b * kQ8_0BlockSize;
    uint8_t* block = out.data() + b * kQ8_0BlockBytes;
    float amax = 0.f;
    for (int i = 0; i < kQ8_0BlockSize; ++i) amax = std::max(amax, std::fabs(in[i]));
    // ggml quantize_row_q8_0_ref: d = amax / 127, q = roundf(x * (1 / d)), with the
    // reciprocal of the fp32 d (not of its fp16 rounding).
    const float d = amax / 127.f;
    const float inv_d = d != 0.f ? 1.f / d : 0.f;
    const uint16_t d16 = FloatToFp16(d);
    std::memcpy(block, &d16, 2);
    for (int i = 0; i < kQ8_0BlockSize; ++i) {
      const float q = std::round(in[i] * inv_d);  // |q| <= 127 since |x| <= amax
      block[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(q));
    }
  }
}

void GgufBuilder::AddString(const std::string& key, const std::string& value) {
  AppendKey(kv_bytes_, key, GgufValueType::kString);
  AppendString(kv_bytes_, value);
  ++kv_count_;
}
void GgufBuilder::AddUint32(const std::string& key, uint32_t value) {
  AppendKey(kv_bytes_, key, GgufValueType::kUint32);
  AppendScalar(kv_bytes_, value);
  ++kv_count_;
}
void GgufBuilder::AddInt32(const std::string& key, int32_t value) {
  AppendKey(kv_bytes_, key, GgufValueType::kInt32);
  AppendScalar(kv_bytes_, value);
  ++kv_count_;
}
void GgufBuilder::AddFloat32(const std::string& key, float value) {
  AppendKey(kv_bytes_, key, GgufValueType::kFloat32);
  AppendScalar(kv_bytes_, value);
  ++kv_count_;
}
void GgufBuilder::AddBool(const std::string& key, bool value) {
  AppendKey(kv_bytes_, key, GgufValueType::kBool);
  AppendScalar<uint8_t>(kv_bytes_, value ? 1 : 0);
  ++kv_count_;
}
void GgufBuilder::AddStringArray(const std::string& key, const std::vector<std::string>& values) {
  AppendKey(kv_bytes_, key, GgufValueType::kArray);
  AppendScalar<uint32_t>(kv_bytes_, static_cast<uint32_t>(GgufValueType::kString));
  AppendScalar<uint64_t>(kv_bytes_, values.size());
  for (const auto& v : values) AppendString(kv_bytes_, v);
  ++kv_count_;
}
void GgufBuilder::AddFloat32Array(const std::string& key, const std::vector<float>& values) {
  AppendKey(kv_bytes_, key, GgufValueType::kArray);
  AppendScalar<uint32_t>(kv_bytes_, static_cast<uint32_t>(GgufValueType::kFloat32));
  AppendScalar<uint64_t>(kv_bytes_, values.size());
  AppendRaw(kv_bytes_, values.data(), values.size() * sizeof(float));
  ++kv_count_;
}
void GgufBuilder::AddInt32Array(const std::string& key, const std::vector<int32_t>& values) {
  AppendKey(kv_bytes_, key, GgufValueType::kArray);
  AppendScalar<uint32_t>(kv_bytes_, static_cast<uint32_t>(GgufValueType::kInt32));
  AppendScalar<uint64_t>(kv_bytes_, values.size());
  AppendRaw(kv_bytes_, values.data(), values.size() * sizeof(int32_t));
  ++kv_count_;
}

void GgufBuilder::AddTensor(const std::string& name, std::vector<uint64_t> ne, GgmlType type,
                            Producer producer) {
  uint64_t elements = 1;
  for (uint64_t n : ne) elements *= n;
  const uint64_t bytes = GgmlTypeBytes(type, elements);
  tensors_.push_back({name, std::move(ne), type, std::move(producer), bytes});
}

Status GgufBuilder::Write(const std::string& path) const {
  std::string header;
  AppendScalar<uint32_t>(header, kGgufMagic);
  AppendScalar<uint32_t>(header, kGgufVersion);
  AppendScalar<uint64_t>(header, tensors_.size());
  AppendScalar<uint64_t>(header, kv_count_);
  header += kv_bytes_;
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    if (t.type == GgmlType::kQ8_0 && (t.ne.empty() || t.ne[0] % kQ8_0BlockSize != 0)) {
      return InvalidArgumentError(path + ": tensor '" + t.name +
                                  "': Q8_0 needs rows that are a multiple of 32 values");
    }
    AppendString(header, t.name);
    AppendScalar<uint32_t>(header, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t n : t.ne) AppendScalar<uint64_t>(header, n);
    AppendScalar<uint32_t>(header, static_cast<uint32_t>(t.type));
    AppendScalar<uint64_t>(header, offset);
    offset = AlignUp(offset + t.bytes, kGgufAlignment);
  }
  LITEQ_ASSIGN_OR_RETURN(auto file, AtomicFileWriter::Create(path));
  LITEQ_RETURN_IF_ERROR(file.Write(header.data(), header.size()));
  LITEQ_RETURN_IF_ERROR(file.Align(kGgufAlignment));
  const uint64_t data_start = file.offset();
  std::vector<uint8_t> buffer;
  for (const auto& t : tensors_) {
    buffer.assign(t.bytes, 0);
    Status produced = t.producer(buffer);
    if (!produced.ok()) return produced;
    LITEQ_RETURN_IF_ERROR(file.Write(buffer.data(), buffer.size()));
    LITEQ_RETURN_IF_ERROR(file.Align(kGgufAlignment));
  }
  if (file.offset() - data_start != offset) {
    return InternalError(path + ": GGUF data section size does not match the tensor offsets");
  }
  return file.Commit();
}

}  // namespace liteq::io
