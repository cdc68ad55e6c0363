// liteq's tokenizer interface: Hugging Face tokenizer.json files (BPE with byte fallback
// or byte-level BPE) and llama2.c tokenizer.bin files, with ids identical to the
// reference implementations (Hugging Face tokenizers, llama2.c run.c).
#ifndef LITEQ_TOKENIZER_TOKENIZER_H_
#define LITEQ_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "liteq/status.h"

namespace liteq::tokenizer {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Loads a tokenizer.json, a gzipped tokenizer.json(.gz), a llama2.c tokenizer .bin,
  // or a directory holding tokenizer.json, tokenizer.json.gz, tokenizer.bin or
  // tok512.bin (in that order of preference).
  static Result<std::unique_ptr<Tokenizer>> Load(const std::string& path);

  // Token ids of `text`. Without `add_special` no BOS/EOS is added (Hugging Face
  // `encode(text, add_special_tokens=False)`); with it, the tokenizer's post-processor
  // adds them (HF TemplateProcessing; llama2.c: BOS only, as run.c's generate does).
  // Special tokens written in the text (e.g. "<s>") are recognised either way.
  virtual std::vector<int32_t> Encode(std::string_view text, bool add_special = false) const = 0;

  // Text of `ids` (Hugging Face `decode`; default skip_special_tokens=False). Ids
  // unknown to the vocabulary are skipped. Invalid UTF-8 becomes U+FFFD.
  virtual std::string Decode(std::span<const int32_t> ids, bool skip_special = false) const = 0;

  // The vocabulary string of `id` ("▁the", "Ġthe", "<0x0A>"), or "" if there is none.
  virtual std::string IdToPiece(int32_t id) const = 0;
  virtual std::optional<int32_t> PieceToId(std::string_view piece) const = 0;
  // Whether `id` is a special token (skipped by Decode(..., skip_special=true)).
  virtual bool IsSpecial(int32_t id) const = 0;

  // -1 when the tokenizer has no such token.
  virtual int32_t bos_id() const = 0;
  virtual int32_t eos_id() const = 0;
  // One past the largest id.
  virtual int32_t vocab_size() const = 0;
  // The file the tokenizer came from.
  virtual const std::string& source() const = 0;
};

// Incremental detokenization for streaming generation: Push returns the text that the
// new id completes. Text is held back while it ends in an incomplete UTF-8 sequence
// (byte-fallback tokens of one character arrive one at a time), and each step decodes
// with the previously printed tokens as context so that leading-space rules (Strip,
// Metaspace, llama2.c's space after BOS) give the same text as decoding everything at
// once (the scheme of Hugging Face's DecodeStream).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = true)
      : tokenizer_(tokenizer), skip_special_(skip_special) {}
  std::string Push(int32_t id);
  // Returns what is still held back (an incomplete sequence renders as U+FFFD).
  std::string Flush();
  void Reset();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::vector<int32_t> window_;  // context tokens + not yet printed tokens
  size_t context_len_ = 0;       // leading tokens of window_ that were printed
  std::string printed_;          // decoding of the context tokens
};

}  // namespace liteq::tokenizer

#endif  // LITEQ_TOKENIZER_TOKENIZER_H_
