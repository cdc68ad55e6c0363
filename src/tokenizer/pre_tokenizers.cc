#include "tokenizer/pre_tokenizers.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <utility>

#include "tokenizer/byte_level.h"
#include "tokenizer/json_util.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace liteq::tokenizer {
namespace {

// Hugging Face SplitDelimiterBehavior.
enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct Span {
  size_t begin, end;
  bool is_match;
};

// Turns matches into the covering list of (span, is_match) and applies `behavior`
// exactly as NormalizedString::split in tokenizers/src/tokenizer/normalizer.rs.
std::vector<std::pair<size_t, size_t>> ApplyBehavior(
    size_t length, const std::vector<std::pair<size_t, size_t>>& matches, Behavior behavior,
    bool invert) {
  std::vector<Span> spans;
  size_t prev = 0;
  for (const auto& [b, e] : matches) {
    if (prev != b) spans.push_back({prev, b, false});
    spans.push_back({b, e, true});
    prev = e;
  }
  if (prev != length) spans.push_back({prev, length, false});
  if (invert) {
    for (auto& s : spans) s.is_match = !s.is_match;
  }
  std::vector<std::pair<size_t, size_t>> out;
  switch (behavior) {
    case Behavior::kRemoved:
      for (const auto& s : spans) {
        if (!s.is_match) out.emplace_back(s.begin, s.end);
      }
      break;
    case Behavior::kIsolated:
      for (const auto& s : spans) out.emplace_back(s.begin, s.end);
      break;
    case Behavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const auto& s : spans) {
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().second = s.end;
        } else {
          out.emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) {
          out.back().first = it->begin;
        } else {
          out.emplace_back(it->begin, it->end);
        }
        previous_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
    case Behavior::kContiguous: {
      bool previous_match = false;
      for (const auto& s : spans) {
        if (s.is_match == previous_match && !out.empty()) {
          out.back().second = s.end;
        } else {
          out.emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      break;
    }
  }
  return out;
}

using Matcher = std::function<std::vector<std::pair<size_t, size_t>>(std::string_view)>;

void SplitPieces(std::vector<Piece>& pieces, const Matcher& matcher, Behavior behavior,
                 bool invert) {
  std::vector<Piece> result;
  result.reserve(pieces.size());
  for (Piece& piece : pieces) {
    const auto spans = ApplyBehavior(piece.text.size(), matcher(piece.text), behavior, invert);
    for (const auto& [b, e] : spans) {
      if (e <= b) continue;
      result.push_back({piece.text.substr(b, e - b), piece.at_input_start && b == 0});
    }
  }
  pieces = std::move(result);
}

std::vector<std::pair<size_t, size_t>> FindLiteral(std::string_view text,
                                                   const std::string& literal) {
  std::vector<std::pair<size_t, size_t>> matches;
  if (literal.empty()) return matches;
  size_t pos = 0;
  while ((pos = text.find(literal, pos)) != std::string_view::npos) {
    matches.emplace_back(pos, pos + literal.size());
    pos += literal.size();
  }
  return matches;
}

// Matches every single character satisfying `pred`.
std::vector<std::pair<size_t, size_t>> FindChars(std::string_view text, bool (*pred)(char32_t)) {
  std::vector<std::pair<size_t, size_t>> matches;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    const char32_t cp = DecodeUtf8At(text, pos);
    if (pred(cp)) matches.emplace_back(start, pos);
  }
  return matches;
}

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    for (const auto& p : parts_) p->PreTokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(std::string literal, std::optional<Regex> regex, Behavior behavior, bool invert)
      : literal_(std::move(literal)),
        regex_(std::move(regex)),
        behavior_(behavior),
        invert_(invert) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    if (regex_) {
      SplitPieces(
          pieces, [this](std::string_view t) { return regex_->FindAll(t); }, behavior_, invert_);
    } else {
      SplitPieces(
          pieces, [this](std::string_view t) { return FindLiteral(t, literal_); }, behavior_,
          invert_);
    }
  }

 private:
  std::string literal_;
  std::optional<Regex> regex_;
  Behavior behavior_;
  bool invert_;
};

// The GPT-2 split pattern used by ByteLevel when use_regex is true.
constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::optional<Regex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    if (add_prefix_space_) {
      for (Piece& p : pieces) {
        if (p.text.empty() || p.text[0] != ' ') p.text = ' ' + p.text;
      }
    }
    if (regex_) {
      SplitPieces(
          pieces, [this](std::string_view t) { return regex_->FindAll(t); }, Behavior::kIsolated,
          false);
    }
    for (Piece& p : pieces) {
      std::string mapped;
      mapped.reserve(p.text.size() * 2);
      AppendBytesAsByteLevel(p.text, mapped);
      p.text = std::move(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::optional<Regex> regex_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    for (Piece& p : pieces) {
      std::string out;
      for (char c : p.text) {
        if (c == ' ') {
          out += replacement_;
        } else {
          out.push_back(c);
        }
      }
      const bool prepend = scheme_ == PrependScheme::kAlways ||
                           (scheme_ == PrependScheme::kFirst && p.at_input_start);
      if (prepend && out.compare(0, replacement_.size(), replacement_) != 0) {
        out = replacement_ + out;
      }
      p.text = std::move(out);
    }
    if (split_) {
      SplitPieces(
          pieces, [this](std::string_view t) { return FindLiteral(t, replacement_); },
          Behavior::kMergedWithNext, false);
    }
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

class CharClassPreTokenizer : public PreTokenizer {
 public:
  CharClassPreTokenizer(bool (*pred)(char32_t), Behavior behavior)
      : pred_(pred), behavior_(behavior) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    SplitPieces(
        pieces, [this](std::string_view t) { return FindChars(t, pred_); }, behavior_, false);
  }

 private:
  bool (*pred_)(char32_t);
  Behavior behavior_;
};

class RegexPreTokenizer : public PreTokenizer {
 public:
  RegexPreTokenizer(Regex regex, Behavior behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    SplitPieces(
        pieces, [this](std::string_view t) { return regex_.FindAll(t); }, behavior_, invert_);
  }

 private:
  Regex regex_;
  Behavior behavior_;
  bool invert_;
};

Result<Behavior> ParseBehavior(const nlohmann::json& spec, const char* what) {
  LITEQ_ASSIGN_OR_RETURN(const std::string b, GetString(spec, "behavior", what));
  if (b == "Removed") return Behavior::kRemoved;
  if (b == "Isolated") return Behavior::kIsolated;
  if (b == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return Behavior::kMergedWithNext;
  if (b == "Contiguous") return Behavior::kContiguous;
  return InvalidArgumentError(std::string(what) + ": unknown behavior '" + b + "'");
}

Result<Regex> CompileOnig(const std::string& pattern, const char* what) {
  auto r = Regex::Compile(TranslateOnigurumaPattern(pattern));
  if (!r.ok()) return r.status().WithContext(what);
  return r;
}

bool IsWhitespaceChar(char32_t cp) { return IsWhitespace(cp); }
bool IsPunctuationChar(char32_t cp) { return IsPunctuation(cp); }
bool IsNumericChar(char32_t cp) { return IsNumeric(cp); }

}  // namespace

Result<std::unique_ptr<PreTokenizer>> MakePreTokenizer(const nlohmann::json& spec) {
  using Ptr = std::unique_ptr<PreTokenizer>;
  if (spec.is_null()) return Ptr();
  LITEQ_ASSIGN_OR_RETURN(const std::string type, GetType(spec, "pre_tokenizer"));
  if (type == "Sequence") {
    if (!spec.contains("pretokenizers") || !spec["pretokenizers"].is_array()) {
      return InvalidArgumentError("pre_tokenizer Sequence: missing array 'pretokenizers'");
    }
    std::vector<Ptr> parts;
    for (const auto& sub : spec["pretokenizers"]) {
      LITEQ_ASSIGN_OR_RETURN(Ptr part, MakePreTokenizer(sub));
      if (part) parts.push_back(std::move(part));
    }
    return Ptr(new SequencePreTokenizer(std::move(parts)));
  }
  if (type == "Split") {
    LITEQ_ASSIGN_OR_RETURN(PatternSpec pattern, GetPattern(spec, "pre_tokenizer Split"));
    LITEQ_ASSIGN_OR_RETURN(Behavior behavior, ParseBehavior(spec, "pre_tokenizer Split"));
    LITEQ_ASSIGN_OR_RETURN(bool invert, GetBool(spec, "invert", false, "pre_tokenizer Split"));
    std::optional<Regex> regex;
    if (pattern.is_regex) {
      LITEQ_ASSIGN_OR_RETURN(Regex r, CompileOnig(pattern.text, "pre_tokenizer Split"));
      regex = std::move(r);
    }
    return Ptr(new SplitPreTokenizer(pattern.text, std::move(regex), behavior, invert));
  }
  if (type == "ByteLevel") {
    LITEQ_ASSIGN_OR_RETURN(bool prefix,
                           GetBool(spec, "add_prefix_space", true, "pre_tokenizer ByteLevel"));
    LITEQ_ASSIGN_OR_RETURN(bool use_regex,
                           GetBool(spec, "use_regex", true, "pre_tokenizer ByteLevel"));
    std::optional<Regex> regex;
    if (use_regex) {
      LITEQ_ASSIGN_OR_RETURN(Regex r, CompileOnig(kGpt2Pattern, "pre_tokenizer ByteLevel"));
      regex = std::move(r);
    }
    return Ptr(new ByteLevelPreTokenizer(prefix, std::move(regex)));
  }
  if (type == "Metaspace") {
    std::string replacement = "\xE2\x96\x81";  // U+2581
    if (spec.contains("replacement")) {
      LITEQ_ASSIGN_OR_RETURN(replacement,
                             GetString(spec, "replacement", "pre_tokenizer Metaspace"));
    }
    PrependScheme scheme = PrependScheme::kAlways;
    if (spec.contains("prepend_scheme") && spec["prepend_scheme"].is_string()) {
      const std::string s = spec["prepend_scheme"].get<std::string>();
      if (s == "first") {
        scheme = PrependScheme::kFirst;
      } else if (s == "never") {
        scheme = PrependScheme::kNever;
      } else if (s != "always") {
        return InvalidArgumentError("pre_tokenizer Metaspace: unknown prepend_scheme '" + s + "'");
      }
    } else {
      // Older files: add_prefix_space (default true) means "always".
      LITEQ_ASSIGN_OR_RETURN(bool add,
                             GetBool(spec, "add_prefix_space", true, "pre_tokenizer Metaspace"));
      scheme = add ? PrependScheme::kAlways : PrependScheme::kNever;
    }
    LITEQ_ASSIGN_OR_RETURN(bool split, GetBool(spec, "split", true, "pre_tokenizer Metaspace"));
    return Ptr(new MetaspacePreTokenizer(std::move(replacement), scheme, split));
  }
  if (type == "Digits") {
    LITEQ_ASSIGN_OR_RETURN(bool individual,
                           GetBool(spec, "individual_digits", false, "pre_tokenizer Digits"));
    return Ptr(new CharClassPreTokenizer(IsNumericChar,
                                         individual ? Behavior::kIsolated : Behavior::kContiguous));
  }
  if (type == "WhitespaceSplit") {
    return Ptr(new CharClassPreTokenizer(IsWhitespaceChar, Behavior::kRemoved));
  }
  if (type == "Punctuation") {
    Behavior behavior = Behavior::kIsolated;
    if (spec.contains("behavior")) {
      LITEQ_ASSIGN_OR_RETURN(behavior, ParseBehavior(spec, "pre_tokenizer Punctuation"));
    }
    return Ptr(new CharClassPreTokenizer(IsPunctuationChar, behavior));
  }
  if (type == "Whitespace") {
    // HF: Regex `\w+|[^\w\s]+`, keeping the matches (invert + Removed).
    LITEQ_ASSIGN_OR_RETURN(Regex r, CompileOnig("\\w+|[^\\w\\s]+", "pre_tokenizer Whitespace"));
    return Ptr(new RegexPreTokenizer(std::move(r), Behavior::kRemoved, true));
  }
  return UnimplementedError("pre_tokenizer type '" + type + "' is not supported");
}

}  // namespace liteq::tokenizer
