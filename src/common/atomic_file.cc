#include "common/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace liteq {

Result<AtomicFileWriter> AtomicFileWriter::Create(const std::string& path) {
  std::string temp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (f == nullptr) {
    return IoError(path + ": cannot create temporary file " + temp + ": " +
                   std::strerror(errno));
  }
  return AtomicFileWriter(path, temp, f);
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      file_(other.file_),
      offset_(other.offset_),
      committed_(other.committed_) {
  other.file_ = nullptr;
  other.committed_ = true;
}

AtomicFileWriter::~AtomicFileWriter() {
  if (file_ != nullptr) std::fclose(file_);
  if (!committed_) std::remove(temp_path_.c_str());
}

Status AtomicFileWriter::Write(const void* data, size_t size) {
  if (file_ == nullptr) return FailedPreconditionError(path_ + ": writer is closed");
  if (size > 0 && std::fwrite(data, 1, size, file_) != size) {
    return IoError(path_ + ": write failed: " + std::strerror(errno));
  }
  offset_ += size;
  return Status::Ok();
}

Status AtomicFileWriter::WriteZeros(size_t size) {
  static const std::vector<uint8_t> zeros(4096, 0);
  while (size > 0) {
    size_t n = size < zeros.size() ? size : zeros.size();
    LITEQ_RETURN_IF_ERROR(Write(zeros.data(), n));
    size -= n;
  }
  return Status::Ok();
}

Status AtomicFileWriter::Align(size_t alignment) {
  size_t rem = static_cast<size_t>(offset_ % alignment);
  return rem == 0 ? Status::Ok() : WriteZeros(alignment - rem);
}

Status AtomicFileWriter::WriteAt(uint64_t at, const void* data, size_t size) {
  if (file_ == nullptr) return FailedPreconditionError(path_ + ": writer is closed");
  if (at + size > offset_) return InternalError(path_ + ": WriteAt past end");
  if (std::fseek(file_, static_cast<long>(at), SEEK_SET) != 0 ||
      std::fwrite(data, 1, size, file_) != size ||
      std::fseek(file_, 0, SEEK_END) != 0) {
    return IoError(path_ + ": write failed: " + std::strerror(errno));
  }
  return Status::Ok();
}

Status AtomicFileWriter::Commit() {
  if (file_ == nullptr) return FailedPreconditionError(path_ + ": writer is closed");
  bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  ok = (std::fclose(file_) == 0) && ok;
  file_ = nullptr;
  if (!ok) return IoError(path_ + ": flush failed: " + std::strerror(errno));
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return IoError(path_ + ": cannot rename temporary file: " + std::strerror(errno));
  }
  committed_ = true;
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  LITEQ_ASSIGN_OR_RETURN(auto writer, AtomicFileWriter::Create(path));
  LITEQ_RETURN_IF_ERROR(writer.Write(contents.data(), contents.size()));
  return writer.Commit();
}

}  // namespace liteq
