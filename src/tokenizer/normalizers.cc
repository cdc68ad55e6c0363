#include "tokenizer/normalizers.h"

#include <optional>
#include <utility>
#include <vector>

#include "tokenizer/json_util.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace liteq::tokenizer {
namespace {

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  void Normalize(std::string& text) const override {
    for (const auto& p : parts_) p->Normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

// HF Prepend: adds the prefix to non-empty text only.
class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void Normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(std::string literal, std::optional<Regex> regex, std::string content)
      : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}
  void Normalize(std::string& text) const override {
    std::string out;
    size_t prev = 0;
    if (regex_) {
      for (const auto& [b, e] : regex_->FindAll(text)) {
        out.append(text, prev, b - prev);
        out += content_;
        prev = e;
      }
    } else {
      if (literal_.empty()) return;
      size_t pos;
      while ((pos = text.find(literal_, prev)) != std::string::npos) {
        out.append(text, prev, pos - prev);
        out += content_;
        prev = pos + literal_.size();
      }
    }
    if (prev == 0 && out.empty()) return;
    out.append(text, prev, std::string::npos);
    text = std::move(out);
  }

 private:
  std::string literal_;
  std::optional<Regex> regex_;
  std::string content_;
};

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  void Normalize(std::string& text) const override {
    auto r = tokenizer::Normalize(text, form_);
    if (r.ok()) text = std::move(r).value();  // input is valid UTF-8, so this holds
  }

 private:
  NormalForm form_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  void Normalize(std::string& text) const override { text = ToLowercase(text); }
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void Normalize(std::string& text) const override {
    size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end) {
        size_t pos = begin;
        if (!IsWhitespace(DecodeUtf8At(text, pos))) break;
        begin = pos;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
        size_t pos = start;
        if (!IsWhitespace(DecodeUtf8At(text, pos))) break;
        end = start;
      }
    }
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

}  // namespace

Result<std::unique_ptr<Normalizer>> MakeNormalizer(const nlohmann::json& spec) {
  if (spec.is_null()) return std::unique_ptr<Normalizer>();
  LITEQ_ASSIGN_OR_RETURN(const std::string type, GetType(spec, "normalizer"));
  if (type == "Sequence") {
    if (!spec.contains("normalizers") || !spec["normalizers"].is_array()) {
      return InvalidArgumentError("normalizer Sequence: missing array 'normalizers'");
    }
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (const auto& sub : spec["normalizers"]) {
      LITEQ_ASSIGN_OR_RETURN(auto part, MakeNormalizer(sub));
      if (part) parts.push_back(std::move(part));
    }
    return std::unique_ptr<Normalizer>(new SequenceNormalizer(std::move(parts)));
  }
  if (type == "Prepend") {
    LITEQ_ASSIGN_OR_RETURN(std::string prefix, GetString(spec, "prepend", "normalizer Prepend"));
    return std::unique_ptr<Normalizer>(new PrependNormalizer(std::move(prefix)));
  }
  if (type == "Replace") {
    LITEQ_ASSIGN_OR_RETURN(PatternSpec pattern, GetPattern(spec, "normalizer Replace"));
    LITEQ_ASSIGN_OR_RETURN(std::string content, GetString(spec, "content", "normalizer Replace"));
    std::optional<Regex> regex;
    if (pattern.is_regex) {
      auto compiled = Regex::Compile(TranslateOnigurumaPattern(pattern.text));
      if (!compiled.ok()) return compiled.status().WithContext("normalizer Replace");
      regex = std::move(compiled).value();
    }
    return std::unique_ptr<Normalizer>(
        new ReplaceNormalizer(pattern.text, std::move(regex), std::move(content)));
  }
  if (type == "NFC") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(NormalForm::kNfc));
  if (type == "NFD") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(NormalForm::kNfd));
  if (type == "NFKC") {
    return std::unique_ptr<Normalizer>(new UnicodeNormalizer(NormalForm::kNfkc));
  }
  if (type == "NFKD") {
    return std::unique_ptr<Normalizer>(new UnicodeNormalizer(NormalForm::kNfkd));
  }
  if (type == "Lowercase") return std::unique_ptr<Normalizer>(new LowercaseNormalizer());
  if (type == "Strip") {
    LITEQ_ASSIGN_OR_RETURN(bool left, GetBool(spec, "strip_left", true, "normalizer Strip"));
    LITEQ_ASSIGN_OR_RETURN(bool right, GetBool(spec, "strip_right", true, "normalizer Strip"));
    return std::unique_ptr<Normalizer>(new StripNormalizer(left, right));
  }
  return UnimplementedError("normalizer type '" + type + "' is not supported");
}

}  // namespace liteq::tokenizer
