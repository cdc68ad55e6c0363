// A compiled PCRE2 regular expression (UTF + UCP, JIT when available) for the patterns
// of tokenizer.json files. Hugging Face compiles them with Oniguruma; the few syntax
// differences that matter for tokenizer patterns are translated (see
// TranslateOnigurumaPattern).
#ifndef LITEQ_TOKENIZER_REGEX_H_
#define LITEQ_TOKENIZER_REGEX_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "liteq/status.h"

namespace liteq::tokenizer {

// Oniguruma's Unicode `\s` also matches U+0085 (NEL), which PCRE2's UCP `\s` does not;
// `\s` / `\S` are rewritten into explicit classes so both engines agree.
std::string TranslateOnigurumaPattern(std::string_view pattern);

class Regex {
 public:
  // `pattern` is used as given (translate it first if it comes from Oniguruma).
  static Result<Regex> Compile(const std::string& pattern);

  // All non-overlapping matches in `subject` (valid UTF-8) as [begin, end) byte
  // offsets, left to right. Empty matches are reported; the search then resumes one
  // character later.
  std::vector<std::pair<size_t, size_t>> FindAll(std::string_view subject) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  Regex(std::shared_ptr<const Code> code, std::string pattern)
      : code_(std::move(code)), pattern_(std::move(pattern)) {}
  std::shared_ptr<const Code> code_;
  std::string pattern_;
};

}  // namespace liteq::tokenizer

#endif  // LITEQ_TOKENIZER_REGEX_H_
