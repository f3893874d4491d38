// The Jinja engine's edges, each against Python's jinja2 in Hugging Face's chat environment
// (tests/chat/render_with_jinja2.py --cases): whitespace control, literals and how Python prints
// them, operators, string methods, every filter and test the engine has, loops, scopes, macros,
// blocks, generators, Markup and undefined values. Same output byte for byte, or both raise.
// Needs only Debian's python3-jinja2 (no fetched file), so it runs everywhere the suite does.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "jinja2_oracle.h"
#include "runtime/jinja/template.h"

namespace sherry::jinja {
namespace {

namespace fs = std::filesystem;

struct Case {
  const char* template_text;
  const char* context = "{}";
};

const char* const kMessages =
    R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "  Hello!  "}, {"role": "user", "content": "Again"}],
        "bos_token": "<s>", "eos_token": "</s>", "add_generation_prompt": true})";

const std::vector<Case> kCases = {
    // Whitespace control: trim_blocks, lstrip_blocks, -, +, comments, raw, final newline.
    {"a\n  {% if true %}\n  b\n  {% endif %}\nc\n"},
    {"a  {%- if true -%}  b  {%- endif -%}  c"},
    {"a\n  {%+ if true %}b{% endif +%}\nc"},
    {"  {# comment #}\nx\n  {#- c -#}  y"},
    {"{{ 'a' }}\n{{ 'b' }}\n\n"},
    {"line\r\nnext\rlast\r\n"},
    {"{% raw %}{{ not evaluated }}{% endraw %}\n{%- raw -%}  {% x %}  {%- endraw %}!"},
    {"{% for i in [1, 2] %}\n    {{ i }}\n{% endfor %}"},
    {"{{- ' x ' -}}  \n  {{ 'y' }}"},
    // Literals and Python's printing.
    {"{{ [1, 'a', None, True, 1.5, {'k': [2, (3, 4)]}, (5,), ()] }}"},
    {"{{ 1e3 }} {{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1.5e-7 }} {{ 3.0 }} {{ 10 / 4 }} {{ 2 ** 62 }} {{ "
     "-0.0 }}"},
    {"{{ \"it's\" }} {{ ['it\\'s', \"q\\\"\", 'tab\\t', 'nl\\n', 'uni é', '\\x01'] }}"},
    {"{{ '\\u00e9\\U0001F600\\x41\\101\\d' }} {{ 'a' 'b' }}"},
    {"{{ none }}|{{ None }}|{{ true }}|{{ False }}|{{ x }}|{{ {'a': none} }}"},
    // Operators.
    {"{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** -1 "
     "}}"},
    {"{{ 1 + 2 * 3 - 4 / 2 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ +3 }} {{ - 3 "
     "}}"},
    {"{{ 'a' ~ 1 ~ none ~ x ~ [1] }} {{ 'ab' * 2 }} {{ 2 * [1] }} {{ [1] + [2] }} {{ (1,) + (2,) "
     "}}"},
    {"{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ '1' == 1 }} {{ 'b' > 'a' "
     "}}"},
    {"{{ [1, 2] < [1, 3] }} {{ 2 in [1, 2] }} {{ 'b' in 'abc' }} {{ 'k' in {'k': 1} }} {{ 3 not in "
     "[1] }}"},
    {"{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ [] or {} }} {{ none and 1 }} {{ not 0 }} {{ not 'a' }}"},
    {"{{ 'y' if 1 else 'n' }} {{ 'y' if 0 else 'n' }} [{{ 'y' if 0 }}] {{ 1 if 0 else 2 if 1 else "
     "3 }}"},
    {"{{ 'Hello %s, %d%% %.2f %r' % ('you', 5, 1.5, 'q') }} {{ 'x%sy' % 3 }}"},
    {"{{ 1 + 'a' }}"},
    {"{{ 'a' + 1 }}"},
    {"{{ 1 / 0 }}"},
    {"{{ [1] < 'a' }}"},
    // Subscripts, slices, attributes.
    {"{{ 'héllo'[1] }} {{ 'héllo'[-1] }} {{ 'héllo'[1:3] }} {{ 'abcdef'[::-2] }} {{ 'abc'[5:] }}"},
    {"{{ [1, 2, 3, 4][1:] }} {{ [1, 2, 3][:-1] }} {{ [1, 2, 3][::-1] }} {{ [1, 2, 3][-5:9] }}"},
    {"{{ [1][5] }}|{{ {'a': 1}['b'] }}|{{ {'a': {'b': 2}}.a.b }}|{{ [[7]].0.0 }}|{{ {'items': "
     "1}['items'] }}"},
    {"{{ d.items is defined }} {{ d['keys'] is callable }} {{ d.x }}", R"({"d": {"x": 5}})"},
    {"{{ x.y }}"},
    {"{{ none.y }}|{{ (1).y }}|{{ 'a'.y }}"},
    // String methods.
    {"[{{ '  a b  '.strip() }}][{{ 'xxaxx'.strip('x') }}][{{ '  a '.lstrip() }}][{{ ' a  "
     "'.rstrip() }}]"},
    {"{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a b "
     "c'.rsplit(' ', 1) }} {{ ' a b c '.split(None, 1) }}"},
    {"{{ 'abc'.startswith('a') }} {{ 'abc'.startswith(('x', 'ab')) }} {{ 'abc'.endswith('bc') }}"},
    {"{{ 'aaa'.replace('a', 'b', 2) }} {{ 'ab'.replace('', '-') }} {{ 'hello world'.title() }} {{ "
     "'x1y'.title() }}"},
    {"{{ 'hELLO'.capitalize() }} {{ 'Ab'.upper() }} {{ 'Ab'.lower() }} {{ '{} and {}'.format(1, "
     "'b') }} {{ '{1}{0}{x}{{}}'.format('a', 'b', x='c') }}"},
    {"{{ 'abcabc'.find('c') }} {{ 'abc'.find('z') }} {{ 'abcabc'.rfind('b') }} {{ "
     "'aXaXa'.count('a') }} {{ ', '.join(['a', 'b']) }}"},
    {"{{ 'a\\nb\\r\\nc'.splitlines() }} {{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() "
     "}} {{ 'ab'.islower() }} {{ 'AB'.isupper() }}"},
    {"{{ ', '.join([1, 2]) }}"},
    // Filters.
    {"{{ -3|abs }} {{ -2.5|abs }} {{ 'abc'|length }} {{ [1, 2]|count }} {{ {'a': 1}|length }} {{ "
     "x|length }}"},
    {"{{ x|default('d') }} {{ ''|default('d') }} {{ ''|default('d', true) }} {{ none|d('n') }} {{ "
     "0|default(5, boolean=true) }}"},
    {"{{ {'b': 1, 'A': 2, 'c': 0}|dictsort }} {{ {'b': 1, 'a': 2}|dictsort(by='value') }} {{ {'b': "
     "1, 'a': 2}|dictsort(reverse=true) }}"},
    {"{{ '<a href=\"x\">&\\'</a>'|escape }} {{ 'a'|e }} {{ [3, 1]|first }} {{ [3, 1]|last }} {{ "
     "'xy'|first }} {{ []|first }}"},
    {"{{ '3.5'|float }} {{ 'x'|float }} {{ 'x'|float(1.5) }} {{ 2|float }} {{ '42'|int }} {{ "
     "'3.9'|int }} {{ ' 7 '|int }} {{ 'ff'|int(0, 16) }} {{ 3.9|int }} {{ none|int }} {{ "
     "'x'|int(-1) }}"},
    {"{{ '%s-%s'|format(1, 2) }} {{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ "
     "'a\\n\\nb'|indent('> ', blank=true) }}|{{ 'a\\n'|indent(1) }}"},
    {"{{ {'a': 1, 'b': [2]}|items|list }} {{ x|items|list }} {{ [1, 'a']|join('-') }} {{ [{'n': "
     "1}, {'n': 2}]|join(',', attribute='n') }}"},
    {"{{ 'ab'|list }} {{ {'k': 1}|list }} {{ 'aBc'|lower }} {{ 'aBc'|upper }} {{ 'hello-world (x) "
     "[y]'|title }} {{ 'hELLo wORLD'|capitalize }}"},
    {"{{ [{'n': 'a'}, {'n': 'b'}]|map(attribute='n')|list }} {{ ['a', 'b']|map('upper')|list }} {{ "
     "[{'n': 1}, {}]|map(attribute='n', default=0)|list }} {{ [1, 2]|map('string')|join }}"},
    {"{{ [3, 1, 2]|max }} {{ ['b', 'A', 'c']|max }} {{ ['b', 'A']|min }} {{ [{'v': 2}, {'v': "
     "5}]|max(attribute='v') }} {{ []|max }}"},
    {"{{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3]|reject('odd')|list }} {{ [0, 1, '', "
     "'a']|select|list }} {{ [1, 5, 9]|select('gt', 4)|list }}"},
    {"{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='c')|list }} {{ "
     "msgs|rejectattr('role', 'eq', 'user')|list|length }} {{ msgs|selectattr('x')|list }} {{ "
     "msgs|selectattr('x', 'defined')|list }}",
     R"({"msgs": [{"role": "user", "c": 1}, {"role": "bot", "c": 2, "x": true}, {"role": "user", "c": 3}]})"},
    {"{{ 'aaa'|replace('a', 'b') }} {{ 'aaa'|replace('a', 'b', 1) }} {{ 'abc'|reverse }} {{ [1, "
     "2]|reverse|list }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 2.1|round(0, "
     "'ceil') }} {{ 2.9|round(method='floor') }} {{ 7|round }}"},
    {"{{ 'x'|safe }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }} {{ "
     "[3, 1]|sort(reverse=true) }} {{ [{'v': 2}, {'v': 1}]|sort(attribute='v') }}"},
    {"{{ 5|string }}{{ none|string }} {{ [1, 2, 3]|sum }} {{ [{'v': 2}, {'v': "
     "3}]|sum(attribute='v') }} {{ [1]|sum(start=10) }} {{ [0.5, 1]|sum }}"},
    {"[{{ '  a  '|trim }}][{{ 'xax'|trim('x') }}] {{ ['a', 'A', 'b', 'a']|unique|list }} {{ ['a', "
     "'A']|unique(case_sensitive=true)|list }} {{ 'one two, three'|wordcount }}"},
    {"{{ {'a': [1, 'é', none, true, 1.5], 'b': {}}|tojson }} {{ [[], {'k': 'v'}]|tojson(indent=2) "
     "}} {{ 'q\"\\\\\\n'|tojson }} {{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}"},
    {"{{ x|tojson }}"},
    {"{{ [1]|map('string')|tojson }}"},
    {"{{ 1|attr('real') }}|{{ {'a': 1}|attr('a') }}"},
    // Tests.
    {"{{ x is defined }} {{ x is undefined }} {{ none is none }} {{ 1 is none }} {{ true is "
     "boolean }} {{ 1 is boolean }} {{ true is true }} {{ 0 is false }}"},
    {"{{ 1 is integer }} {{ 1.0 is integer }} {{ 1.0 is float }} {{ true is number }} {{ 'a' is "
     "string }} {{ {} is mapping }} {{ [] is mapping }}"},
    {"{{ 'a' is iterable }} {{ 1 is iterable }} {{ x is iterable }} {{ [] is sequence }} {{ 'a' is "
     "sequence }} {{ 1 is sequence }} {{ range is callable }} {{ 'a' is callable }}"},
    {"{{ none is sameas none }} {{ 1 is sameas true }} {{ 2 is eq 2 }} {{ 2 is equalto 3 }} {{ 2 "
     "is ne 3 }} {{ 1 is lt 2 }} {{ 2 is le 2 }} {{ 3 is gt 2 }} {{ 3 is ge 4 }} {{ 3 is "
     "greaterthan 1 }} {{ 1 is lessthan 0 }}"},
    {"{{ 2 is in [1, 2] }} {{ 3 is odd }} {{ 3 is even }} {{ 9 is divisibleby 3 }} {{ 9 is "
     "divisibleby(4) }} {{ 'ab' is lower }} {{ 'AB' is upper }} {{ '1' is lower }} {{ 'upper' is "
     "filter }} {{ 'odd' is test }} {{ 'x' is escaped }}"},
    {"{{ x is not defined and 1 is not none }} {{ not 1 is none }}"},
    {"{{ 'a' is odd }}"},
    // Loops.
    {"{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ "
     "loop.revindex0 }}/{{ loop.length }}/{{ loop.first }}/{{ loop.last }}:{{ m.role }}|{% endfor "
     "%}",
     kMessages},
    {"{% for i in [1, 2, 3] %}{{ loop.previtem|default('-') }}{{ i }}{{ loop.nextitem|default('-') "
     "}}{{ loop.cycle('a', 'b') }} {% endfor %}"},
    {"{% for i in [] %}x{% else %}empty{% endfor %} {% for i in range(5) if i is odd %}{{ i }}{{ "
     "loop.length }}{% endfor %} {% for i in range(5) if i > 9 %}x{% else %}none{% endfor %}"},
    {"{% for i in range(10) %}{% if i == 3 %}{% continue %}{% endif %}{% if i == 6 %}{% break %}{% "
     "endif %}{{ i }}{% endfor %} {{ range(1, 9, 3)|list }} {{ range(3, 0, -1)|list }}"},
    {"{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %} {% for k in {'a': 1, "
     "'b': 2} %}{{ k }}{% endfor %} {% for (a, b) in [[1, 2]] %}{{ a + b }}{% endfor %} {% for c "
     "in 'hé' %}[{{ c }}]{% endfor %}"},
    {"{% for i in [1, 2] %}{% for j in [3, 4] %}{{ loop.index }}{{ i }}{{ j }} {% endfor %}{{ "
     "loop.index }}|{% endfor %}"},
    {"{% for x in undefined_thing %}x{% endfor %}ok {% for x in none %}x{% endfor %}"},
    {"{% for a, b in [[1, 2, 3]] %}{% endfor %}"},
    // Scopes.
    {"{% for i in [1, 2] %}{{ x|default('u') }}{% set x = i %}{% endfor %}{{ x|default('after') "
     "}}"},
    {"{% set x = 5 %}{% for i in [1, 2] %}{{ x }}{% set x = i %}{{ x }}{% endfor %}{{ x }}"},
    {"{% set ns = namespace(n=0, items=[]) %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}{% "
     "endfor %}{{ ns.n }} {{ ns.items }} {{ ns.missing is defined }}"},
    {"{% if true %}{% set y = 1 %}{% endif %}{{ y }} {% set a, b = [1, 2] %}{{ a }}{{ b }} {% set "
     "t = 1, 2 %}{{ t }}"},
    {"{% set x = 1 %}{% set x.y = 2 %}"},
    {"{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }} {% set d = dict(k=1) %}{{ d }}"},
    // Macros.
    {"{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ "
     "greet('Ann') }} {{ greet('Bo', greeting='Hi') }} {{ greet(greeting='Yo', name='Cy') }}"},
    {"{% macro m() %}{{ later }}{% endmacro %}{% set later = 'seen' %}{{ m() }} {% macro n(a) "
     "%}[{{ a }}]{% endmacro %}{{ n() }}{{ n is callable }}"},
    {"{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro "
     "%}{{ fact(5) }}"},
    {"{% macro m(a) %}{% set a = a ~ '!' %}{{ a }}{% endmacro %}{{ m('x') }}{{ a|default('-') }} "
     "{{ m('y')|length }}"},
    {"{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}"},
    {"{% macro m(a) %}{% endmacro %}{{ m(b=1) }}"},
    // Blocks.
    {"{% set block %}  A {{ 1 + 1 }}  {% endset %}[{{ block }}] {% set up | upper | trim %} shout "
     "{% endset %}[{{ up }}]"},
    {"{% filter upper %}abc {{ 'def' }}{% endfilter %} {% filter replace('a', 'o') | title "
     "%}banana bread{% endfilter %}"},
    {"x{% generation %} kept {{ 1 }}{% endgeneration %}y"},
    // Generators, Markup, sandbox, undefined.
    {"{{ [0]|select('odd') is iterable }} {{ ([]|select) is sequence }} {% if []|select %}truthy{% "
     "endif %} {{ [1, 2]|map('string')|length }} {% set g = [1, 2]|select %}{{ g|list }}{{ g|list "
     "}}"},
    {"{{ ([1]|select)[0] }}"},
    {"{{ '<b>'|safe + '<i>' }} {{ '<i>' + '<b>'|safe }} {{ 'a'|safe ~ '<' }} {{ ('<'|safe + "
     "'&')|length }}"},
    {"{{ [].append }}|{{ [].append is defined }}|{{ {}.update is defined }}"},
    {"{{ [].append(1) }}"},
    {"{% set l = [] %}{{ l.pop() }}"},
    {"{{ x }}|{{ x|string }}|{{ x|trim }}|{{ x ~ 'a' }}|{{ x == y }}|{{ x|length }}|{{ x|list "
     "}}|{{ x|default(1) }}|{{ x|items|list }}"},
    {"{{ x + 1 }}"},
    {"{{ x() }}"},
    {"{{ x[0] }}"},
    {"{{ 'a' in x }}|{{ [x]|length }}|{{ x is none }}"},
    {"{{ raise_exception('Custom: ' ~ 1) }}"},
    {"{{ range(1) }}{{ range(200000)|length }}"},
    {"{{ strftime_now('%Y-%m-%d %d %b %Y') }}"},
    {"{% if x is defined %}{{ x|no_such_filter }}{% endif %}ok{{ 'a' if false else "
     "'b'|no_such_filter if false else 'c' }}"},
    {"{{ 'a'|no_such_filter }}"},
    {"{{ 'a' is no_such_test }}"},
    {"{% if false %}{% for i in [1] %}{{ i|no_such_filter }}{% endfor %}{% endif %}"},
    // A whole chat template: Llama 3 style, with a system message pulled out.
    {"{{- bos_token }}{%- if messages[0]['role'] == 'system' %}{%- set system = "
     "messages[0]['content']|trim %}{%- set messages = messages[1:] %}{%- else %}{%- set system = "
     "'' %}{%- endif %}\n"
     "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' + system + '<|eot_id|>' }}\n"
     "{%- for message in messages %}\n"
     "    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
     "message['content'] | trim + '<|eot_id|>' }}\n"
     "{%- endfor %}\n"
     "{%- if add_generation_prompt %}\n"
     "    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n"
     "{%- endif %}\n",
     kMessages},
};

TEST_CASE("jinja edge cases render as python's jinja2 does") {
  nlohmann::ordered_json cases = nlohmann::ordered_json::array();
  for (size_t i = 0; i < kCases.size(); ++i) {
    cases.push_back({{"name", "case " + std::to_string(i)},
                     {"template", kCases[i].template_text},
                     {"context", nlohmann::ordered_json::parse(kCases[i].context)}});
  }
  const fs::path in =
      fs::temp_directory_path() / ("sherry_jinja_edges_" + std::to_string(getpid()) + ".json");
  std::ofstream(in) << cases.dump();
  const auto expected = testing::run_jinja2("--cases \"" + in.string() + "\"");
  fs::remove(in);
  REQUIRE(expected.size() == kCases.size());
  int raised = 0;
  for (size_t i = 0; i < kCases.size(); ++i) {
    const auto& e = expected[i];
    INFO("case ", i, ": ", std::string(kCases[i].template_text));
    auto parsed = Template::parse(kCases[i].template_text, "case " + std::to_string(i));
    Result<std::string> output =
        parsed ? parsed->render(Value::from_json(e["context"]), testing::oracle_now())
               : Result<std::string>(parsed.error());
    if (e["output"].is_string()) {
      const std::string want = e["output"];
      CHECK_MESSAGE(output.ok(), (output.ok() ? "" : output.error().message()));
      if (output.ok()) CHECK(*output == want);
    } else {
      ++raised;
      INFO("jinja2 raised: ", e["error"].get<std::string>());
      CHECK_MESSAGE(!output.ok(), "the engine rendered: " << (output.ok() ? *output : ""));
    }
  }
  MESSAGE(kCases.size() << " cases, " << raised << " of them raise in jinja2");
}

}  // namespace
}  // namespace sherry::jinja
