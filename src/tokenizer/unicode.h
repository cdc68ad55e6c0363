// UTF-8 helpers shared by the tokenizers: decoding, lossy repair (Rust's
// String::from_utf8_lossy rules, which Hugging Face decoders use), Unicode normal forms
// (utf8proc) and the character classes the Hugging Face code tests with Rust's `char`
// methods.
#ifndef LITEQ_TOKENIZER_UNICODE_H_
#define LITEQ_TOKENIZER_UNICODE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "liteq/status.h"

namespace liteq::tokenizer {

// Length in bytes of the valid UTF-8 sequence starting at s[pos], or 0 if the bytes
// there are not a complete, well-formed sequence.
size_t ValidUtf8SequenceLength(std::string_view s, size_t pos);

// Decodes the code point at s[pos] (which must start a valid sequence) and advances pos.
char32_t DecodeUtf8At(std::string_view s, size_t& pos);

void AppendUtf8(std::string& out, char32_t cp);

bool IsValidUtf8(std::string_view s);

// Replaces every maximal invalid subpart with U+FFFD, exactly like Rust's
// String::from_utf8_lossy (the Unicode "substitution of maximal subparts" practice).
std::string ToValidUtf8Lossy(std::string_view s);

// True if `s` ends with U+FFFD.
bool EndsWithReplacementChar(std::string_view s);

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };
// `s` must be valid UTF-8.
Result<std::string> Normalize(std::string_view s, NormalForm form);
// Unicode lowercase mapping per code point (Rust str::to_lowercase for all but the
// context-sensitive final sigma).
std::string ToLowercase(std::string_view s);

// Rust char::is_whitespace (the White_Space property).
bool IsWhitespace(char32_t cp);
// Rust char::is_numeric (general categories Nd, Nl, No).
bool IsNumeric(char32_t cp);
// Rust regex `\w`: letters, marks, decimal digits, connector punctuation.
bool IsWordChar(char32_t cp);
// Unicode general category P* (Hugging Face's Punctuation pre-tokenizer also counts
// ASCII symbols).
bool IsPunctuation(char32_t cp);

}  // namespace liteq::tokenizer

#endif  // LITEQ_TOKENIZER_UNICODE_H_
