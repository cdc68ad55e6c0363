// Hugging Face tokenizers pre-tokenizers (tokenizer.json "pre_tokenizer"): split the
// normalized text into words that the model tokenizes independently.
#ifndef LITEQ_TOKENIZER_PRE_TOKENIZERS_H_
#define LITEQ_TOKENIZER_PRE_TOKENIZERS_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "liteq/status.h"

namespace liteq::tokenizer {

struct Piece {
  std::string text;
  // True when the piece begins at offset 0 of the encoded input (Metaspace's
  // prepend_scheme "first" only prefixes that piece).
  bool at_input_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces every piece by its sub-pieces; empty pieces are dropped.
  virtual void PreTokenize(std::vector<Piece>& pieces) const = 0;
};

// Builds the pre-tokenizer described by `spec`; null gives nullptr. Supported: Sequence,
// Split (String/Regex pattern, all five behaviours, invert), ByteLevel, Metaspace,
// Digits, Whitespace, WhitespaceSplit, Punctuation.
Result<std::unique_ptr<PreTokenizer>> MakePreTokenizer(const nlohmann::json& spec);

}  // namespace liteq::tokenizer

#endif  // LITEQ_TOKENIZER_PRE_TOKENIZERS_H_
