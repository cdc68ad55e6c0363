// Added tokens of a tokenizer.json ("added_tokens"): matched in the text before the
// model runs, as Hugging Face's AddedVocabulary does (tokenizers/src/tokenizer/
// added_vocabulary.rs): tokens with normalized=false are found in the raw input, those
// with normalized=true in the normalized text of the pieces in between. Matching is
// leftmost-longest; lstrip/rstrip swallow adjacent whitespace; single_word tokens only
// match between word boundaries.
#ifndef LITEQ_TOKENIZER_ADDED_VOCABULARY_H_
#define LITEQ_TOKENIZER_ADDED_VOCABULARY_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "liteq/status.h"
#include "tokenizer/normalizers.h"

namespace liteq::tokenizer {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool normalized = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

// A stretch of input: either an added token (token_id >= 0) or text for the model.
struct Segment {
  int32_t token_id = -1;
  size_t begin = 0, end = 0;  // byte range in the string that was split
};

class AddedVocabulary {
 public:
  // Parses "added_tokens"; `normalizer` (may be null) gives the matching form of
  // normalized tokens.
  Status Init(const nlohmann::json& added_tokens, const Normalizer* normalizer);

  // Splits `text` on the raw (normalized == false) or the normalized tokens.
  std::vector<Segment> Split(std::string_view text, bool normalized_tokens) const;

  const AddedToken* FindById(int32_t id) const;
  const AddedToken* FindByContent(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  int32_t id_limit() const { return id_limit_; }

 private:
  struct Matcher {
    // Patterns by first byte, longest first, so the first hit is the longest match.
    std::vector<std::vector<std::pair<std::string, size_t>>> by_first_byte =
        std::vector<std::vector<std::pair<std::string, size_t>>>(256);
    bool empty = true;
  };
  void AddPattern(Matcher& m, std::string pattern, size_t token_index);

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  Matcher raw_, normalized_;
  int32_t id_limit_ = 0;
};

}  // namespace liteq::tokenizer

#endif  // LITEQ_TOKENIZER_ADDED_VOCABULARY_H_
