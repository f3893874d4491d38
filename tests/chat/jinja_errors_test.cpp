// Every error the Jinja engine reports, fed the input that causes it: the message names the
// template and the line, what was expected and what was found.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "runtime/jinja/template.h"

namespace sherry::jinja {
namespace {

std::string parse_error(const std::string& source) {
  auto t = Template::parse(source, "bad.jinja");
  REQUIRE_FALSE(t.ok());
  return t.error().message();
}

std::string render_error(const std::string& source, const std::string& context_json = "{}") {
  auto t = Template::parse(source, "bad.jinja");
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().message()));
  auto out = t->render(Value::from_json(nlohmann::ordered_json::parse(context_json)), std::tm{});
  REQUIRE_FALSE(out.ok());
  return out.error().message();
}

void check_has(const std::string& message, const std::string& part) {
  INFO("message: ", message);
  CHECK(message.find(part) != std::string::npos);
}

TEST_CASE("jinja lexer errors name the template the line and what is missing") {
  check_has(parse_error("a\n{# never closed"),
            "template 'bad.jinja': line 2: expected the end of the comment '#}', found none");
  check_has(parse_error("{{ 'a' "),
            "line 1: expected '}}' to close the tag, found the end of the template");
  check_has(parse_error("x\n\n{% if 'abc %}"),
            "line 3: expected the end of a string literal, found none");
  check_has(parse_error("{{ a $ b }}"), "line 1: unexpected character '$' in a tag");
  check_has(parse_error("{{ (a] }}"), "line 1: unexpected ']'");
  check_has(parse_error("{{ '\\x4' }}"), "expected two hex digits after \\x in a string literal");
  check_has(parse_error("{{ '\\u12' }}"), "expected four hex digits after \\u in a string literal");
  check_has(parse_error("{{ '\\U0001' }}"),
            "expected eight hex digits after \\U in a string literal");
}

TEST_CASE("jinja parser errors name the template the line the expectation and the token found") {
  check_has(parse_error("{% if x %}open"),
            "template 'bad.jinja': line 1: expected 'elif' or 'else' or 'endif', found the end of "
            "the template");
  check_has(parse_error("{% for x in y %}\n{% endif %}"),
            "line 2: expected a supported tag (if, for, set, macro, filter, break, continue, "
            "generation), found 'endif'");
  check_has(parse_error("\n{% include 'x.jinja' %}"), "line 2: expected a supported tag");
  check_has(parse_error("{{ }}"), "line 1: expected an expression, found '}}'");
  check_has(parse_error("{{ a + }}"), "expected an expression, found '}}'");
  check_has(parse_error("{% for x y %}{% endfor %}"), "expected 'in', found 'y'");
  check_has(parse_error("{% for x in y recursive %}{% endfor %}"),
            "recursive loops are not supported");
  check_has(parse_error("{% set x %}"), "expected 'endset', found the end of the template");
  check_has(parse_error("{% set a, b %}{% endset %}"), "expected '=', found '%}'");
  check_has(parse_error("{% macro m(a b) %}{% endmacro %}"), "expected ')', found 'b'");
  check_has(parse_error("{% macro m(a %}{% endmacro %}"),
            "unexpected '}'");  // as jinja2: '(' is open
  check_has(parse_error("{{ f(*args) }}"), "*args and **kwargs are not supported");
  check_has(parse_error("{{ f(a=1, 2) }}"), "expected a keyword argument after keyword arguments");
  check_has(parse_error("{{ a[] }}"), "expected an index inside '[]', found none");
  check_has(parse_error("{{ a[1 2] }}"), "expected ':' or ']', found the number 2");
  check_has(parse_error("{{ x is defined is none }}"), "tests cannot be chained with 'is'");
  check_has(parse_error("{{ 99999999999999999999 }}"),
            "integer literal 99999999999999999999 is out of the 64-bit range");
  check_has(parse_error("{{ 'a' | }}"), "expected a filter name, found '}}'");
  check_has(parse_error("{% %}"), "expected a tag name, found '%}'");
  // jinja2 rejects unknown filters and tests at compile time outside if blocks and conditional
  // expressions.
  check_has(parse_error("\n{{ x|nope }}"), "template 'bad.jinja': line 2: no filter named 'nope'");
  check_has(parse_error("{{ x is nope }}"), "line 1: no test named 'nope'");
  check_has(parse_error("{% if a %}{% for i in b %}{{ i|nope }}{% endfor %}{% endif %}"),
            "no filter named 'nope'");
}

TEST_CASE("jinja render errors name the template and the line") {
  check_has(render_error("a\n{{ raise_exception('Roles must alternate') }}"),
            "template 'bad.jinja': line 2: Roles must alternate");
  check_has(render_error("{{ x.y }}"), "line 1: 'x' is undefined");
  check_has(render_error("{{ m.c.d }}", R"({"m": {}})"), "'dict object' has no attribute 'c'");
  check_has(render_error("{{ 1 + 'a' }}"), "unsupported operand type(s) for +: 'int' and 'str'");
  check_has(render_error("{{ 'a' + 1 }}"), "can only concatenate str (not \"int\") to str");
  check_has(render_error("{{ 1 // 0 }}"), "integer division or modulo by zero");
  check_has(render_error("{{ 1 / 0 }}"), "division by zero");
  check_has(render_error("{{ [] < 'a' }}"),
            "'<' not supported between instances of 'list' and 'str'");
  check_has(render_error("{% for i in 5 %}{% endfor %}"), "'int' object is not iterable");
  check_has(render_error("{{ 1 in 5 }}"), "argument of type 'int' is not iterable");
  check_has(render_error("{{ 1 in 'a' }}"),
            "'in <string>' requires string as left operand, not int");
  check_has(render_error("{% set x = 1 %}{% set x.a = 2 %}"),
            "cannot assign attribute on non-namespace object");
  check_has(render_error("{% set a, b = [1] %}"),
            "not enough values to unpack (expected 2, got 1)");
  check_has(render_error("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}"),
            "macro 'm' takes not more than 1 argument(s)");
  check_has(render_error("{% macro m(a) %}{% endmacro %}{{ m(b=2) }}"),
            "macro 'm' takes no keyword argument 'b'");
  check_has(render_error("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}"),
            "maximum recursion depth exceeded in macro calls");
  check_has(render_error("{{ [].append(1) }}"),
            "access to attribute 'append' of 'list' object is unsafe.");
  check_has(render_error("{{ {}.update({}) }}"),
            "access to attribute 'update' of 'dict' object is unsafe.");
  check_has(render_error("{{ 3() }}"), "'int' object is not callable");
  check_has(render_error("{{ range(200000)|list }}"), "Range too big");
  check_has(render_error("{{ range() }}"), "range expected 1 to 3 arguments, got 0");
  check_has(render_error("{{ range('a') }}"), "'str' object cannot be interpreted as an integer");
  check_has(render_error("{{ range(1, 2, 0) }}"), "range() arg 3 must not be zero");
  check_has(render_error("{{ x|tojson }}"), "Object of type Undefined is not JSON serializable");
  check_has(render_error("{{ [1]|select|tojson }}"),
            "Object of type generator is not JSON serializable");
  check_has(render_error("{{ [1]|select|length }}"), "object of type 'generator' has no len()");
  check_has(render_error("{{ 5|length }}"), "object of type 'int' has no len()");
  check_has(render_error("{% if true %}{{ 1|nope }}{% endif %}"), "No filter named 'nope'.");
  check_has(render_error("{% if true %}{{ 1 is nope }}{% endif %}"), "No test named 'nope'.");
  check_has(render_error("{{ [1]|map('nope')|list }}"), "No filter named 'nope'.");
  check_has(render_error("{{ [1]|select('nope')|list }}"), "No test named 'nope'.");
  check_has(render_error("{{ [1]|map|list }}"), "map requires a filter argument");
  check_has(render_error("{{ 'a'.split('') }}"), "empty separator");
  check_has(render_error("{{ 'a'.index('b') }}"), "substring not found");
  check_has(render_error("{{ [1].index(2) }}"), "2 is not in list");
  check_has(render_error("{{ '{'.format() }}"), "Single '{' encountered in format string");
  check_has(render_error("{{ '}'.format() }}"), "Single '}' encountered in format string");
  check_has(render_error("{{ '{}'.format() }}"), "Replacement index 0 out of range");
  check_has(render_error("{{ '{k}'.format() }}"), "'k'");
  check_has(render_error("{{ '%d' % 'a' }}"), "%d format: a real number is required, not str");
  check_has(render_error("{{ '%s %s' % 1 }}"), "not enough arguments for format string");
  check_has(render_error("{{ '%s' % (1, 2) }}"),
            "not all arguments converted during string formatting");
  check_has(render_error("{{ '%q' % 1 }}"), "unsupported format character 'q'");
  check_has(render_error("{{ 'a'.startswith(1) }}"), "startswith() argument must be str, not int");
  check_has(render_error("{{ 'abc'[::0] }}"), "slice step cannot be zero");
  check_has(render_error("{{ 5[1:] }}"), "'int' object is not subscriptable");
  check_has(render_error("{{ 'a' ~ -'b' }}"), "unsupported operand type(s) for -: 'int' and 'str'");
  check_has(render_error("{{ loop.cycle() }}{% for i in [1] %}{{ loop.cycle() }}{% endfor %}"),
            "'loop' is undefined");
  check_has(render_error("{% for i in [1] %}{{ loop.cycle() }}{% endfor %}"),
            "no items for cycling given");
  check_has(render_error("{{ {1: 2}|dictsort(by='x') }}"),
            "You can only sort by either \"key\" or \"value\"");
  check_has(render_error("{{ 5|items }}"), "Can only get item pairs from a mapping.");
  check_has(render_error("{{ 'a'|abs }}"), "bad operand type for abs(): 'str'");
  check_has(render_error("{{ 'a'|round }}"), "type str doesn't define __round__ method");
  check_has(render_error("{{ 1.5|round(1, 'up') }}"), "method must be 'common', 'ceil' or 'floor'");
  check_has(render_error("{{ {'a': 1}|last }}"), "'dict' object is not reversible");
  check_has(render_error("{{ namespace(5) }}"), "'int' object is not a mapping");
  check_has(render_error("{{ 1|tojson(sort_keys=true) }}{{ {none: 1, (1,): 2}|tojson }}"),
            "keys must be str, int, float, bool or None, not tuple");
}

TEST_CASE("rendering asks for the variables as a dict") {
  auto t = Template::parse("x", "t.jinja");
  REQUIRE(t.ok());
  auto out = t->render(Value::list(), std::tm{});
  REQUIRE_FALSE(out.ok());
  check_has(out.error().message(),
            "template 't.jinja': expected the variables as a dict, found list");
}

}  // namespace
}  // namespace sherry::jinja
