// Small helpers for reading tokenizer.json fields with errors instead of exceptions.
#ifndef LITEQ_TOKENIZER_JSON_UTIL_H_
#define LITEQ_TOKENIZER_JSON_UTIL_H_

#include <nlohmann/json.hpp>
#include <string>

#include "liteq/status.h"

namespace liteq::tokenizer {

// spec[key] as a string; `what` names the component in the error.
Result<std::string> GetString(const nlohmann::json& spec, const char* key, const char* what);
// spec[key] as a bool, or `fallback` when absent or null.
Result<bool> GetBool(const nlohmann::json& spec, const char* key, bool fallback, const char* what);
// The "type" of a component object.
Result<std::string> GetType(const nlohmann::json& spec, const char* what);

// A pattern object {"String": "..."} or {"Regex": "..."}.
struct PatternSpec {
  bool is_regex = false;
  std::string text;
};
Result<PatternSpec> GetPattern(const nlohmann::json& spec, const char* what);

}  // namespace liteq::tokenizer

#endif  // LITEQ_TOKENIZER_JSON_UTIL_H_
