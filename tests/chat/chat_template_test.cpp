// The chat layer over the Jinja engine: ChatML as the default, the text that ends an assistant
// turn found in each family's template, the template's own errors, and stop-text matching while
// streaming.
#include <doctest/doctest.h>

#include "runtime/chat_template.h"

namespace sherry::runtime {
namespace {

// Templates of tests/test-chat-template.cpp (llama.cpp), one per family.
constexpr const char* kLlama3 =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim "
    "+ '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif "
    "%}{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}";
constexpr const char* kGemma =
    "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % "
    "2 == 0) %}{{ raise_exception('Conversation roles must alternate "
    "user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}"
    "{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ "
    "'<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% "
    "endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";
constexpr const char* kMistral =
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
    "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
    "user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] "
    "' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ "
    "message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles "
    "are supported!') }}{% endif %}{% endfor %}";
constexpr const char* kPhi3 =
    "{{ bos_token }}{% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + "
    "message['content'] + '<|end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

ChatTemplate make(const char* source) {
  auto t = ChatTemplate::create(source, "test", "<s>", "</s>");
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().message()));
  return std::move(*t);
}

TEST_CASE("an empty template source is chatml") {
  const ChatTemplate chatml = make("");
  CHECK(chatml.is_chatml_default());
  CHECK(chatml.name() == "test (ChatML default)");
  auto prompt =
      chatml.apply({{"system", "S"}, {"user", "U"}, {"assistant", "A"}, {"user", "V"}}, true);
  REQUIRE(prompt.ok());
  CHECK(*prompt ==
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
        "A<|im_end|>\n<|im_start|>user\nV<|im_end|>\n<|im_start|>assistant\n");
  auto no_prompt = chatml.apply({{"user", "U"}}, false);
  REQUIRE(no_prompt.ok());
  CHECK(*no_prompt == "<|im_start|>user\nU<|im_end|>\n");
  CHECK(chatml.stop_strings() == std::vector<std::string>{"<|im_end|>"});
}

TEST_CASE("the end of an assistant turn is found in each family's template") {
  CHECK(make(kLlama3).stop_strings() == std::vector<std::string>{"<|eot_id|>"});
  CHECK(make(kGemma).stop_strings() == std::vector<std::string>{"<end_of_turn>"});
  CHECK(make(kMistral).stop_strings() == std::vector<std::string>{"</s>"});
  CHECK(make(kPhi3).stop_strings() == std::vector<std::string>{"<|end|>"});
  // A template that shows nothing after the assistant's text, or drops it, gives none.
  CHECK(make("{% for m in messages %}{{ m.content }}\n{% endfor %}").stop_strings().empty());
  CHECK(make("{% for m in messages %}{{ m.role }}{% endfor %}").stop_strings().empty());
}

TEST_CASE("messages reach the template as json with every field") {
  const ChatTemplate t = make(
      "{% for m in messages %}{{ m.role }}:{{ m.content }}:{{ m.name|default('-') }};{% endfor %}");
  nlohmann::ordered_json messages = nlohmann::ordered_json::parse(
      R"([{"role": "user", "content": "a", "name": "ann"}, {"role": "assistant", "content": "b"}])");
  auto prompt = t.apply_json(messages, false);
  REQUIRE(prompt.ok());
  CHECK(*prompt == "user:a:ann;assistant:b:-;");
}

TEST_CASE("a template's own errors come back with its name") {
  auto gemma = make(kGemma).apply({{"system", "S"}, {"user", "U"}}, true);
  REQUIRE_FALSE(gemma.ok());
  CHECK(gemma.error().message() == "template 'test': line 1: System role not supported");
  auto mistral = make(kMistral).apply({{"user", "U"}, {"user", "V"}}, true);
  REQUIRE_FALSE(mistral.ok());
  CHECK(mistral.error().message().find("Conversation roles must alternate") != std::string::npos);
  auto bad = ChatTemplate::create("{% for %}", "broken", "", "");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message() == "template 'broken': line 1: expected a loop variable, found '%}'");
}

TEST_CASE("stop texts are found whole and held back while they may still be growing") {
  const std::vector<std::string> stops = {"<|im_end|>", "</s>"};
  CHECK(find_stop("hello<|im_end|>more", stops).position == 5);
  CHECK(find_stop("a</s>b<|im_end|>", stops).position == 1);
  CHECK(find_stop("hello", stops).position == std::string::npos);
  CHECK(find_stop("hello", stops).partial == 0);
  CHECK(find_stop("hello<|im", stops).partial == 4);
  CHECK(find_stop("hello<", stops).partial == 1);
  CHECK(find_stop("hello</", stops).partial == 2);
  CHECK(find_stop("<|im_end|", stops).partial == 9);
  CHECK(find_stop("x", {}).position == std::string::npos);
  CHECK(find_stop("abc", {""}).position == std::string::npos);
}

}  // namespace
}  // namespace sherry::runtime
