// jinja2's built-in filters and tests that chat templates use, with their Python semantics
// (jinja2 3.1), and the global functions of Hugging Face's chat template environment. The tojson
// filter is Hugging Face's: json.dumps with ensure_ascii=False, key order kept, optional indent.
#pragma once

#include <ctime>
#include <string_view>

#include "runtime/jinja/value.h"

namespace sherry::jinja {

bool is_filter(std::string_view name);
bool is_test(std::string_view name);

// Filter `name` applied to `operand`; raises RenderError for an unknown name or bad arguments.
Value apply_filter(std::string_view name, const Value& operand, const Arguments& args);
bool apply_test(std::string_view name, const Value& operand, const Arguments& args);

// The global functions: range, namespace, dict, raise_exception (raises RenderError with its
// message) and strftime_now (formats `now` with strftime).
Value make_globals(std::tm now);

}  // namespace sherry::jinja
