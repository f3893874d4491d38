// Tokens → statements, with jinja2's grammar and operator precedence (condexpr < or < and < not <
// comparisons < + - < ~ < * / // % < ** < unary < postfix, filters and tests). Supported tags:
// if/elif/else, for (with a filter condition and else), set (names, tuples, namespace
// attributes, blocks), macro, filter blocks, break/continue, and Hugging Face's
// {% generation %} (its body, rendered as is). Unknown filters and tests are errors here, as in
// jinja2; so are the tags left out (call, include, import, extends, block, recursive loops).
#pragma once

#include <string_view>
#include <vector>

#include "core/error.h"
#include "runtime/jinja/ast.h"
#include "runtime/jinja/lexer.h"

namespace sherry::jinja {

// Errors name `name` and the line, what was expected and the token found.
Result<Body> parse(const std::vector<Token>& tokens, std::string_view name);

}  // namespace sherry::jinja
