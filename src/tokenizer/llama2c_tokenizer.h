// The llama2.c tokenizer (karpathy/llama2.c run.c): tokenizer.bin holds
// int32 max_token_length, then per token {float32 score, int32 length, bytes}. Encoding
// adds a dummy-prefix space, looks up each UTF-8 character (byte fallback id = byte + 3)
// and then repeatedly merges the adjacent pair whose concatenation is in the vocabulary
// with the highest score (ties: leftmost).
#ifndef LITEQ_TOKENIZER_LLAMA2C_TOKENIZER_H_
#define LITEQ_TOKENIZER_LLAMA2C_TOKENIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/bpe_model.h"
#include "tokenizer/tokenizer.h"

namespace liteq::tokenizer {

class Llama2cTokenizer final : public Tokenizer {
 public:
  static Result<std::unique_ptr<Llama2cTokenizer>> FromBytes(const std::string& bytes,
                                                             const std::string& source);

  std::vector<int32_t> Encode(std::string_view text, bool add_special = false) const override;
  // Like run.c's decode: one leading space is dropped after BOS, "<0xNN>" pieces are raw
  // bytes. skip_special drops BOS/EOS pieces.
  std::string Decode(std::span<const int32_t> ids, bool skip_special = false) const override;
  std::string IdToPiece(int32_t id) const override;
  std::optional<int32_t> PieceToId(std::string_view piece) const override;
  bool IsSpecial(int32_t id) const override { return id == kBos || id == kEos; }
  int32_t bos_id() const override { return kBos; }
  int32_t eos_id() const override { return kEos; }
  int32_t vocab_size() const override { return static_cast<int32_t>(pieces_.size()); }
  const std::string& source() const override { return source_; }

  float score(int32_t id) const { return scores_[id]; }

 private:
  static constexpr int32_t kBos = 1;
  static constexpr int32_t kEos = 2;
  static constexpr int32_t kByteOffset = 3;  // ids 3..258 are <0x00>..<0xFF>
  Llama2cTokenizer() = default;

  std::string source_;
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  TokenMap lookup_;  // piece -> lowest id with that piece
};

}  // namespace liteq::tokenizer

#endif  // LITEQ_TOKENIZER_LLAMA2C_TOKENIZER_H_
