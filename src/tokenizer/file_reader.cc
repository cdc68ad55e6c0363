#include "tokenizer/file_reader.h"

#include <zlib.h>

#include <climits>

#include "common/mapped_file.h"

namespace liteq::tokenizer {
namespace {

// Tokenizer files are a few MB; this stops a gzip bomb from eating the machine.
constexpr size_t kMaxInflatedBytes = size_t{1} << 30;

Result<std::string> Gunzip(const std::string& data, const std::string& path) {
  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip header and trailer (RFC 1952).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return InternalError(path + ": zlib inflateInit2 failed");
  }
  std::string out;
  char buffer[1 << 16];
  size_t consumed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && consumed < data.size()) {
      const size_t chunk = std::min<size_t>(data.size() - consumed, UINT_MAX);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + consumed));
      zs.avail_in = static_cast<uInt>(chunk);
      consumed += chunk;
    }
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof(buffer);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const std::string msg = zs.msg != nullptr ? zs.msg : "";
      inflateEnd(&zs);
      if (rc == Z_BUF_ERROR) {
        return DataLossError(path + ": truncated gzip stream (ends after " +
                             std::to_string(out.size()) + " inflated bytes)");
      }
      return DataLossError(path + ": corrupt gzip stream: " +
                           (msg.empty() ? "zlib error " + std::to_string(rc) : msg));
    }
    out.append(buffer, sizeof(buffer) - zs.avail_out);
    if (out.size() > kMaxInflatedBytes) {
      inflateEnd(&zs);
      return DataLossError(path + ": gzip stream inflates to more than 1 GiB");
    }
    if (rc != Z_STREAM_END && zs.avail_in == 0 && consumed >= data.size() && zs.avail_out != 0) {
      inflateEnd(&zs);
      return DataLossError(path + ": truncated gzip stream (ends after " +
                           std::to_string(out.size()) + " inflated bytes)");
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace

Result<std::string> ReadMaybeGzipFile(const std::string& path) {
  // Read through a reference: GCC 12 warns (falsely) about a moved-out Result here.
  auto read = ReadFileToString(path);
  if (!read.ok()) return read.status();
  const std::string& data = read.value();
  if (data.starts_with("\x1F\x8B")) {  // gzip magic (RFC 1952)
    return Gunzip(data, path);
  }
  return std::move(read).value();
}

}  // namespace liteq::tokenizer
