// Parsing of untrusted JSON (config.json, index files, safetensors headers) into
// nlohmann::json without letting its exceptions escape.
#ifndef LITEQ_IO_JSON_FILE_H_
#define LITEQ_IO_JSON_FILE_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "liteq/status.h"

namespace liteq::io {

// Parses `text`; errors (DataLoss) start with `what` (usually the file name) and
// carry the parser's position. Rejects an object with a repeated key at the top
// level, which nlohmann::json would otherwise resolve silently (last one wins).
Result<nlohmann::json> ParseJson(std::string_view text, const std::string& what);

// Reads and parses a JSON file; the top level must be an object.
Result<nlohmann::json> ReadJsonObjectFile(const std::string& path);

}  // namespace liteq::io

#endif  // LITEQ_IO_JSON_FILE_H_
