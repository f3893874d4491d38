// Python's object model as jinja2's ImmutableSandboxedEnvironment exposes it to templates:
// attribute and item access (methods first for attributes, items first for subscripts; a
// missing one is undefined), the str / list / dict methods templates call (the mutating ones are
// unsafe there and raise when used), slicing, the arithmetic and comparison operators, `in`,
// iteration and calls. Every failure raises RenderError with Python's wording.
#pragma once

#include <string>
#include <vector>

#include "runtime/jinja/ast.h"
#include "runtime/jinja/value.h"

namespace sherry::jinja {

// With item_fallback off, a dict's keys are not attributes (the attr filter).
Value get_attribute(const Value& object, const std::string& name, bool item_fallback = true);
Value get_item(const Value& object, const Value& key);
// object[start:stop:step]; undefined parts are omitted ones.
Value get_slice(const Value& object, const Value& start, const Value& stop, const Value& step);

// + - * / // % ** ~ (and/or are evaluated lazily by the interpreter).
Value binary(BinaryOp op, const Value& a, const Value& b);
bool compare(CompareOp op, const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);
// What `for` walks: list items, dict keys, a string's characters, nothing for undefined.
std::vector<Value> iterate(const Value& v);
Value call(const Value& callee, Arguments& args);

// Python's str.strip / lstrip / rstrip: white space, or the characters of `chars`.
std::string strip(const std::string& s, const Value& chars, bool left, bool right);
// Python's str.title (every letter after a non-letter upper-cased).
std::string python_title(const std::string& s);
std::string ascii_lower(std::string s);
std::string ascii_upper(std::string s);

}  // namespace sherry::jinja
