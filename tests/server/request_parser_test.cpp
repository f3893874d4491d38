// Every bad request body the parser rejects, each with the field, the expectation and what was
// found; and the good ones read back field by field.
#include <doctest/doctest.h>

#include "tools/sherry-server/request_parser.h"

namespace sherry::server {
namespace {

ApiError reject(const std::string& body, Endpoint endpoint = Endpoint::kChat) {
  CompletionRequest out;
  auto error = parse_request(body, endpoint, runtime::SamplerOptions{}, out);
  REQUIRE_MESSAGE(error.has_value(), "accepted: " << body);
  CHECK(error->status == 400);
  CHECK(error->type == "invalid_request_error");
  return *error;
}

void check_rejects(const std::string& body, const std::string& param, const std::string& message,
                   Endpoint endpoint = Endpoint::kChat) {
  const ApiError e = reject(body, endpoint);
  INFO("body: ", body, "\nmessage: ", e.message);
  CHECK(e.param == param);
  CHECK(e.message.find(message) != std::string::npos);
  CHECK(e.to_json().find("\"error\"") != std::string::npos);
}

const std::string kMessage = R"("messages": [{"role": "user", "content": "hi"}])";

TEST_CASE("a good chat request is read field by field") {
  CompletionRequest r;
  runtime::SamplerOptions defaults;
  defaults.temperature = 0.5f;
  const std::string body = R"({"model": "m", "messages": [{"role": "system", "content": "S"},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
       "name": "ann"}, {"role": "assistant", "content": null}],
      "max_tokens": 7, "top_p": 0.5, "top_k": 3, "min_p": 0.1, "seed": 42, "stop": ["x", ""],
      "stream": true, "stream_options": {"include_usage": true}, "truncate": true, "n": 1,
      "ignore_eos": true,
      "presence_penalty": 0.5, "frequency_penalty": 0, "logprobs": false, "unknown": {"a": 1}})";
  REQUIRE_FALSE(parse_request(body, Endpoint::kChat, defaults, r).has_value());
  CHECK(r.model == "m");
  REQUIRE(r.messages.size() == 3);
  CHECK(r.messages[1]["content"] == "ab");
  CHECK(r.messages[1]["name"] == "ann");
  CHECK(r.messages[2]["content"] == "");
  CHECK(r.max_tokens == 7);
  CHECK(r.sampling.temperature == 0.5f);  // the server's default
  CHECK(r.sampling.top_p == 0.5f);
  CHECK(r.sampling.top_k == 3);
  CHECK(r.sampling.min_p == doctest::Approx(0.1));
  CHECK(r.seed == 42u);
  CHECK(r.stop == std::vector<std::string>{"x"});
  CHECK(r.stream);
  CHECK(r.include_usage);
  CHECK(r.truncate);
  CHECK(r.ignore_eos);
}

TEST_CASE("a good completion request takes a prompt string or an array of one") {
  CompletionRequest r;
  REQUIRE_FALSE(parse_request(R"({"prompt": "abc", "temperature": 0, "stop": "q", "seed": -1,
                                  "max_completion_tokens": 3})",
                              Endpoint::kCompletion, {}, r)
                    .has_value());
  CHECK(r.prompt == "abc");
  CHECK(r.sampling.temperature == 0.0f);
  CHECK(r.stop == std::vector<std::string>{"q"});
  CHECK_FALSE(r.seed.has_value());  // -1: random, as llama.cpp
  CHECK(r.max_tokens == 3);
  REQUIRE_FALSE(parse_request(R"({"prompt": ["xyz"]})", Endpoint::kCompletion, {}, r).has_value());
  CHECK(r.prompt == "xyz");
}

TEST_CASE("bodies that are not a json object are rejected") {
  check_rejects("", "", "request body: expected a JSON object, found an empty body");
  check_rejects("{\"messages\": [", "",
                "request body: expected JSON, found a syntax error at byte");
  check_rejects("[1, 2]", "request body", "request body: expected a JSON object, found an array");
  check_rejects("\"text\"", "request body", "expected a JSON object, found the string \"text\"");
  check_rejects(std::string("{\"prompt\": \"a\xff\"}"), "",
                "request body: expected UTF-8 text, found the byte 0xff at offset 13");
  check_rejects(std::string("{\"prompt\": \"\xed\xa0\x80\"}"), "",
                "found the byte 0xed at offset 12");
  CHECK(reject("").code == "empty_body");
  CHECK(reject("{").code == "invalid_json");
  CHECK(reject(std::string("\xc3")).code == "invalid_utf8");
}

TEST_CASE("chat messages with a wrong shape, role or content are rejected") {
  check_rejects("{}", "messages", "messages: expected an array of messages, found no such field");
  check_rejects(R"({"messages": []})", "messages",
                "messages: expected a non-empty array of messages, found an array");
  check_rejects(R"({"messages": "hi"})", "messages", "found the string \"hi\"");
  check_rejects(R"({"messages": [1]})", "messages[0]",
                "messages[0]: expected an object with a role and a content, found 1");
  check_rejects(R"({"messages": [{"content": "x"}]})", "messages[0].role",
                "messages[0].role: expected one of system, developer, user, assistant, tool, found "
                "no such field");
  check_rejects(R"({"messages": [{"role": "wizard", "content": "x"}]})", "messages[0].role",
                "found the string \"wizard\"");
  check_rejects(R"({"messages": [{"role": 3, "content": "x"}]})", "messages[0].role", "found 3");
  check_rejects(R"({"messages": [{"role": "user"}]})", "messages[0].content",
                "messages[0].content: expected a string or text parts, found no such field");
  check_rejects(R"({"messages": [{"role": "user", "content": null}]})", "messages[0].content",
                "found null");
  check_rejects(R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content",
                "expected a string or an array of text parts, found 5");
  check_rejects(R"({"messages": [{"role": "user", "content": [5]}]})", "messages[0].content[0]",
                "expected an object {\"type\": \"text\", \"text\": ...}, found 5");
  check_rejects(
      R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]})",
      "messages[0].content[0].type",
      "expected \"text\" (the only content part supported), found the string \"image_url\"");
  check_rejects(R"({"messages": [{"role": "user", "content": [{"type": "text"}]}]})",
                "messages[0].content[0].text", "expected a string, found null");
}

TEST_CASE("completion prompts of a wrong type are rejected") {
  check_rejects("{}", "prompt", "prompt: expected a string, found no such field",
                Endpoint::kCompletion);
  check_rejects(R"({"prompt": 5})", "prompt",
                "prompt: expected a string (or an array of one string), found 5",
                Endpoint::kCompletion);
  check_rejects(R"({"prompt": ["a", "b"]})", "prompt", "found an array", Endpoint::kCompletion);
  check_rejects(R"({"prompt": [1, 2]})", "prompt", "found an array", Endpoint::kCompletion);
}

TEST_CASE("options with a wrong type or range are rejected") {
  const std::string m = kMessage;
  check_rejects("{" + m + R"(, "model": 3})", "model", "model: expected a string, found 3");
  check_rejects("{" + m + R"(, "max_tokens": 0})", "max_tokens",
                "max_tokens: expected an integer >= 1, found 0");
  check_rejects("{" + m + R"(, "max_tokens": -5})", "max_tokens", "found -5");
  check_rejects("{" + m + R"(, "max_tokens": 1.5})", "max_tokens", "found 1.5");
  check_rejects("{" + m + R"(, "max_tokens": "10"})", "max_tokens", "found the string \"10\"");
  check_rejects("{" + m + R"(, "max_completion_tokens": 0})", "max_completion_tokens",
                "expected an integer >= 1");
  check_rejects("{" + m + R"(, "temperature": -1})", "temperature",
                "temperature: expected a number in [0, 100], found -1");
  check_rejects("{" + m + R"(, "temperature": "hot"})", "temperature", "found the string \"hot\"");
  check_rejects("{" + m + R"(, "top_p": 1.5})", "top_p",
                "top_p: expected a number in [0, 1], found 1.5");
  check_rejects("{" + m + R"(, "min_p": -0.1})", "min_p", "expected a number in [0, 1]");
  check_rejects("{" + m + R"(, "repeat_penalty": true})", "repeat_penalty", "found true");
  check_rejects("{" + m + R"(, "presence_penalty": 3})", "presence_penalty",
                "expected a number in [-2, 2], found 3");
  check_rejects("{" + m + R"(, "frequency_penalty": []})", "frequency_penalty", "found an array");
  check_rejects("{" + m + R"(, "top_k": -1})", "top_k",
                "top_k: expected an integer >= 0, found -1");
  check_rejects("{" + m + R"(, "seed": 1.5})", "seed", "seed: expected an integer, found 1.5");
  check_rejects("{" + m + R"(, "stop": 5})", "stop",
                "stop: expected a string or an array of at most 16 strings, found 5");
  check_rejects("{" + m + R"(, "stop": ["a", 1]})", "stop[1]",
                "stop[1]: expected a string, found 1");
  check_rejects("{" + m + R"(, "stream": "yes"})", "stream",
                "stream: expected true or false, found the string \"yes\"");
  check_rejects("{" + m + R"(, "stream_options": 1})", "stream_options",
                "stream_options: expected an object, found 1");
  check_rejects("{" + m + R"(, "stream_options": {"include_usage": 1}})",
                "stream_options.include_usage",
                "stream_options.include_usage: expected true or false, found 1");
  check_rejects("{" + m + R"(, "truncate": 1})", "truncate", "truncate: expected true or false");
  check_rejects("{" + m + R"(, "ignore_eos": "no"})", "ignore_eos",
                "ignore_eos: expected true or false");
  check_rejects("{" + m + R"(, "n": 2})", "n",
                "n: expected 1 (one choice per request is supported), found 2");
  check_rejects("{" + m + R"(, "logprobs": true})", "logprobs",
                "logprobs: expected false or no such field, found a request for log probabilities");
  check_rejects("{" + m + R"(, "logprobs": 5})", "logprobs", "not supported");
  check_rejects("{" + m + R"(, "logprobs": "x"})", "logprobs", "logprobs: expected true or false");
}

TEST_CASE("utf-8 is checked byte by byte") {
  CHECK(invalid_utf8_offset("plain ascii") == std::string_view::npos);
  CHECK(invalid_utf8_offset("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == std::string_view::npos);
  CHECK(invalid_utf8_offset("a\x80") == 1);             // a continuation byte alone
  CHECK(invalid_utf8_offset("ab\xc3") == 2);            // cut short
  CHECK(invalid_utf8_offset("\xc0\xaf") == 0);          // overlong
  CHECK(invalid_utf8_offset("\xed\xa0\x80") == 0);      // a surrogate
  CHECK(invalid_utf8_offset("\xf4\x90\x80\x80") == 0);  // beyond U+10FFFF
  CHECK(invalid_utf8_offset("\xf8\x88\x80\x80\x80") == 0);
  CHECK(invalid_utf8_offset("\xe2\x28\xa1") == 0);  // a bad second byte
}

}  // namespace
}  // namespace sherry::server
