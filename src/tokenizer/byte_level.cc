#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/unicode.h"

namespace liteq::tokenizer {
namespace {

struct Alphabet {
  std::array<std::string, 256> byte_to_utf8;
  std::array<int16_t, 324> char_to_byte;  // every alphabet code point is < 256 + 68

  Alphabet() {
    char_to_byte.fill(-1);
    int next_extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
      const char32_t cp = printable ? static_cast<char32_t>(b) : 256 + next_extra++;
      AppendUtf8(byte_to_utf8[b], cp);
      char_to_byte[cp] = static_cast<int16_t>(b);
    }
  }
};

const Alphabet& GetAlphabet() {
  static const Alphabet alphabet;
  return alphabet;
}

}  // namespace

void AppendBytesAsByteLevel(std::string_view bytes, std::string& out) {
  const Alphabet& a = GetAlphabet();
  for (char c : bytes) out += a.byte_to_utf8[static_cast<uint8_t>(c)];
}

std::optional<uint8_t> ByteLevelCharToByte(char32_t cp) {
  const Alphabet& a = GetAlphabet();
  if (cp >= a.char_to_byte.size() || a.char_to_byte[cp] < 0) return std::nullopt;
  return static_cast<uint8_t>(a.char_to_byte[cp]);
}

}  // namespace liteq::tokenizer
