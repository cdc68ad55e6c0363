#include "io/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/mapped_file.h"
#include "io/dtype_convert.h"
#include "io/hf_directory.h"
#include "io/llama2c.h"
#include "io/safetensors.h"

namespace liteq::io {
namespace {

std::string TensorContext(const TensorInfo& info) {
  return info.file + ": tensor '" + info.name + "'";
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Formats we recognise by their first bytes only to say why they are not supported.
Status RejectKnownForeignFormat(const std::string& path, std::span<const uint8_t> head) {
  auto starts_with = [&](const char* magic) {
    const size_t n = std::strlen(magic);
    return head.size() >= n && std::memcmp(head.data(), magic, n) == 0;
  };
  if (starts_with("PK\x03\x04")) {
    return UnimplementedError(path +
                              ": looks like a PyTorch (zip/pickle) checkpoint, which liteq does "
                              "not read; convert it to safetensors");
  }
  if (starts_with("GGUF")) {
    return UnimplementedError(path + ": GGUF files are not supported");
  }
  return Status::Ok();
}

}  // namespace

const char* WeightDTypeName(WeightDType t) {
  switch (t) {
    case WeightDType::kF32:
      return "F32";
    case WeightDType::kF16:
      return "F16";
    case WeightDType::kBF16:
      return "BF16";
    case WeightDType::kI32:
      return "I32";
    case WeightDType::kI64:
      return "I64";
    case WeightDType::kI8:
      return "I8";
    case WeightDType::kU8:
      return "U8";
    case WeightDType::kBool:
      return "BOOL";
  }
  return "?";
}

size_t WeightDTypeSize(WeightDType t) {
  switch (t) {
    case WeightDType::kF32:
      return 4;
    case WeightDType::kF16:
      return 2;
    case WeightDType::kBF16:
      return 2;
    case WeightDType::kI32:
      return 4;
    case WeightDType::kI64:
      return 8;
    case WeightDType::kI8:
      return 1;
    case WeightDType::kU8:
      return 1;
    case WeightDType::kBool:
      return 1;
  }
  return 0;
}

bool ParseWeightDType(std::string_view name, WeightDType* out) {
  static constexpr WeightDType kAll[] = {WeightDType::kF32, WeightDType::kF16, WeightDType::kBF16,
                                         WeightDType::kI32, WeightDType::kI64, WeightDType::kI8,
                                         WeightDType::kU8,  WeightDType::kBool};
  for (WeightDType t : kAll) {
    if (name == WeightDTypeName(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

int64_t TensorInfo::num_elements() const {
  // Readers validate shapes (non-negative, product fits the bytes) before a TensorInfo
  // is published, so this product cannot overflow.
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const TensorInfo* Checkpoint::Find(const std::string& name) const {
  const std::vector<TensorInfo>& all = tensors();
  auto it = std::lower_bound(all.begin(), all.end(), name,
                             [](const TensorInfo& t, const std::string& n) { return t.name < n; });
  if (it == all.end() || it->name != name) return nullptr;
  return &*it;
}

Status Checkpoint::ReadFloat32(const std::string& name, std::span<float> out) const {
  const TensorInfo* info = Find(name);
  if (info == nullptr) return NotFoundError(path() + ": no tensor named '" + name + "'");
  if (out.size() != static_cast<uint64_t>(info->num_elements())) {
    return InvalidArgumentError(TensorContext(*info) + ": output has " +
                                std::to_string(out.size()) + " elements, the tensor has " +
                                std::to_string(info->num_elements()));
  }
  LITEQ_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, RawBytes(name));
  ConvertToFloat32(info->dtype, bytes, out);
  return Status::Ok();
}

Result<std::vector<float>> Checkpoint::ReadFloat32(const std::string& name) const {
  const TensorInfo* info = Find(name);
  if (info == nullptr) return NotFoundError(path() + ": no tensor named '" + name + "'");
  std::vector<float> values(static_cast<size_t>(info->num_elements()));
  LITEQ_RETURN_IF_ERROR(ReadFloat32(name, std::span<float>(values)));
  return values;
}

Status Checkpoint::ReadFloat32Range(const std::string& name, uint64_t first,
                                    std::span<float> out) const {
  const TensorInfo* info = Find(name);
  if (info == nullptr) return NotFoundError(path() + ": no tensor named '" + name + "'");
  const auto count = static_cast<uint64_t>(info->num_elements());
  if (first > count || out.size() > count - first) {
    return InvalidArgumentError(TensorContext(*info) + ": elements [" + std::to_string(first) +
                                ", +" + std::to_string(out.size()) + ") outside its " +
                                std::to_string(count));
  }
  if (info->raw_layout_differs) {
    LITEQ_ASSIGN_OR_RETURN(std::vector<float> all, ReadFloat32(name));
    std::copy_n(all.begin() + static_cast<std::ptrdiff_t>(first), out.size(), out.begin());
    return Status::Ok();
  }
  LITEQ_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, RawBytes(name));
  const size_t element = WeightDTypeSize(info->dtype);
  ConvertToFloat32(info->dtype, bytes.subspan(first * element, out.size() * element), out);
  return Status::Ok();
}

Result<std::vector<int32_t>> Checkpoint::ReadInt32(const std::string& name) const {
  const TensorInfo* info = Find(name);
  if (info == nullptr) return NotFoundError(path() + ": no tensor named '" + name + "'");
  if (info->dtype != WeightDType::kI32 && info->dtype != WeightDType::kI64) {
    return InvalidArgumentError(TensorContext(*info) + ": dtype " + WeightDTypeName(info->dtype) +
                                " cannot be read as int32 (expected I32 or I64)");
  }
  LITEQ_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, RawBytes(name));
  std::vector<int32_t> values(static_cast<size_t>(info->num_elements()));
  const int64_t bad = ConvertToInt32(info->dtype, bytes, std::span<int32_t>(values));
  if (bad >= 0) {
    return OutOfRangeError(TensorContext(*info) + ": element " + std::to_string(bad) +
                           " does not fit in int32");
  }
  return values;
}

Result<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return NotFoundError(path + ": no such file or directory");
  }
  if (std::filesystem::is_directory(status)) return OpenHuggingFaceDirectory(path);
  if (EndsWith(path, ".safetensors")) return SafetensorsCheckpoint::OpenFile(path);

  LITEQ_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path));
  LITEQ_RETURN_IF_ERROR(RejectKnownForeignFormat(path, file->bytes()));
  if (LooksLikeSafetensors(file->bytes()))
    return SafetensorsCheckpoint::OpenMapped(std::move(file));
  return OpenLlama2cCheckpoint(std::move(file));
}

}  // namespace liteq::io
