// A minimal GGUF v3 reader for the tests: parses what WriteCheckpointAsGguf writes
// (header, key/values, tensor infos) independently of the writer's code, following
// ggml docs/gguf.md, and gives views of the tensor data.
#ifndef LITEQ_TESTS_BENCH_GGUF_READER_H_
#define LITEQ_TESTS_BENCH_GGUF_READER_H_

#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace liteq::testing {

struct GgufTensorInfo {
  std::vector<uint64_t> ne;
  uint32_t type = 0;
  uint64_t offset = 0;  // relative to the data section
};

// Scalars are widened: unsigned/signed integers to int64, floats to double.
using GgufValue = std::variant<int64_t, double, bool, std::string, std::vector<std::string>,
                               std::vector<double>, std::vector<int64_t>>;

struct GgufFile {
  uint32_t version = 0;
  std::map<std::string, GgufValue> kv;
  std::map<std::string, uint32_t> kv_type;  // GGUF value type as written
  std::vector<std::string> tensor_order;
  std::map<std::string, GgufTensorInfo> tensors;
  uint64_t data_start = 0;
  std::vector<uint8_t> bytes;

  std::span<const uint8_t> Data(const std::string& name, uint64_t size) const {
    const auto& t = tensors.at(name);
    if (data_start + t.offset + size > bytes.size())
      throw std::runtime_error("tensor past end: " + name);
    return {bytes.data() + data_start + t.offset, size};
  }
};

class GgufParser {
 public:
  explicit GgufParser(std::vector<uint8_t> bytes) { file_.bytes = std::move(bytes); }

  GgufFile Parse() {
    if (Read<uint32_t>() != 0x46554747u) throw std::runtime_error("bad magic");
    file_.version = Read<uint32_t>();
    const uint64_t n_tensors = Read<uint64_t>();
    const uint64_t n_kv = Read<uint64_t>();
    for (uint64_t i = 0; i < n_kv; ++i) {
      const std::string key = ReadString();
      const uint32_t type = Read<uint32_t>();
      if (file_.kv.count(key)) throw std::runtime_error("duplicate key " + key);
      file_.kv_type[key] = type;
      file_.kv[key] = ReadValue(type);
    }
    for (uint64_t i = 0; i < n_tensors; ++i) {
      const std::string name = ReadString();
      GgufTensorInfo info;
      const uint32_t dims = Read<uint32_t>();
      if (dims > 4) throw std::runtime_error("too many dims: " + name);
      for (uint32_t d = 0; d < dims; ++d) info.ne.push_back(Read<uint64_t>());
      info.type = Read<uint32_t>();
      info.offset = Read<uint64_t>();
      file_.tensor_order.push_back(name);
      file_.tensors[name] = info;
    }
    uint64_t alignment = 32;
    if (auto it = file_.kv.find("general.alignment"); it != file_.kv.end()) {
      alignment = std::get<int64_t>(it->second);
    }
    file_.data_start = (pos_ + alignment - 1) / alignment * alignment;
    return std::move(file_);
  }

 private:
  template <typename T>
  T Read() {
    if (pos_ + sizeof(T) > file_.bytes.size()) throw std::runtime_error("truncated");
    T v;
    std::memcpy(&v, file_.bytes.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string ReadString() {
    const uint64_t n = Read<uint64_t>();
    if (pos_ + n > file_.bytes.size()) throw std::runtime_error("truncated string");
    std::string s(reinterpret_cast<const char*>(file_.bytes.data() + pos_), n);
    pos_ += n;
    return s;
  }
  int64_t ReadInt(uint32_t type) {
    switch (type) {
      case 0:
        return Read<uint8_t>();
      case 1:
        return Read<int8_t>();
      case 2:
        return Read<uint16_t>();
      case 3:
        return Read<int16_t>();
      case 4:
        return Read<uint32_t>();
      case 5:
        return Read<int32_t>();
      case 10:
        return static_cast<int64_t>(Read<uint64_t>());
      case 11:
        return Read<int64_t>();
    }
    throw std::runtime_error("not an integer type");
  }
  GgufValue ReadValue(uint32_t type) {
    switch (type) {
      case 6:
        return static_cast<double>(Read<float>());
      case 12:
        return Read<double>();
      case 7:
        return Read<uint8_t>() != 0;
      case 8:
        return ReadString();
      case 9: {
        const uint32_t elem = Read<uint32_t>();
        const uint64_t n = Read<uint64_t>();
        if (n > file_.bytes.size()) throw std::runtime_error("array too long");
        if (elem == 8) {
          std::vector<std::string> v;
          for (uint64_t i = 0; i < n; ++i) v.push_back(ReadString());
          return v;
        }
        if (elem == 6 || elem == 12) {
          std::vector<double> v;
          for (uint64_t i = 0; i < n; ++i) v.push_back(elem == 6 ? Read<float>() : Read<double>());
          return v;
        }
        std::vector<int64_t> v;
        for (uint64_t i = 0; i < n; ++i) v.push_back(ReadInt(elem));
        return v;
      }
      default:
        return ReadInt(type);
    }
  }
  GgufFile file_;
  size_t pos_ = 0;
};

}  // namespace liteq::testing

#endif  // LITEQ_TESTS_BENCH_GGUF_READER_H_
