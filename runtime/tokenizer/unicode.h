// The little Unicode the tokenizers need: UTF-8 decoding that never fails (a bad byte becomes a
// code point of its own with no class, so every input byte stays in exactly one piece) and the
// classes of the BPE pre-tokenizer regexes (\p{L}, \p{N}, \p{P}, \p{S}, \p{M}, \s).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sherry::runtime {

enum UnicodeFlag : uint8_t {
  kLetter = 1,       // general category L*
  kNumber = 2,       // general category N*
  kWhitespace = 4,   // White_Space property (what \s matches)
  kPunctuation = 8,  // general category P*
  kSymbol = 16,      // general category S*
  kMark = 32,        // general category M*
};

// Flags of a code point (0 for anything else, including invalid code points).
uint8_t unicode_flags(uint32_t code_point);

// Byte length of the UTF-8 sequence starting at text[offset], 1 for a malformed one.
size_t utf8_sequence_length(std::string_view text, size_t offset);

// Bytes at the end of `text` that start a UTF-8 sequence still missing its last bytes (0 when
// the text ends on a complete sequence, or on bytes no more bytes could complete).
size_t utf8_incomplete_tail(std::string_view text);

// A code point and the bytes it was decoded from.
struct CodePoint {
  uint32_t value;  // kInvalidCodePoint for a malformed byte
  uint32_t offset;
  uint32_t length;
};
inline constexpr uint32_t kInvalidCodePoint = 0xFFFFFFFF;

std::vector<CodePoint> decode_utf8(std::string_view text);
void append_utf8(std::string& out, uint32_t code_point);

}  // namespace sherry::runtime
