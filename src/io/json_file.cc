#include "io/json_file.h"

#include <set>

#include "common/mapped_file.h"

namespace liteq::io {

Result<nlohmann::json> ParseJson(std::string_view text, const std::string& what) {
  std::set<std::string> top_level_keys;
  std::string duplicate_key;
  // Top-level keys arrive with depth 1 (the enclosing object is depth 0).
  nlohmann::json::parser_callback_t on_event = [&](int depth, nlohmann::json::parse_event_t event,
                                                   nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!top_level_keys.insert(key).second && duplicate_key.empty()) duplicate_key = key;
    }
    return true;
  };
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(text.begin(), text.end(), on_event);
  } catch (const nlohmann::json::exception& e) {
    return DataLossError(what + ": malformed JSON: " + e.what());
  }
  if (!duplicate_key.empty()) {
    return DataLossError(what + ": malformed JSON: key '" + duplicate_key + "' appears twice");
  }
  return parsed;
}

Result<nlohmann::json> ReadJsonObjectFile(const std::string& path) {
  LITEQ_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  LITEQ_ASSIGN_OR_RETURN(nlohmann::json parsed, ParseJson(text, path));
  if (!parsed.is_object()) {
    return DataLossError(path + ": expected a JSON object at the top level, found " +
                         std::string(parsed.type_name()));
  }
  return parsed;
}

}  // namespace liteq::io
