#include "tokenizer/decoders.h"

#include <optional>
#include <utility>

#include "tokenizer/byte_level.h"
#include "tokenizer/json_util.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace liteq::tokenizer {
namespace {

constexpr const char* kReplacementChar = "\xEF\xBF\xBD";

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts)
      : parts_(std::move(parts)) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (const auto& p : parts_) p->DecodeChain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

// HF ByteLevel decoder: every token whose characters all belong to the byte alphabet
// becomes those bytes, any other token contributes its UTF-8 bytes unchanged; the whole
// byte string is then read as UTF-8 lossily into a single token.
class ByteLevelDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      std::string mapped;
      bool all_mapped = true;
      size_t pos = 0;
      while (pos < t.size()) {
        const auto b = ByteLevelCharToByte(DecodeUtf8At(t, pos));
        if (!b) {
          all_mapped = false;
          break;
        }
        mapped.push_back(static_cast<char>(*b));
      }
      bytes += all_mapped ? mapped : t;
    }
    tokens.assign(1, ToValidUtf8Lossy(bytes));
  }
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(std::string literal, std::optional<Regex> regex, std::string content)
      : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      std::vector<std::pair<size_t, size_t>> matches;
      if (regex_) {
        matches = regex_->FindAll(t);
      } else if (!literal_.empty()) {
        size_t pos = 0;
        while ((pos = t.find(literal_, pos)) != std::string::npos) {
          matches.emplace_back(pos, pos + literal_.size());
          pos += literal_.size();
        }
      }
      if (matches.empty()) continue;
      std::string out;
      size_t prev = 0;
      for (const auto& [b, e] : matches) {
        out.append(t, prev, b - prev);
        out += content_;
        prev = e;
      }
      out.append(t, prev, std::string::npos);
      t = std::move(out);
    }
  }

 private:
  std::string literal_;
  std::optional<Regex> regex_;
  std::string content_;
};

// HF ByteFallback: runs of "<0xNN>" tokens become their bytes when those form valid
// UTF-8, otherwise one U+FFFD per byte.
class ByteFallbackDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string pending;
    auto flush = [&] {
      if (pending.empty()) return;
      if (IsValidUtf8(pending)) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < pending.size(); ++i) out.emplace_back(kReplacementChar);
      }
      pending.clear();
    };
    for (std::string& t : tokens) {
      const auto byte = ParseByteToken(t);
      if (byte) {
        pending.push_back(static_cast<char>(*byte));
        continue;
      }
      flush();
      out.push_back(std::move(t));
    }
    flush();
    tokens = std::move(out);
  }

  static std::optional<uint8_t> ParseByteToken(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return std::nullopt;
    int value = 0;
    for (int i = 3; i < 5; ++i) {
      const char c = t[i];
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else {
        return std::nullopt;
      }
      value = value * 16 + d;
    }
    return static_cast<uint8_t>(value);
  }
};

class FuseDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>& tokens) const override {
    std::string joined;
    for (const auto& t : tokens) joined += t;
    tokens.assign(1, std::move(joined));
  }
};

// HF Strip: per token, removes up to `start` leading and `stop` trailing characters
// equal to `content`.
class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop)
      : content_(content), start_(start), stop_(stop) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      std::vector<std::pair<size_t, char32_t>> chars;  // (byte offset, code point)
      size_t pos = 0;
      while (pos < t.size()) {
        const size_t at = pos;
        chars.emplace_back(at, DecodeUtf8At(t, pos));
      }
      size_t start_cut = 0;
      for (size_t i = 0; i < chars.size() && i < start_; ++i) {
        if (chars[i].second != content_) break;
        start_cut = i + 1;
      }
      size_t stop_cut = chars.size();
      for (size_t i = 0; i < stop_ && i < chars.size(); ++i) {
        const size_t index = chars.size() - i - 1;
        if (index < start_cut || chars[index].second != content_) break;
        stop_cut = index;
      }
      const size_t b = start_cut < chars.size() ? chars[start_cut].first : t.size();
      const size_t e = stop_cut < chars.size() ? chars[stop_cut].first : t.size();
      t = e > b ? t.substr(b, e - b) : std::string();
    }
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

// HF Metaspace decoder: the replacement character becomes a space, except in the first
// token when a prefix was prepended, where it is dropped.
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first)
      : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  void DecodeChain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      std::string out;
      size_t pos = 0;
      while (pos < t.size()) {
        if (!replacement_.empty() && t.compare(pos, replacement_.size(), replacement_) == 0) {
          if (!(i == 0 && strip_first_)) out.push_back(' ');
          pos += replacement_.size();
        } else {
          out.push_back(t[pos++]);
        }
      }
      t = std::move(out);
    }
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

Result<size_t> GetCount(const nlohmann::json& spec, const char* key) {
  if (!spec.contains(key) || spec[key].is_null()) return size_t{0};
  if (!spec[key].is_number_unsigned()) {
    return InvalidArgumentError(std::string("decoder Strip: '") + key +
                                "' is not a non-negative integer");
  }
  return spec[key].get<size_t>();
}

}  // namespace

Result<std::unique_ptr<Decoder>> MakeDecoder(const nlohmann::json& spec) {
  using Ptr = std::unique_ptr<Decoder>;
  if (spec.is_null()) return Ptr();
  LITEQ_ASSIGN_OR_RETURN(const std::string type, GetType(spec, "decoder"));
  if (type == "Sequence") {
    if (!spec.contains("decoders") || !spec["decoders"].is_array()) {
      return InvalidArgumentError("decoder Sequence: missing array 'decoders'");
    }
    std::vector<Ptr> parts;
    for (const auto& sub : spec["decoders"]) {
      LITEQ_ASSIGN_OR_RETURN(Ptr part, MakeDecoder(sub));
      if (part) parts.push_back(std::move(part));
    }
    return Ptr(new SequenceDecoder(std::move(parts)));
  }
  if (type == "ByteLevel") return Ptr(new ByteLevelDecoder());
  if (type == "ByteFallback") return Ptr(new ByteFallbackDecoder());
  if (type == "Fuse") return Ptr(new FuseDecoder());
  if (type == "Replace") {
    LITEQ_ASSIGN_OR_RETURN(PatternSpec pattern, GetPattern(spec, "decoder Replace"));
    LITEQ_ASSIGN_OR_RETURN(std::string content, GetString(spec, "content", "decoder Replace"));
    std::optional<Regex> regex;
    if (pattern.is_regex) {
      auto r = Regex::Compile(TranslateOnigurumaPattern(pattern.text));
      if (!r.ok()) return r.status().WithContext("decoder Replace");
      regex = std::move(r).value();
    }
    return Ptr(new ReplaceDecoder(pattern.text, std::move(regex), std::move(content)));
  }
  if (type == "Strip") {
    LITEQ_ASSIGN_OR_RETURN(std::string content, GetString(spec, "content", "decoder Strip"));
    size_t pos = 0;
    if (content.empty() || ValidUtf8SequenceLength(content, 0) != content.size()) {
      return InvalidArgumentError("decoder Strip: 'content' must be one character");
    }
    const char32_t c = DecodeUtf8At(content, pos);
    LITEQ_ASSIGN_OR_RETURN(size_t start, GetCount(spec, "start"));
    LITEQ_ASSIGN_OR_RETURN(size_t stop, GetCount(spec, "stop"));
    return Ptr(new StripDecoder(c, start, stop));
  }
  if (type == "Metaspace") {
    std::string replacement = "\xE2\x96\x81";
    if (spec.contains("replacement")) {
      LITEQ_ASSIGN_OR_RETURN(replacement, GetString(spec, "replacement", "decoder Metaspace"));
    }
    bool strip_first = true;
    if (spec.contains("prepend_scheme") && spec["prepend_scheme"].is_string()) {
      strip_first = spec["prepend_scheme"].get<std::string>() != "never";
    } else {
      LITEQ_ASSIGN_OR_RETURN(strip_first,
                             GetBool(spec, "add_prefix_space", true, "decoder Metaspace"));
    }
    return Ptr(new MetaspaceDecoder(std::move(replacement), strip_first));
  }
  return UnimplementedError("decoder type '" + type + "' is not supported");
}

}  // namespace liteq::tokenizer
