#include "tokenizer/added_vocabulary.h"

#include <algorithm>

#include "tokenizer/json_util.h"
#include "tokenizer/unicode.h"

namespace liteq::tokenizer {
namespace {

// Code point ending at byte `end` (exclusive) of s.
char32_t LastChar(std::string_view s, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
  return DecodeUtf8At(s, start);
}

}  // namespace

Status AddedVocabulary::Init(const nlohmann::json& added_tokens, const Normalizer* normalizer) {
  if (added_tokens.is_null()) return Status::Ok();
  if (!added_tokens.is_array()) return InvalidArgumentError("'added_tokens' is not an array");
  for (size_t i = 0; i < added_tokens.size(); ++i) {
    const auto& t = added_tokens[i];
    const std::string what = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer()) {
      return InvalidArgumentError(what + ": missing integer 'id'");
    }
    AddedToken token;
    LITEQ_ASSIGN_OR_RETURN(token.content, GetString(t, "content", what.c_str()));
    const int64_t id = t["id"].get<int64_t>();
    if (id < 0 || id >= (1 << 24)) {
      return InvalidArgumentError(what + ": id " + std::to_string(id) + " is out of range");
    }
    token.id = static_cast<int32_t>(id);
    LITEQ_ASSIGN_OR_RETURN(token.special, GetBool(t, "special", false, what.c_str()));
    // HF default: normalized = !special.
    LITEQ_ASSIGN_OR_RETURN(token.normalized,
                           GetBool(t, "normalized", !token.special, what.c_str()));
    LITEQ_ASSIGN_OR_RETURN(token.lstrip, GetBool(t, "lstrip", false, what.c_str()));
    LITEQ_ASSIGN_OR_RETURN(token.rstrip, GetBool(t, "rstrip", false, what.c_str()));
    LITEQ_ASSIGN_OR_RETURN(token.single_word, GetBool(t, "single_word", false, what.c_str()));
    if (!IsValidUtf8(token.content)) return InvalidArgumentError(what + ": content is not UTF-8");
    by_id_[token.id] = tokens_.size();
    id_limit_ = std::max(id_limit_, token.id + 1);
    tokens_.push_back(std::move(token));
  }
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    if (t.content.empty()) continue;
    if (t.normalized && normalizer != nullptr) {
      std::string form = t.content;
      normalizer->Normalize(form);
      AddPattern(normalized_, std::move(form), i);
    } else if (t.normalized) {
      AddPattern(normalized_, t.content, i);
    } else {
      AddPattern(raw_, t.content, i);
    }
  }
  return Status::Ok();
}

void AddedVocabulary::AddPattern(Matcher& m, std::string pattern, size_t token_index) {
  if (pattern.empty()) return;
  auto& bucket = m.by_first_byte[static_cast<uint8_t>(pattern[0])];
  for (const auto& [p, index] : bucket) {
    if (p == pattern) return;  // the first token with this content wins
  }
  bucket.emplace_back(std::move(pattern), token_index);
  std::stable_sort(bucket.begin(), bucket.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  m.empty = false;
}

std::vector<Segment> AddedVocabulary::Split(std::string_view text, bool normalized_tokens) const {
  std::vector<Segment> out;
  const Matcher& m = normalized_tokens ? normalized_ : raw_;
  if (m.empty || text.empty()) {
    if (!text.empty()) out.push_back({-1, 0, text.size()});
    return out;
  }
  size_t emitted = 0;  // end of what has been emitted so far
  size_t pos = 0;
  while (pos < text.size()) {
    const auto& bucket = m.by_first_byte[static_cast<uint8_t>(text[pos])];
    const std::pair<std::string, size_t>* hit = nullptr;
    for (const auto& entry : bucket) {
      if (text.compare(pos, entry.first.size(), entry.first) == 0) {
        hit = &entry;
        break;
      }
    }
    if (hit == nullptr) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[hit->second];
    size_t start = pos;
    size_t stop = pos + hit->first.size();
    pos = stop;  // a discarded match still consumes its text, as in aho-corasick find_iter
    if (token.single_word) {
      const bool start_ok = start == 0 || !IsWordChar(LastChar(text, start));
      size_t after = stop;
      const bool stop_ok = stop == text.size() || !IsWordChar(DecodeUtf8At(text, after));
      if (!start_ok || !stop_ok) continue;
    }
    if (token.lstrip) {
      size_t s = start;
      while (s > emitted && IsWhitespace(LastChar(text, s))) {
        --s;
        while (s > 0 && (static_cast<uint8_t>(text[s]) & 0xC0) == 0x80) --s;
      }
      start = std::max(s, emitted);
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        size_t next = stop;
        if (!IsWhitespace(DecodeUtf8At(text, next))) break;
        stop = next;
      }
      pos = stop;
    }
    if (start < emitted) start = emitted;
    if (emitted < start) out.push_back({-1, emitted, start});
    out.push_back({token.id, start, stop});
    emitted = stop;
  }
  if (emitted < text.size()) out.push_back({-1, emitted, text.size()});
  return out;
}

const AddedToken* AddedVocabulary::FindById(int32_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::FindByContent(std::string_view content) const {
  for (const AddedToken& t : tokens_) {
    if (t.content == content) return &t;
  }
  return nullptr;
}

}  // namespace liteq::tokenizer
