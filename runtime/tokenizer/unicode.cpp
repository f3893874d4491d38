#include "runtime/tokenizer/unicode.h"

#include <algorithm>
#include <iterator>

namespace sherry::runtime {
namespace {

struct FlagRange {
  uint32_t first;
  uint32_t last;
  uint8_t flags;
};

constexpr FlagRange kFlagRanges[] = {
#include "runtime/tokenizer/unicode_flags_table.inc"
};

// The length a lead byte announces: 2..4, or 1 for ASCII and bytes that cannot lead a sequence.
size_t utf8_lead_length(uint8_t lead) {
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

}  // namespace

uint8_t unicode_flags(uint32_t code_point) {
  // Ranges are sorted and disjoint: find the last range starting at or before code_point.
  const auto* end = std::end(kFlagRanges);
  const auto* it = std::upper_bound(std::begin(kFlagRanges), end, code_point,
                                    [](uint32_t cp, const FlagRange& r) { return cp < r.first; });
  if (it == std::begin(kFlagRanges)) return 0;
  --it;
  return code_point <= it->last ? it->flags : 0;
}

size_t utf8_sequence_length(std::string_view text, size_t offset) {
  const size_t length = utf8_lead_length(static_cast<uint8_t>(text[offset]));
  if (length == 1) return 1;
  if (offset + length > text.size()) return 1;
  for (size_t i = 1; i < length; ++i) {
    if ((static_cast<uint8_t>(text[offset + i]) & 0xC0) != 0x80) return 1;
  }
  return length;
}

size_t utf8_incomplete_tail(std::string_view text) {
  for (size_t back = 1; back <= std::min<size_t>(3, text.size()); ++back) {
    const auto byte = static_cast<uint8_t>(text[text.size() - back]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation byte: look for its lead
    return utf8_lead_length(byte) > back ? back : 0;
  }
  return 0;
}

std::vector<CodePoint> decode_utf8(std::string_view text) {
  std::vector<CodePoint> out;
  out.reserve(text.size());
  size_t offset = 0;
  while (offset < text.size()) {
    const size_t length = utf8_sequence_length(text, offset);
    const auto lead = static_cast<uint8_t>(text[offset]);
    uint32_t value = 0;
    if (length == 1) {
      value = lead < 0x80 ? lead : kInvalidCodePoint;
    } else {
      value = lead & (0x7F >> length);
      for (size_t i = 1; i < length; ++i) value = (value << 6) | (text[offset + i] & 0x3F);
    }
    out.push_back({value, static_cast<uint32_t>(offset), static_cast<uint32_t>(length)});
    offset += length;
  }
  return out;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace sherry::runtime
