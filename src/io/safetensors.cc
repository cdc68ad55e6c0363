#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include "io/json_file.h"

namespace liteq::io {
namespace {

// The reference implementation (safetensors crate, MAX_HEADER_SIZE) refuses headers
// above 100 MB; anything larger is not a real checkpoint and would only cost memory.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// No model tensor has anywhere near this many dimensions; the bound keeps error
// messages and loops small on hostile input.
constexpr size_t kMaxRank = 64;

std::string TensorContext(const std::string& file, const std::string& name) {
  return file + ": tensor '" + name + "': ";
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// Reads a JSON number that must be a non-negative integer (as in shape and
// data_offsets); false for floats, negatives and non-numbers.
bool GetNonNegativeInteger(const nlohmann::json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer()) {
    const int64_t s = v.get<int64_t>();
    if (s < 0) return false;
    *out = static_cast<uint64_t>(s);
    return true;
  }
  return false;
}

Result<TensorInfo> ParseTensorEntry(const std::string& file, const std::string& name,
                                    const nlohmann::json& entry, uint64_t data_begin,
                                    uint64_t data_size) {
  const std::string ctx = TensorContext(file, name);
  if (!entry.is_object()) {
    return DataLossError(ctx + "header entry is a JSON " + std::string(entry.type_name()) +
                         ", expected an object with dtype, shape and data_offsets");
  }
  TensorInfo info;
  info.name = name;
  info.file = file;

  auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) {
    return DataLossError(ctx + "missing or non-string 'dtype'");
  }
  const std::string& dtype = dtype_it->get_ref<const std::string&>();
  if (!ParseWeightDType(dtype, &info.dtype)) {
    return UnimplementedError(ctx + "unsupported dtype '" + dtype +
                              "' (liteq reads F32, F16, BF16, I32, I64, I8, U8, BOOL)");
  }

  auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array()) {
    return DataLossError(ctx + "missing or non-array 'shape'");
  }
  if (shape_it->size() > kMaxRank) {
    return DataLossError(ctx + "shape has " + std::to_string(shape_it->size()) +
                         " dimensions (at most " + std::to_string(kMaxRank) + " supported)");
  }
  // The element count is computed in uint64 with overflow checks; any count whose
  // byte size exceeds the data section is rejected below anyway.
  uint64_t num_elements = 1;
  bool overflow = false;
  for (const nlohmann::json& dim_json : *shape_it) {
    uint64_t dim = 0;
    if (!GetNonNegativeInteger(dim_json, &dim)) {
      return DataLossError(ctx + "shape " + shape_it->dump() +
                           " has an entry that is not a non-negative integer");
    }
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return DataLossError(ctx + "shape " + shape_it->dump() + " has an absurd dimension");
    }
    info.shape.push_back(static_cast<int64_t>(dim));
    overflow = overflow || __builtin_mul_overflow(num_elements, dim, &num_elements);
  }
  uint64_t expected_bytes = 0;
  overflow = overflow ||
             __builtin_mul_overflow(num_elements, WeightDTypeSize(info.dtype), &expected_bytes) ||
             num_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

  auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
    return DataLossError(ctx + "missing 'data_offsets' or not a [begin, end] pair");
  }
  uint64_t begin = 0;
  uint64_t end = 0;
  if (!GetNonNegativeInteger((*offsets_it)[0], &begin) ||
      !GetNonNegativeInteger((*offsets_it)[1], &end)) {
    return DataLossError(ctx + "data_offsets " + offsets_it->dump() +
                         " are not non-negative integers");
  }
  const std::string offsets_text =
      "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "]";
  if (begin > end) return DataLossError(ctx + offsets_text + ": begin is after end");
  if (end > data_size) {
    return DataLossError(ctx + offsets_text + " extend beyond the data section (" +
                         std::to_string(data_size) + " bytes)");
  }
  if (overflow || expected_bytes != end - begin) {
    return DataLossError(
        ctx + offsets_text + " span " + std::to_string(end - begin) + " bytes but shape " +
        ShapeString(info.shape) + " of " + dtype + " needs " +
        (overflow ? std::string("more than 2^64") : std::to_string(expected_bytes)));
  }
  info.offset = data_begin + begin;
  info.nbytes = end - begin;
  return info;
}

// Tensors must not share bytes (the reference implementation requires them to tile
// the data section; liteq tolerates gaps). Empty tensors occupy nothing.
Status CheckNoOverlap(const std::string& file, const std::vector<TensorInfo>& tensors) {
  std::vector<const TensorInfo*> by_offset;
  for (const TensorInfo& t : tensors) {
    if (t.nbytes > 0) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->offset != b->offset ? a->offset < b->offset : a->name < b->name;
  });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1];
    const TensorInfo& cur = *by_offset[i];
    if (cur.offset < prev.offset + prev.nbytes) {
      return DataLossError(TensorContext(file, cur.name) + "bytes [" + std::to_string(cur.offset) +
                           ", " + std::to_string(cur.offset + cur.nbytes) + ") overlap tensor '" +
                           prev.name + "' at [" + std::to_string(prev.offset) + ", " +
                           std::to_string(prev.offset + prev.nbytes) + ") (file offsets)");
    }
  }
  return Status::Ok();
}

uint64_t LoadU64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;  // little-endian host (see dtype_convert.cc)
}

}  // namespace

Result<std::vector<TensorInfo>> ParseSafetensorsHeader(const MappedFile& file) {
  const std::string& path = file.path();
  const std::span<const uint8_t> bytes = file.bytes();
  if (bytes.size() < 8) {
    return DataLossError(path + ": file has " + std::to_string(bytes.size()) +
                         " bytes, too short for the 8-byte safetensors header length");
  }
  const uint64_t header_len = LoadU64(bytes.data());
  if (header_len > bytes.size() - 8) {
    return DataLossError(path + ": header length " + std::to_string(header_len) + " exceeds the " +
                         std::to_string(bytes.size() - 8) +
                         " bytes that follow it (file truncated or not safetensors)");
  }
  if (header_len > kMaxHeaderBytes) {
    return DataLossError(path + ": header length " + std::to_string(header_len) +
                         " exceeds the safetensors limit of 100 MB");
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), header_len);
  LITEQ_ASSIGN_OR_RETURN(nlohmann::json header, ParseJson(text, path + ": header"));
  if (!header.is_object()) {
    return DataLossError(path + ": header is a JSON " + std::string(header.type_name()) +
                         ", expected an object");
  }
  const uint64_t data_begin = 8 + header_len;
  const uint64_t data_size = bytes.size() - data_begin;
  std::vector<TensorInfo> tensors;
  tensors.reserve(header.size());
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    LITEQ_ASSIGN_OR_RETURN(TensorInfo info,
                           ParseTensorEntry(path, name, entry, data_begin, data_size));
    tensors.push_back(std::move(info));
  }
  LITEQ_RETURN_IF_ERROR(CheckNoOverlap(path, tensors));
  return tensors;
}

bool LooksLikeSafetensors(std::span<const uint8_t> bytes) {
  if (bytes.size() < 9) return false;
  const uint64_t header_len = LoadU64(bytes.data());
  return header_len >= 2 && header_len <= bytes.size() - 8 && bytes[8] == '{';
}

Result<std::unique_ptr<Checkpoint>> SafetensorsCheckpoint::OpenFile(const std::string& path) {
  LITEQ_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path));
  return OpenMapped(std::move(file));
}

Result<std::unique_ptr<Checkpoint>> SafetensorsCheckpoint::OpenMapped(
    std::shared_ptr<const MappedFile> file) {
  LITEQ_ASSIGN_OR_RETURN(std::vector<TensorInfo> tensors, ParseSafetensorsHeader(*file));
  std::string path = file->path();
  std::vector<std::shared_ptr<const MappedFile>> files;
  files.push_back(std::move(file));
  LITEQ_ASSIGN_OR_RETURN(
      std::unique_ptr<SafetensorsCheckpoint> checkpoint,
      Create(std::move(path), nlohmann::json::object(), std::move(files), std::move(tensors)));
  return std::unique_ptr<Checkpoint>(std::move(checkpoint));
}

Result<std::unique_ptr<SafetensorsCheckpoint>> SafetensorsCheckpoint::Create(
    std::string path, nlohmann::json config, std::vector<std::shared_ptr<const MappedFile>> files,
    std::vector<TensorInfo> tensors) {
  std::sort(tensors.begin(), tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  for (size_t i = 1; i < tensors.size(); ++i) {
    if (tensors[i].name == tensors[i - 1].name) {
      return DataLossError(path + ": tensor '" + tensors[i].name + "' appears twice, in " +
                           tensors[i - 1].file + " and in " + tensors[i].file);
    }
  }
  std::unique_ptr<SafetensorsCheckpoint> checkpoint(new SafetensorsCheckpoint());
  checkpoint->file_of_.reserve(tensors.size());
  for (const TensorInfo& t : tensors) {
    auto it = std::find_if(files.begin(), files.end(),
                           [&](const auto& f) { return f->path() == t.file; });
    if (it == files.end()) {
      return InternalError(path + ": tensor '" + t.name + "' refers to unopened file " + t.file);
    }
    // Readers validated the range; re-check so that a bad caller cannot read out of bounds.
    LITEQ_CHECK(t.offset <= (*it)->size() && t.nbytes <= (*it)->size() - t.offset);
    checkpoint->file_of_.push_back(it->get());
  }
  checkpoint->path_ = std::move(path);
  checkpoint->config_ = std::move(config);
  checkpoint->files_ = std::move(files);
  checkpoint->tensors_ = std::move(tensors);
  return checkpoint;
}

Result<std::span<const uint8_t>> SafetensorsCheckpoint::RawBytes(const std::string& name) const {
  const TensorInfo* info = Find(name);
  if (info == nullptr) return NotFoundError(path_ + ": no tensor named '" + name + "'");
  const MappedFile* file = file_of_[static_cast<size_t>(info - tensors_.data())];
  return file->bytes().subspan(info->offset, info->nbytes);
}

}  // namespace liteq::io
