#include "runtime/jinja/template.h"

#include "runtime/jinja/builtins.h"
#include "runtime/jinja/interpreter.h"
#include "runtime/jinja/lexer.h"
#include "runtime/jinja/parser.h"

namespace sherry::jinja {

Result<Template> Template::parse(std::string_view source, std::string name) {
  auto tokens = tokenize(source, name);
  if (!tokens) return tokens.error();
  auto body = jinja::parse(*tokens, name);
  if (!body) return body.error();
  Template t;
  t.name_ = std::move(name);
  t.body_ = std::make_shared<const Body>(std::move(*body));
  return t;
}

Result<std::string> Template::render(const Value& variables, const std::tm& now) const {
  if (!variables.is_dict()) {
    return make_error("template '{}': expected the variables as a dict, found {}", name_,
                      variables.type_name());
  }
  try {
    return interpret(*body_, make_globals(now), variables);
  } catch (const RenderError& e) {
    return make_error("template '{}': {}", name_, e.what());
  }
}

}  // namespace sherry::jinja
