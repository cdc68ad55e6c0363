#include "tokenizer/json_util.h"

namespace liteq::tokenizer {

Result<std::string> GetString(const nlohmann::json& spec, const char* key, const char* what) {
  if (!spec.is_object() || !spec.contains(key) || !spec[key].is_string()) {
    return InvalidArgumentError(std::string(what) + ": missing string field '" + key + "'");
  }
  return spec[key].get<std::string>();
}

Result<bool> GetBool(const nlohmann::json& spec, const char* key, bool fallback, const char* what) {
  if (!spec.is_object() || !spec.contains(key) || spec[key].is_null()) return fallback;
  if (!spec[key].is_boolean()) {
    return InvalidArgumentError(std::string(what) + ": field '" + key + "' is not a boolean");
  }
  return spec[key].get<bool>();
}

Result<std::string> GetType(const nlohmann::json& spec, const char* what) {
  if (!spec.is_object()) return InvalidArgumentError(std::string(what) + " is not an object");
  return GetString(spec, "type", what);
}

Result<PatternSpec> GetPattern(const nlohmann::json& spec, const char* what) {
  if (!spec.is_object() || !spec.contains("pattern") || !spec["pattern"].is_object()) {
    return InvalidArgumentError(std::string(what) + ": missing object field 'pattern'");
  }
  const nlohmann::json& p = spec["pattern"];
  if (p.contains("String") && p["String"].is_string()) {
    return PatternSpec{false, p["String"].get<std::string>()};
  }
  if (p.contains("Regex") && p["Regex"].is_string()) {
    return PatternSpec{true, p["Regex"].get<std::string>()};
  }
  return InvalidArgumentError(std::string(what) +
                              ": 'pattern' must hold a \"String\" or a \"Regex\"");
}

}  // namespace liteq::tokenizer
