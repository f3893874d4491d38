// A Jinja template as Hugging Face's chat templates use them: jinja2's syntax and semantics for the
// subset those templates need (runtime/jinja/parser.h lists the tags, builtins.h the filters and
// tests), rendered in the environment apply_chat_template sets up (trim_blocks, lstrip_blocks,
// loop controls, a sandbox where mutating list and dict methods are unsafe, tojson without ASCII
// escaping, raise_exception, strftime_now). Debian has no C++ Jinja library, hence this one;
// tests/chat checks it against Python's jinja2 on llama.cpp's template collection.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "runtime/jinja/ast.h"
#include "runtime/jinja/value.h"

namespace sherry::jinja {

class Template {
 public:
  // Errors name `name`, the line, what was expected and what was found.
  static Result<Template> parse(std::string_view source, std::string name);

  // `variables`: a dict (messages, add_generation_prompt, bos_token, ...). `now` is what
  // strftime_now formats. Errors: raise_exception's message, an undefined value used, a type
  // error; each names the template and the line.
  Result<std::string> render(const Value& variables, const std::tm& now) const;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::shared_ptr<const Body> body_;
};

}  // namespace sherry::jinja
