#include "runtime/tokenizer/pre_tokenizer.h"

#include "runtime/tokenizer/unicode.h"

namespace sherry::runtime {
namespace {

// The classes the regexes distinguish.
struct Scanner {
  std::vector<CodePoint> cps;
  std::vector<uint8_t> flags;

  explicit Scanner(std::string_view text) : cps(decode_utf8(text)) {
    flags.reserve(cps.size());
    for (const CodePoint& cp : cps) flags.push_back(unicode_flags(cp.value));
  }
  size_t size() const { return cps.size(); }
  uint32_t at(size_t i) const { return cps[i].value; }
  bool letter(size_t i) const { return i < size() && (flags[i] & kLetter); }
  bool number(size_t i) const { return i < size() && (flags[i] & kNumber); }
  bool space(size_t i) const { return i < size() && (flags[i] & kWhitespace); }
  // [^\s\p{L}\p{N}]
  bool other(size_t i) const {
    return i < size() && (flags[i] & (kLetter | kNumber | kWhitespace)) == 0;
  }
  bool newline(size_t i) const { return i < size() && (at(i) == '\r' || at(i) == '\n'); }
};

uint32_t ascii_lower(uint32_t c) {
  return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

// Length of 's 't 're 've 'm 'll 'd at i, 0 if none.
size_t contraction(const Scanner& s, size_t i, bool ignore_case) {
  if (s.at(i) != '\'' || i + 1 >= s.size()) return 0;
  auto c = [&](size_t k) { return ignore_case ? ascii_lower(s.at(k)) : s.at(k); };
  const uint32_t c1 = c(i + 1);
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
  if (i + 2 >= s.size()) return 0;
  const uint32_t c2 = c(i + 2);
  if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
  return 0;
}

// \s+(?!\S) then \s+: a white-space run leaves its last character to the next piece when a
// non-space follows (so " word" keeps its space), unless the run is that single character.
size_t whitespace_run(const Scanner& s, size_t i) {
  size_t end = i;
  while (s.space(end)) ++end;
  if (end < s.size() && end - i >= 2) return end - 1 - i;
  return end - i;
}

// Length of the piece starting at i, llama3 / qwen2 regex.
size_t llama3_piece(const Scanner& s, size_t i, size_t max_digits) {
  if (size_t n = contraction(s, i, /*ignore_case=*/true)) return n;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  size_t j = i;
  if (!s.letter(j) && !s.newline(j) && !s.number(j) && s.letter(j + 1)) ++j;
  if (s.letter(j)) {
    while (s.letter(j)) ++j;
    return j - i;
  }
  // \p{N}{1,max}
  if (s.number(i)) {
    j = i;
    while (s.number(j) && j - i < max_digits) ++j;
    return j - i;
  }
  // ' '?[^\s\p{L}\p{N}]+[\r\n]*
  j = i + (s.at(i) == ' ' ? 1 : 0);
  if (s.other(j)) {
    while (s.other(j)) ++j;
    while (s.newline(j)) ++j;
    return j - i;
  }
  // \s*[\r\n]+ : up to the last line break of the white-space run
  size_t end = i;
  size_t last_newline = 0;
  bool has_newline = false;
  for (; s.space(end); ++end) {
    if (s.newline(end)) {
      last_newline = end;
      has_newline = true;
    }
  }
  if (has_newline) return last_newline + 1 - i;
  return whitespace_run(s, i);
}

// Length of the piece starting at i, gpt-2 regex.
size_t gpt2_piece(const Scanner& s, size_t i) {
  if (size_t n = contraction(s, i, /*ignore_case=*/false)) return n;
  const size_t j = i + (s.at(i) == ' ' ? 1 : 0);
  size_t k = j;
  if (s.letter(k)) {
    while (s.letter(k)) ++k;
    return k - i;
  }
  if (s.number(k)) {
    while (s.number(k)) ++k;
    return k - i;
  }
  if (s.other(k)) {
    while (s.other(k)) ++k;
    return k - i;
  }
  return whitespace_run(s, i);
}

// ---- hunyuan-dense: the three regexes as llama.cpp applies them (unicode_regex_split) ----

// Code point index ranges [begin, end) of the pieces so far.
using Spans = std::vector<std::pair<size_t, size_t>>;

// One regex applied inside every span: `match(i, end)` is the length of the match starting at i
// (0: none); as with llama.cpp's std::regex_iterator, the text between matches becomes a piece.
template <class Match>
Spans split_spans(const Spans& spans, Match match) {
  Spans out;
  for (const auto& [begin, end] : spans) {
    size_t gap = begin;
    for (size_t i = begin; i < end;) {
      const size_t n = match(i, end);
      if (n == 0) {
        ++i;
        continue;
      }
      if (gap < i) out.emplace_back(gap, i);
      out.emplace_back(i, i + n);
      i += n;
      gap = i;
    }
    if (gap < end) out.emplace_back(gap, end);
  }
  return out;
}

bool is_cjk(uint32_t c) {  // [一-龥぀-ゟ゠-ヿ]: U+4E00..U+9FA5, hiragana, katakana
  return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x3040 && c <= 0x309F) ||
         (c >= 0x30A0 && c <= 0x30FF);
}

Spans hunyuan_dense_spans(const Scanner& s) {
  auto has = [&](size_t i, size_t end, uint8_t flag) { return i < end && (s.flags[i] & flag); };
  auto run = [&](size_t i, size_t end, auto in_class) {
    size_t j = i;
    while (j < end && in_class(j)) ++j;
    return j - i;
  };
  // \p{N}{1,3}
  Spans spans = split_spans({{0, s.size()}}, [&](size_t i, size_t end) {
    const size_t n = run(i, end, [&](size_t k) { return has(k, end, kNumber); });
    return n < 3 ? n : 3;
  });
  // [一-龥぀-ゟ゠-ヿ]+
  spans = split_spans(spans, [&](size_t i, size_t end) {
    return run(i, end, [&](size_t k) { return is_cjk(s.at(k)); });
  });
  // The third regex, alternatives tried in order at each position (ECMAScript).
  return split_spans(spans, [&](size_t i, size_t end) -> size_t {
    auto ascii_letter = [&](size_t k) {
      const uint32_t c = k < end ? s.at(k) : 0;
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    };
    auto punct_or_symbol = [&](size_t k) { return has(k, end, kPunctuation | kSymbol); };
    auto letter_or_mark = [&](size_t k) { return has(k, end, kLetter | kMark); };
    auto newline = [&](size_t k) { return k < end && (s.at(k) == '\r' || s.at(k) == '\n'); };
    auto space = [&](size_t k) { return has(k, end, kWhitespace); };
    // [!-/:-@\[-`{-~][A-Za-z]+
    if (s.at(i) < 128 && punct_or_symbol(i) && ascii_letter(i + 1)) {
      return 1 + run(i + 1, end, ascii_letter);
    }
    // [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
    const bool prefix = !newline(i) && !has(i, end, kLetter | kPunctuation | kSymbol);
    if (prefix && letter_or_mark(i + 1)) return 1 + run(i + 1, end, letter_or_mark);
    if (letter_or_mark(i)) return run(i, end, letter_or_mark);
    // ' '?[\p{P}\p{S}]+[\r\n]*
    const size_t j = i + (s.at(i) == ' ' && punct_or_symbol(i + 1) ? 1 : 0);
    if (punct_or_symbol(j)) {
      const size_t k = j + run(j, end, punct_or_symbol);
      return k + run(k, end, newline) - i;
    }
    // \s*[\r\n]+ : up to the last line break of the white-space run
    const size_t blank = run(i, end, space);
    for (size_t k = i + blank; k > i; --k) {
      if (newline(k - 1)) return k - i;
    }
    // \s+(?!\S) then \s+
    if (blank >= 2 && i + blank < end) return blank - 1;
    return blank;
  });
}

}  // namespace

std::optional<PreTokenizer> parse_pre_tokenizer(std::string_view name) {
  if (name == "llama-bpe" || name == "llama3" || name == "llama-v3") return PreTokenizer::kLlama3;
  if (name == "qwen2") return PreTokenizer::kQwen2;
  if (name == "gpt-2" || name == "gpt2") return PreTokenizer::kGpt2;
  // llama.cpp gives deepseek-v3 the same regexes.
  if (name == "hunyuan-dense" || name == "deepseek-v3") return PreTokenizer::kHunyuanDense;
  return std::nullopt;
}

std::vector<std::string_view> pre_tokenize(std::string_view text, PreTokenizer kind) {
  const Scanner s(text);
  std::vector<std::string_view> pieces;
  auto piece = [&](size_t first, size_t last) {  // code points [first, last)
    const size_t begin = s.cps[first].offset;
    const size_t end = last < s.size() ? s.cps[last].offset : text.size();
    pieces.push_back(text.substr(begin, end - begin));
  };
  if (kind == PreTokenizer::kHunyuanDense) {
    for (const auto& [first, last] : hunyuan_dense_spans(s)) piece(first, last);
    return pieces;
  }
  size_t i = 0;
  while (i < s.size()) {
    size_t n = 0;
    switch (kind) {
      case PreTokenizer::kLlama3:
        n = llama3_piece(s, i, 3);
        break;
      case PreTokenizer::kQwen2:
        n = llama3_piece(s, i, 1);
        break;
      case PreTokenizer::kGpt2:
        n = gpt2_piece(s, i);
        break;
      case PreTokenizer::kHunyuanDense:
        break;  // handled above
    }
    if (n == 0) n = 1;  // cannot happen for these regexes (every class is covered); stay safe
    piece(i, i + n);
    i += n;
  }
  return pieces;
}

}  // namespace sherry::runtime
