// Splits a Jinja template into text and tag tokens, with jinja2's whitespace control as Hugging
// Face's chat templates configure it: trim_blocks (the newline after a block or comment tag is
// dropped), lstrip_blocks (spaces and tabs before a block or comment tag on its own line are
// dropped), `-` in a tag strips all white space on that side, `+` turns lstrip / trim off, the
// template's one final newline is dropped (keep_trailing_newline off), comments vanish and
// {% raw %} blocks come out as text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace sherry::jinja {

enum class TokenKind : uint8_t {
  kText,        // template text between tags
  kPrintBegin,  // {{
  kPrintEnd,    // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,        // identifier or keyword
  kString,      // string literal (text holds the decoded value)
  kInteger,
  kFloat,
  kOperator,  // + - * / // % ** ~ == != < <= > >= = ( ) [ ] { } , . : |
  kEnd,
};

struct Token {
  TokenKind kind;
  std::string text;
  int line = 1;
};

// Errors name `name` and the line: an unclosed tag, comment or string, an unexpected character.
Result<std::vector<Token>> tokenize(std::string_view source, std::string_view name);

}  // namespace sherry::jinja
