// Hugging Face tokenizers decoders (tokenizer.json "decoder"): turn the token strings of
// an id sequence back into text. Each decoder maps a list of strings to a list of
// strings (decode_chain); the final text is their concatenation.
#ifndef LITEQ_TOKENIZER_DECODERS_H_
#define LITEQ_TOKENIZER_DECODERS_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "liteq/status.h"

namespace liteq::tokenizer {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void DecodeChain(std::vector<std::string>& tokens) const = 0;
};

// Builds the decoder described by `spec`; null gives nullptr. Supported: Sequence,
// ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace.
Result<std::unique_ptr<Decoder>> MakeDecoder(const nlohmann::json& spec);

}  // namespace liteq::tokenizer

#endif  // LITEQ_TOKENIZER_DECODERS_H_
