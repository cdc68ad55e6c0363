// Writes a file under a temporary name in the same directory and renames it into
// place on Commit(), so a failed or interrupted run never leaves a truncated output.
#ifndef LITEQ_COMMON_ATOMIC_FILE_H_
#define LITEQ_COMMON_ATOMIC_FILE_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "liteq/status.h"

namespace liteq {

class AtomicFileWriter {
 public:
  static Result<AtomicFileWriter> Create(const std::string& path);
  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&&) = delete;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();  // removes the temporary file unless committed

  Status Write(const void* data, size_t size);
  Status WriteZeros(size_t size);
  // Pads with zeros until the file offset is a multiple of `alignment`.
  Status Align(size_t alignment);
  uint64_t offset() const { return offset_; }
  // Overwrites bytes already written at `at` (e.g. a header patched at the end).
  Status WriteAt(uint64_t at, const void* data, size_t size);
  // Flushes, fsyncs and renames the temporary file to the final path.
  Status Commit();
  const std::string& path() const { return path_; }

 private:
  AtomicFileWriter(std::string path, std::string temp_path, std::FILE* file)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), file_(file) {}
  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  uint64_t offset_ = 0;
  bool committed_ = false;
};

// Convenience: writes `contents` atomically.
Status WriteFileAtomically(const std::string& path, const std::string& contents);

}  // namespace liteq

#endif  // LITEQ_COMMON_ATOMIC_FILE_H_
