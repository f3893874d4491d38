#include "runtime/jinja/lexer.h"

#include <algorithm>
#include <cctype>

#include "runtime/tokenizer/unicode.h"

namespace sherry::jinja {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// jinja2 treats \n, \r\n and \r as line breaks, joins lines with \n and (keep_trailing_newline
// off) drops the final empty line.
std::string normalize_newlines(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r') {
      out += '\n';
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
    } else {
      out += raw[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  Lexer(std::string source, std::string_view name) : src_(std::move(source)), name_(name) {}

  Result<std::vector<Token>> run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      const size_t open = find_opener(pos_);
      std::string text =
          src_.substr(pos_, open == std::string::npos ? std::string::npos : open - pos_);
      if (open == std::string::npos) {
        emit_text(std::move(text));
        break;
      }
      const char kind = src_[open + 1];
      const char mod = open + 2 < src_.size() ? src_[open + 2] : '\0';
      strip_before_tag(text, kind, mod, line_starting);
      emit_text(std::move(text));
      advance_to(open);
      pos_ = open + 2 + (mod == '-' || mod == '+' ? 1 : 0);
      std::string consumed;  // what the tag's end matched (for line_starting)
      if (kind == '#') {
        SHERRY_TRY(comment(consumed));
      } else if (kind == '%' && raw_block(consumed)) {
        // emitted as text
      } else {
        SHERRY_TRY(tag(kind, consumed));
      }
      line_starting = !consumed.empty() && consumed.back() == '\n';
    }
    tokens_.push_back({TokenKind::kEnd, "", line_});
    return std::move(tokens_);
  }

 private:
  Error error(const std::string& what) const {
    return make_error("template '{}': line {}: {}", name_, line_, what);
  }

  size_t find_opener(size_t from) const {
    size_t i = src_.find('{', from);
    while (i != std::string::npos && i + 1 < src_.size()) {
      const char c = src_[i + 1];
      if (c == '{' || c == '%' || c == '#') return i;
      i = src_.find('{', i + 1);
    }
    return std::string::npos;
  }

  // Moves pos_ forward to `to`, counting lines.
  void advance_to(size_t to) {
    line_ += static_cast<int>(std::count(src_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                         src_.begin() + static_cast<std::ptrdiff_t>(to), '\n'));
    pos_ = to;
  }

  void emit_text(std::string text) {
    if (!text.empty()) tokens_.push_back({TokenKind::kText, std::move(text), line_});
  }

  // `-` strips all trailing white space; lstrip_blocks strips the spaces before a block or
  // comment tag that is alone on its line so far.
  static void strip_before_tag(std::string& text, char kind, char mod, bool line_starting) {
    if (mod == '-') {
      size_t end = text.size();
      while (end > 0 && is_space(text[end - 1])) --end;
      text.resize(end);
      return;
    }
    if (mod == '+' || kind == '{') return;
    const size_t newline = text.rfind('\n');
    const size_t line_start = newline == std::string::npos ? 0 : newline + 1;
    if (line_start == 0 && !line_starting) return;
    if (line_start == text.size()) return;  // nothing after the newline: \s+ needs one
    for (size_t i = line_start; i < text.size(); ++i) {
      if (!is_space(text[i])) return;
    }
    text.resize(line_start);
  }

  // After a tag's closing marker: `-` eats all white space, otherwise trim_blocks eats one
  // newline after a block or comment tag (unless `+`).
  void after_tag(char kind, char close_mod, std::string& consumed) {
    if (close_mod == '-') {
      size_t end = pos_;
      while (end < src_.size() && is_space(src_[end])) ++end;
      consumed = src_.substr(pos_, end - pos_);
      advance_to(end);
    } else if (close_mod != '+' && kind != '{' && pos_ < src_.size() && src_[pos_] == '\n') {
      consumed = "\n";
      advance_to(pos_ + 1);
    }
  }

  Status comment(std::string& consumed) {
    const size_t close = src_.find("#}", pos_);
    if (close == std::string::npos)
      return error("expected the end of the comment '#}', found none");
    const char close_mod =
        close > pos_ && (src_[close - 1] == '-' || src_[close - 1] == '+') ? src_[close - 1] : '\0';
    advance_to(close + 2);
    consumed = "#}";
    after_tag('#', close_mod, consumed);
    return Status::success();
  }

  // {% raw %}...{% endraw %}: the body as text (whitespace control on both tags as jinja2).
  bool raw_block(std::string& consumed) {
    size_t p = pos_;
    while (p < src_.size() && is_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    while (p < src_.size() && is_space(src_[p])) ++p;
    bool strip_after = false;
    if (src_.compare(p, 3, "-%}") == 0) {
      strip_after = true;
      p += 3;
    } else if (src_.compare(p, 2, "%}") == 0) {
      p += 2;
    } else {
      return false;
    }
    if (strip_after) {
      while (p < src_.size() && is_space(src_[p])) ++p;
    }
    // Find {%[-+]? endraw [-+]?%}.
    size_t search = p;
    while (true) {
      const size_t open = src_.find("{%", search);
      if (open == std::string::npos) {
        tokens_.push_back({TokenKind::kText, src_.substr(p), line_});
        advance_to(src_.size());
        return true;
      }
      size_t q = open + 2;
      const char mod = q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q] : '\0';
      if (mod != '\0') ++q;
      while (q < src_.size() && is_space(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") != 0) {
        search = open + 2;
        continue;
      }
      q += 6;
      while (q < src_.size() && is_space(src_[q])) ++q;
      char close_mod = '\0';
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) close_mod = src_[q++];
      if (src_.compare(q, 2, "%}") != 0) {
        search = open + 2;
        continue;
      }
      std::string body = src_.substr(p, open - p);
      strip_before_tag(body, '%', mod, false);
      emit_text(std::move(body));
      advance_to(q + 2);
      consumed = "%}";
      after_tag('%', close_mod, consumed);
      return true;
    }
  }

  // The tokens inside {{ }} or {% %} up to the closing marker (only at bracket depth 0).
  Status tag(char kind, std::string& consumed) {
    const bool block = kind == '%';
    tokens_.push_back({block ? TokenKind::kBlockBegin : TokenKind::kPrintBegin, "", line_});
    const std::string close = block ? "%}" : "}}";
    std::vector<char> brackets;
    TokenKind previous = TokenKind::kBlockBegin;
    std::string previous_text;
    while (true) {
      while (pos_ < src_.size() && is_space(src_[pos_])) advance_to(pos_ + 1);
      if (pos_ >= src_.size()) {
        return error(
            fmt::format("expected '{}' to close the tag, found the end of the template", close));
      }
      if (brackets.empty()) {
        char close_mod = '\0';
        size_t at = pos_;
        if (src_[at] == '-' || (block && src_[at] == '+')) close_mod = src_[at++];
        if (src_.compare(at, 2, close) == 0) {
          advance_to(at + 2);
          consumed = close;
          tokens_.push_back({block ? TokenKind::kBlockEnd : TokenKind::kPrintEnd, "", line_});
          after_tag(kind, close_mod, consumed);
          return Status::success();
        }
      }
      const char c = src_[pos_];
      const int line = line_;
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t end = pos_;
        while (end < src_.size() &&
               (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_'))
          ++end;
        tokens_.push_back({TokenKind::kName, src_.substr(pos_, end - pos_), line});
        advance_to(end);
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        number(previous == TokenKind::kOperator && previous_text == ".");
      } else if (c == '\'' || c == '"') {
        SHERRY_TRY(string_literal());
      } else {
        SHERRY_TRY(operator_token(brackets));
      }
      previous = tokens_.back().kind;
      previous_text = tokens_.back().text;
    }
  }

  void number(bool after_dot) {
    const int line = line_;
    size_t end = pos_;
    auto digits = [&] {
      while (end < src_.size() &&
             (std::isdigit(static_cast<unsigned char>(src_[end])) || src_[end] == '_'))
        ++end;
    };
    digits();
    bool is_float = false;
    if (!after_dot && end + 1 < src_.size() && src_[end] == '.' &&
        std::isdigit(static_cast<unsigned char>(src_[end + 1]))) {
      ++end;
      digits();
      is_float = true;
    }
    if (!after_dot && end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t e = end + 1;
      if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
      if (e < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e]))) {
        end = e;
        digits();
        is_float = true;
      }
    }
    std::string text = src_.substr(pos_, end - pos_);
    std::erase(text, '_');
    tokens_.push_back({is_float ? TokenKind::kFloat : TokenKind::kInteger, text, line});
    advance_to(end);
  }

  // A quoted string with Python's escapes (as jinja2 decodes them: unicode-escape; an unknown
  // escape keeps its backslash).
  Status string_literal() {
    const char quote = src_[pos_];
    const int line = line_;
    std::string value;
    size_t i = pos_ + 1;
    auto hex = [&](size_t digits, uint32_t& cp) {
      if (i + digits > src_.size()) return false;
      cp = 0;
      for (size_t k = 0; k < digits; ++k) {
        const char h = src_[i + k];
        if (!std::isxdigit(static_cast<unsigned char>(h))) return false;
        cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h))
                                                 ? h - '0'
                                                 : std::tolower(h) - 'a' + 10);
      }
      i += digits;
      return true;
    };
    while (true) {
      if (i >= src_.size()) return error("expected the end of a string literal, found none");
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) return error("expected the end of a string literal, found none");
      const char e = src_[i + 1];
      i += 2;
      uint32_t cp = 0;
      switch (e) {
        case '\\':
          value += '\\';
          break;
        case '\'':
          value += '\'';
          break;
        case '"':
          value += '"';
          break;
        case 'a':
          value += '\a';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'n':
          value += '\n';
          break;
        case 'r':
          value += '\r';
          break;
        case 't':
          value += '\t';
          break;
        case 'v':
          value += '\v';
          break;
        case '\n':
          break;  // line continuation
        case 'x':
          if (!hex(2, cp)) return error("expected two hex digits after \\x in a string literal");
          runtime::append_utf8(value, cp);
          break;
        case 'u':
          if (!hex(4, cp)) return error("expected four hex digits after \\u in a string literal");
          runtime::append_utf8(value, cp);
          break;
        case 'U':
          if (!hex(8, cp)) return error("expected eight hex digits after \\U in a string literal");
          runtime::append_utf8(value, cp);
          break;
        default:
          if (e >= '0' && e <= '7') {
            cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k)
              cp = cp * 8 + static_cast<uint32_t>(src_[i++] - '0');
            runtime::append_utf8(value, cp);
          } else {
            value += '\\';
            value += e;
          }
      }
    }
    tokens_.push_back({TokenKind::kString, std::move(value), line});
    advance_to(i + 1);
    return Status::success();
  }

  Status operator_token(std::vector<char>& brackets) {
    static constexpr std::string_view kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
    static constexpr std::string_view kOne = "+-/*%~<>=()[]{},.:|;";
    std::string op;
    for (const std::string_view two : kTwo) {
      if (src_.compare(pos_, 2, two) == 0) op = two;
    }
    if (op.empty()) {
      if (kOne.find(src_[pos_]) == std::string_view::npos) {
        return error(fmt::format("unexpected character '{}' in a tag", src_[pos_]));
      }
      op = std::string(1, src_[pos_]);
    }
    if (op == "(" || op == "[" || op == "{") {
      brackets.push_back(op == "(" ? ')' : op == "[" ? ']' : '}');
    } else if (op == ")" || op == "]" || op == "}") {
      if (brackets.empty() || brackets.back() != op[0]) {
        return error(fmt::format("unexpected '{}'", op));
      }
      brackets.pop_back();
    }
    tokens_.push_back({TokenKind::kOperator, op, line_});
    advance_to(pos_ + op.size());
    return Status::success();
  }

  std::string src_;
  std::string name_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

Result<std::vector<Token>> tokenize(std::string_view source, std::string_view name) {
  return Lexer(normalize_newlines(source), name).run();
}

}  // namespace sherry::jinja
