// Read-only memory mapping of a whole file. Weights are read in place from the
// mapping; nothing is copied until a tensor is converted on demand.
#ifndef LITEQ_COMMON_MAPPED_FILE_H_
#define LITEQ_COMMON_MAPPED_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "liteq/status.h"

namespace liteq {

class MappedFile {
 public:
  // Maps `path` read-only. An empty file maps to an empty span.
  static Result<std::shared_ptr<const MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Reads a whole (small) file into a string, e.g. JSON.
Result<std::string> ReadFileToString(const std::string& path);

}  // namespace liteq

#endif  // LITEQ_COMMON_MAPPED_FILE_H_
