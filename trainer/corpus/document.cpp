#include "trainer/corpus/document.h"

namespace sherry::corpus {

uint64_t count_code_points(std::string_view utf8) {
  uint64_t count = 0;
  for (unsigned char c : utf8) count += (c & 0xC0) != 0x80;
  return count;
}

uint64_t Document::characters() const {
  uint64_t count = paragraphs.empty() ? 0 : paragraphs.size() - 1;
  for (const auto& paragraph : paragraphs) count += count_code_points(paragraph);
  return count;
}

std::string normalize_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const bool nbsp =
        c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xA0;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || nbsp) {
      pending_space = true;
      if (nbsp) ++i;
      continue;
    }
    if (c < 0x20 || c == 0x7F) continue;  // other control characters carry no text
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

std::vector<std::string> paragraphs_from_lines(const std::vector<std::string>& lines) {
  std::vector<std::string> paragraphs;
  std::string current;
  auto flush = [&] {
    std::string paragraph = normalize_whitespace(current);
    if (!paragraph.empty()) paragraphs.push_back(std::move(paragraph));
    current.clear();
  };
  for (const auto& line : lines) {
    if (normalize_whitespace(line).empty()) {
      flush();
    } else {
      current += line;
      current += ' ';
    }
  }
  flush();
  return paragraphs;
}

}  // namespace sherry::corpus
