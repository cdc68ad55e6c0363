// GPT-2's reversible byte <-> Unicode alphabet (bytes_to_unicode in openai/gpt-2
// encoder.py, reused by Hugging Face's ByteLevel pre-tokenizer and decoder): printable
// bytes 33..126, 161..172 and 174..255 map to the code point of the same value; the
// other 68 bytes map, in increasing order, to U+0100, U+0101, ...
#ifndef LITEQ_TOKENIZER_BYTE_LEVEL_H_
#define LITEQ_TOKENIZER_BYTE_LEVEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace liteq::tokenizer {

// Appends the alphabet character of every byte of `bytes`.
void AppendBytesAsByteLevel(std::string_view bytes, std::string& out);

// The byte a code point stands for, if it belongs to the alphabet.
std::optional<uint8_t> ByteLevelCharToByte(char32_t cp);

}  // namespace liteq::tokenizer

#endif  // LITEQ_TOKENIZER_BYTE_LEVEL_H_
