#!/usr/bin/python3
"""The oracle of the chat template tests: renders llama.cpp's test templates with Python's jinja2.

Reads, from llama.cpp's source (fetched from the pinned node-llama-cpp bundle, never committed):
  - tests/test-chat-template.cpp: the test cases' template strings, BOS/EOS and extra messages;
  - models/templates/*.jinja: the model templates llama.cpp tests with.
Renders each with jinja2 in the environment Hugging Face's apply_chat_template uses
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, a tojson that keeps
non-ASCII and key order, raise_exception, strftime_now at a fixed date) and writes one JSON list:
  [{"name", "template", "context": {messages, bos_token, eos_token, add_generation_prompt[, tools]},
    "output": str | null, "error": str | null}]

  render_with_jinja2.py LLAMA_CPP_SRC OUT.json
  render_with_jinja2.py --cases IN.json OUT.json    (IN: [{"name", "template", "context"}])
"""
import datetime
import json
import os
import re
import sys

import jinja2
import jinja2.ext
import jinja2.nodes
import jinja2.sandbox

# The date strftime_now reports (the C++ side is given the same).
FIXED_NOW = datetime.datetime(2024, 7, 26, 12, 0, 0)

# tests/test-chat-template.cpp's conversation for its inline test cases.
CONVERSATION = [
    {"role": "system", "content": "You are a helpful assistant"},
    {"role": "user", "content": "Hello"},
    {"role": "assistant", "content": "Hi there"},
    {"role": "user", "content": "Who are you"},
    {"role": "assistant", "content": "   I am an assistant   "},
    {"role": "user", "content": "Another question"},
]
# Its DEFAULT_JSON and DEFAULT_JSON_WITH_TOOLS, for the .jinja files.
SHORT = [
    {"role": "user", "content": "Hello, how are you?"},
    {"role": "assistant", "content": "I am fine, thank you!"},
]
TOOLS = [{
    "type": "function",
    "function": {
        "name": "test",
        "description": "Test",
        "parameters": {"type": "object", "properties": {"arg": {"type": "string"}}},
        "required": ["arg"],
    },
}]
WITH_TOOL_CALL = SHORT + [
    {"role": "user", "content": "Call a tool!"},
    {"role": "assistant", "tool_calls": [{
        "id": "call00001", "type": "function",
        "function": {"name": "test", "arguments": {"arg": "hello"}}}]},
]


class Generation(jinja2.ext.Extension):
    """Hugging Face's {% generation %} ... {% endgeneration %} (AssistantTracker): the body as is."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return FIXED_NOW.strftime(fmt)

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[Generation, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def c_string(text, start):
    """The C string literal at text[start] == '"': (decoded value, index after it)."""
    assert text[start] == '"', text[start:start + 20]
    out = []
    i = start + 1
    escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}
    while text[i] != '"':
        if text[i] == "\\":
            out.append(escapes[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out), i + 1


def literal_after(text, marker, start, end):
    """The (U8C-wrapped or plain) string literal after `marker` in text[start:end], or None."""
    at = text.find(marker, start, end)
    if at < 0:
        return None
    i = at + len(marker)
    while text[i] in " \t\n":
        i += 1
    if text.startswith("U8C(", i):
        i += 4
    return c_string(text, i)[0]


def inline_cases(source):
    text = open(source, encoding="utf-8").read()
    starts = [m.start() for m in re.finditer(r"/\* \.name= \*/", text)]
    cases = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(text)
        name = literal_after(text, "/* .name= */", start, end)
        template = literal_after(text, "/* .template_str= */", start, end)
        if template is None:
            template = literal_after(text, "/* .template_str */", start, end)
        bos = literal_after(text, "/* .bos_token= */", start, end) or ""
        eos = literal_after(text, "/* .eos_token= */", start, end) or ""
        messages = list(CONVERSATION)
        extra = text.find("/* .extra_conversation= */", start, end)
        if extra >= 0:
            i = extra
            line_end = text.find("\n", extra)
            while True:
                i = text.find('{"', i, line_end)
                if i < 0:
                    break
                role, i = c_string(text, i + 1)
                i = text.find('"', i)
                content, i = c_string(text, i)
                messages.append({"role": role, "content": content})
        cases.append({"name": name, "template": template,
                      "context": {"messages": messages, "bos_token": bos, "eos_token": eos,
                                  "add_generation_prompt": True}})
    return cases


def file_cases(folder):
    cases = []
    for file in sorted(os.listdir(folder)):
        if not file.endswith(".jinja"):
            continue
        template = open(os.path.join(folder, file), encoding="utf-8").read()
        for suffix, context in (
                ("", {"messages": SHORT}),
                (" (system)", {"messages": CONVERSATION}),
                (" (tools)", {"messages": WITH_TOOL_CALL, "tools": TOOLS})):
            context = dict(context, bos_token="<s>", eos_token="</s>", add_generation_prompt=True)
            cases.append({"name": file + suffix, "template": template, "context": context})
    return cases


def main():
    if sys.argv[1] == "--cases":
        cases = json.load(open(sys.argv[2], encoding="utf-8"))
        out_path = sys.argv[3]
    else:
        src, out_path = sys.argv[1], sys.argv[2]
        cases = inline_cases(os.path.join(src, "tests", "test-chat-template.cpp"))
        cases += file_cases(os.path.join(src, "models", "templates"))
    env = environment()
    for case in cases:
        case["output"] = None
        case["error"] = None
        try:
            case["output"] = env.from_string(case["template"]).render(**case["context"])
        except Exception as e:  # the C++ side must fail too
            case["error"] = "%s: %s" % (type(e).__name__, e)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
