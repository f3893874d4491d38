// Runs a parsed template: statements write text, expressions evaluate to Values with Python's
// semantics (runtime/jinja/operations.h). Scopes follow jinja2: each loop iteration and each
// macro call has its own (a `set` inside does not leak out: namespace() is how templates carry
// state out of loops), `if` has none, macros see the scope they were defined in.
#pragma once

#include <string>

#include "runtime/jinja/ast.h"
#include "runtime/jinja/value.h"

namespace sherry::jinja {

// Renders `body` with `variables` (a dict) over `globals` (a dict, see make_globals). Raises
// RenderError with "line N: " and the message.
std::string interpret(const Body& body, const Value& globals, const Value& variables);

}  // namespace sherry::jinja
