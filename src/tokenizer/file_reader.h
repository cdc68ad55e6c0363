// Reads tokenizer files, inflating gzip (by magic bytes) with zlib.
#ifndef LITEQ_TOKENIZER_FILE_READER_H_
#define LITEQ_TOKENIZER_FILE_READER_H_

#include <string>

#include "liteq/status.h"

namespace liteq::tokenizer {

// The contents of `path`, gunzipped if it starts with the gzip magic. Errors name the
// file (truncated or corrupt streams are DataLoss).
Result<std::string> ReadMaybeGzipFile(const std::string& path);

}  // namespace liteq::tokenizer

#endif  // LITEQ_TOKENIZER_FILE_READER_H_
