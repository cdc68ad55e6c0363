// A Hugging Face tokenizer.json pipeline: added tokens -> normalizer -> pre-tokenizer
// -> BPE model (-> post-processor when asked), and ids -> tokens -> decoder.
#ifndef LITEQ_TOKENIZER_HF_TOKENIZER_H_
#define LITEQ_TOKENIZER_HF_TOKENIZER_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoders.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/tokenizer.h"

namespace liteq::tokenizer {

class HfTokenizer final : public Tokenizer {
 public:
  // Parses tokenizer.json text; `source` names the file in errors and in source().
  // Optional model-directory metadata (tokenizer_config.json, generation_config.json,
  // config.json) next to the file supplies BOS/EOS when the tokenizer itself does not.
  static Result<std::unique_ptr<HfTokenizer>> FromJsonText(const std::string& json_text,
                                                           const std::string& source);

  std::vector<int32_t> Encode(std::string_view text, bool add_special = false) const override;
  std::string Decode(std::span<const int32_t> ids, bool skip_special = false) const override;
  std::string IdToPiece(int32_t id) const override;
  std::optional<int32_t> PieceToId(std::string_view piece) const override;
  bool IsSpecial(int32_t id) const override;
  int32_t bos_id() const override { return bos_id_; }
  int32_t eos_id() const override { return eos_id_; }
  int32_t vocab_size() const override { return vocab_size_; }
  const std::string& source() const override { return source_; }

 private:
  HfTokenizer() = default;
  Status Init(const nlohmann::json& root);
  Status InitPostProcessor(const nlohmann::json& spec);
  void ResolveBosEos();
  void EncodeText(std::string_view text, bool at_input_start, std::vector<int32_t>& out) const;

  std::string source_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<Decoder> decoder_;
  AddedVocabulary added_;
  // Ids the post-processor puts around a single sequence.
  std::vector<int32_t> prefix_ids_, suffix_ids_;
  int32_t bos_id_ = -1, eos_id_ = -1, vocab_size_ = 0;
};

}  // namespace liteq::tokenizer

#endif  // LITEQ_TOKENIZER_HF_TOKENIZER_H_
