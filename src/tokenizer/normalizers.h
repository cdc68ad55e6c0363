// Hugging Face tokenizers normalizers (tokenizer.json "normalizer"), applied to the text
// between added tokens before pre-tokenization. Offsets are not tracked: liteq only
// needs ids.
#ifndef LITEQ_TOKENIZER_NORMALIZERS_H_
#define LITEQ_TOKENIZER_NORMALIZERS_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "liteq/status.h"

namespace liteq::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // `text` is valid UTF-8 and stays valid UTF-8.
  virtual void Normalize(std::string& text) const = 0;
};

// Builds the normalizer described by `spec` (a JSON object with "type"); null `spec`
// gives nullptr. Supported: Sequence, Prepend, Replace (String or Regex), NFC, NFD,
// NFKC, NFKD, Lowercase, Strip.
Result<std::unique_ptr<Normalizer>> MakeNormalizer(const nlohmann::json& spec);

}  // namespace liteq::tokenizer

#endif  // LITEQ_TOKENIZER_NORMALIZERS_H_
