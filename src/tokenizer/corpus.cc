#include "tokenizer/corpus.h"

#include <nlohmann/json.hpp>

#include "common/mapped_file.h"

namespace liteq::tokenizer {

Result<std::vector<std::string>> ReadJsonlTexts(const std::string& path) {
  LITEQ_ASSIGN_OR_RETURN(const std::string data, ReadFileToString(path));
  std::vector<std::string> texts;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    ++line_no;
    const std::string_view line(data.data() + pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const std::string where = path + ":" + std::to_string(line_no);
    if (j.is_discarded()) return InvalidArgumentError(where + ": not valid JSON");
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string()) {
      return InvalidArgumentError(where + ": no string field \"text\"");
    }
    texts.push_back(j["text"].get<std::string>());
  }
  return texts;
}

std::vector<int32_t> TokenizeDocuments(const Tokenizer& tokenizer,
                                       const std::vector<std::string>& texts, int32_t bos,
                                       int32_t eos) {
  std::vector<int32_t> ids;
  for (const std::string& text : texts) {
    if (bos >= 0) ids.push_back(bos);
    const std::vector<int32_t> doc = tokenizer.Encode(text, /*add_special=*/false);
    ids.insert(ids.end(), doc.begin(), doc.end());
    if (eos >= 0) ids.push_back(eos);
  }
  return ids;
}

std::vector<std::vector<int32_t>> MakeWindows(const std::vector<int32_t>& ids, size_t window_length,
                                              size_t max_windows) {
  std::vector<std::vector<int32_t>> windows;
  if (window_length == 0) return windows;
  size_t count = ids.size() / window_length;
  if (max_windows > 0 && count > max_windows) count = max_windows;
  windows.reserve(count);
  for (size_t w = 0; w < count; ++w) {
    windows.emplace_back(ids.begin() + w * window_length, ids.begin() + (w + 1) * window_length);
  }
  return windows;
}

Result<std::vector<std::vector<int32_t>>> LoadCorpusWindows(const Tokenizer& tokenizer,
                                                            const std::string& path,
                                                            size_t window_length,
                                                            size_t max_windows) {
  LITEQ_ASSIGN_OR_RETURN(const auto texts, ReadJsonlTexts(path));
  const auto ids = TokenizeDocuments(tokenizer, texts, tokenizer.bos_id(), tokenizer.eos_id());
  return MakeWindows(ids, window_length, max_windows);
}

}  // namespace liteq::tokenizer
