// sherry-server itself, started on a free loopback port and driven over HTTP: the routes and
// their JSON, streaming, the text against sherry-run's, every bad request (a 4xx JSON error, then
// a normal request served), concurrent clients, a client that disconnects mid-stream, /health
// under load and while loading, a full queue, the API key, /metrics, and the exit paths.
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "bench/server/load_generator.h"
#include "server_process.h"
#include "tests/runtime/tiny_llama.h"

namespace sherry::server {
namespace {

using Json = nlohmann::json;
using testing::ServerProcess;
using Clock = std::chrono::steady_clock;

// A tiny Sherry model (JIT kernels, ChatML: the file has no template) with room for long runs.
std::string model_path() {
  static const std::string path = [] {
    const std::string p = testing::temp_file("server_model.gguf");
    runtime::testing::TinySpec spec;
    spec.format = runtime::testing::LinearFormat::kSherry;
    spec.context = 4096;
    spec.seed = 41;
    runtime::testing::write_tiny_llama(p, spec);
    return p;
  }();
  return path;
}

// The model's name in responses: its file's stem.
std::string model_name() {
  return std::filesystem::path(model_path()).stem().string();
}

std::vector<std::string> server_args(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"-m", model_path(), "-t", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

httplib::Client client_for(const ServerProcess& server) {
  httplib::Client c("127.0.0.1", server.port());
  c.set_read_timeout(std::chrono::seconds(60));
  return c;
}

Json chat_body(int max_tokens = 8, bool stream = false) {
  return {{"messages", {{{"role", "user"}, {"content", "hello the world"}}}},
          {"max_tokens", max_tokens},
          {"temperature", 0},
          {"stream", stream}};
}

Json post_json(httplib::Client& c, const std::string& path, const Json& body, int expect = 200) {
  auto r = c.Post(path, body.dump(), "application/json");
  REQUIRE(r);
  INFO(path, " ", body.dump(), " -> ", r->body);
  REQUIRE(r->status == expect);
  Json j = Json::parse(r->body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

// The answer to a streamed request: each chunk, and whether [DONE] closed it.
struct Stream {
  int status = 0;
  std::vector<Json> chunks;
  bool done = false;
  bool malformed = false;
  std::string body;  // an error's body
  std::string text() const {
    std::string t;
    for (const Json& c : chunks) {
      for (const Json& choice : c["choices"]) {
        if (choice.contains("delta") && choice["delta"].contains("content")) {
          t += choice["delta"]["content"].get<std::string>();
        }
        if (choice.contains("text")) t += choice["text"].get<std::string>();
      }
    }
    return t;
  }
};

// Streams `body` to `path`; `keep_going` (after each chunk) returning false closes the connection.
Stream stream_request(int port, const std::string& path, const Json& body,
                      const std::function<bool(const Stream&)>& keep_going = nullptr) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(std::chrono::seconds(60));
  Stream s;
  const bench::EventStream e =
      bench::post_event_stream(c, path, body.dump(), "", [&](const std::string& payload) {
        Json chunk = Json::parse(payload, nullptr, false);
        if (chunk.is_discarded()) {
          s.malformed = true;
          return false;
        }
        s.chunks.push_back(std::move(chunk));
        return !keep_going || keep_going(s);
      });
  s.status = e.status;
  s.body = e.error_body;
  s.done = e.done;
  s.malformed = s.malformed || e.malformed;
  return s;
}

Json health(httplib::Client& c) {
  auto r = c.Get("/health");
  REQUIRE(r);
  return Json::parse(r->body);
}

// The value of a metric line `name{...} value` or `name value` in Prometheus text.
double metric(const std::string& text, const std::string& line_start) {
  const size_t at = text.find("\n" + line_start + " ");
  REQUIRE_MESSAGE(at != std::string::npos, "no metric " << line_start << " in:\n" << text);
  return std::stod(text.substr(at + line_start.size() + 2));
}

TEST_CASE("the server answers chat and completion requests and lists its model") {
  ServerProcess server(server_args({"-np", "2"}));
  auto c = client_for(server);
  const Json chat = post_json(c, "/v1/chat/completions", chat_body(8));
  CHECK(chat["object"] == "chat.completion");
  CHECK(chat["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);
  CHECK(chat["model"] == model_name());
  REQUIRE(chat["choices"].size() == 1);
  CHECK(chat["choices"][0]["index"] == 0);
  CHECK(chat["choices"][0]["message"]["role"] == "assistant");
  CHECK(chat["choices"][0]["message"]["content"].is_string());
  const std::string reason = chat["choices"][0]["finish_reason"];
  CHECK((reason == "stop" || reason == "length"));
  const Json& usage = chat["usage"];
  CHECK(usage["completion_tokens"].get<int>() <= 8);
  CHECK(usage["completion_tokens"].get<int>() >= 1);
  CHECK(usage["prompt_tokens"].get<int>() > 5);
  CHECK(usage["total_tokens"] ==
        usage["prompt_tokens"].get<int>() + usage["completion_tokens"].get<int>());
  if (reason == "length") CHECK(usage["completion_tokens"] == 8);

  const Json text = post_json(c, "/v1/completions",
                              {{"prompt", "hello"}, {"max_tokens", 5}, {"ignore_eos", true}});
  CHECK(text["object"] == "text_completion");
  CHECK(text["choices"][0]["text"].is_string());
  CHECK(text["choices"][0]["finish_reason"] == "length");
  CHECK(text["usage"]["completion_tokens"] == 5);
  // The routes without /v1 too, and the model named by the request echoed.
  Json named = chat_body(2);
  named["model"] = "my-name";
  CHECK(post_json(c, "/chat/completions", named)["model"] == "my-name");

  for (const char* path : {"/v1/models", "/models"}) {
    auto r = c.Get(path);
    REQUIRE(r);
    CHECK(r->status == 200);
    const Json models = Json::parse(r->body);
    CHECK(models["object"] == "list");
    REQUIRE(models["data"].size() == 1);
    CHECK(models["data"][0]["id"] == model_name());
    CHECK(models["data"][0]["object"] == "model");
    CHECK(models["data"][0]["meta"]["slots"] == 2);
    CHECK(models["data"][0]["meta"]["n_ctx_slot"] == 4096);
  }
  CHECK(server.stop() == 0);
  CHECK(server.log().find("sherry-server: stopped") != std::string::npos);
}

TEST_CASE("greedy text continues the prompt exactly as sherry run's does") {
  ServerProcess server(server_args({"-np", "3"}));
  auto c = client_for(server);
  const Json r = post_json(c, "/v1/completions",
                           {{"prompt", "hello the world"},
                            {"max_tokens", 12},
                            {"temperature", 0},
                            {"ignore_eos", true}});
  const std::string text = r["choices"][0]["text"];
  const std::string out = testing::temp_file("run_out.txt");
  const std::string command = std::string("\"") + SHERRY_RUN_PATH + "\" -m \"" + model_path() +
                              "\" -p \"hello the world\" -n 12 --temp 0 --ignore-eos -t 1 >\"" +
                              out + "\" 2>/dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
  std::ifstream in(out, std::ios::binary);
  const std::string run{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  // JSON carries UTF-8 only: bytes of the text that are not (a random model writes any) are
  // U+FFFD in the response, as nlohmann's replace handler makes them.
  const std::string as_json =
      Json::parse(Json(run).dump(-1, ' ', false, Json::error_handler_t::replace))
          .get<std::string>();
  CHECK(as_json == "hello the world" + text + "\n");
}

TEST_CASE("streamed deltas add up to the text of the same request unstreamed") {
  ServerProcess server(server_args({"-np", "2"}));
  auto c = client_for(server);
  Json body = chat_body(16);
  body["ignore_eos"] = true;
  const Json whole = post_json(c, "/v1/chat/completions", body);
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  const Stream s = stream_request(server.port(), "/v1/chat/completions", body);
  REQUIRE(s.status == 200);
  CHECK_FALSE(s.malformed);
  CHECK(s.done);
  REQUIRE(s.chunks.size() >= 3);
  CHECK(s.chunks.front()["object"] == "chat.completion.chunk");
  CHECK(s.chunks.front()["choices"][0]["delta"]["role"] == "assistant");
  CHECK(s.text() == whole["choices"][0]["message"]["content"].get<std::string>());
  for (size_t i = 0; i + 2 < s.chunks.size(); ++i) {
    CHECK(s.chunks[i]["choices"][0]["finish_reason"].is_null());
    CHECK(s.chunks[i]["id"] == s.chunks.front()["id"]);
  }
  const Json& last = s.chunks[s.chunks.size() - 2];
  CHECK(last["choices"][0]["finish_reason"] == "length");
  const Json& usage = s.chunks.back();
  CHECK(usage["choices"].empty());
  CHECK(usage["usage"]["completion_tokens"] == 16);

  // Completions stream too, ending with [DONE].
  const Stream t = stream_request(server.port(), "/v1/completions",
                                  {{"prompt", "hello"},
                                   {"max_tokens", 6},
                                   {"stream", true},
                                   {"temperature", 0},
                                   {"ignore_eos", true}});
  REQUIRE(t.status == 200);
  CHECK(t.done);
  CHECK(t.chunks.back()["choices"][0]["finish_reason"] == "length");
  const Json plain =
      post_json(c, "/v1/completions",
                {{"prompt", "hello"}, {"max_tokens", 6}, {"temperature", 0}, {"ignore_eos", true}});
  CHECK(t.text() == plain["choices"][0]["text"].get<std::string>());
}

TEST_CASE("every bad request gets a 4xx json error and the next request is served") {
  ServerProcess server(server_args({"-np", "2", "-c", "64"}));
  struct Bad {
    const char* what;
    const char* method;
    std::string path;
    std::string body;
    int status;
  };
  std::string long_prompt;
  for (int i = 0; i < 100; ++i) long_prompt += "hello the world ";
  const std::vector<Bad> bad = {
      {"malformed json", "POST", "/v1/chat/completions", "{\"messages\": [", 400},
      {"a wrong type", "POST", "/v1/chat/completions", R"({"messages": "hi"})", 400},
      {"a wrong option type", "POST", "/v1/chat/completions",
       R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", 400},
      {"an unknown role", "POST", "/v1/chat/completions",
       R"({"messages": [{"role": "wizard", "content": "x"}]})", 400},
      {"an empty body", "POST", "/v1/chat/completions", "", 400},
      {"an oversized body", "POST", "/v1/completions",
       "{\"prompt\": \"" + std::string(2 << 20, 'a') + "\"}", 413},
      {"a prompt beyond the context", "POST", "/v1/completions",
       Json{{"prompt", long_prompt}}.dump(), 400},
      {"max_tokens zero", "POST", "/v1/chat/completions",
       R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0})", 400},
      {"max_tokens negative", "POST", "/v1/completions", R"({"prompt": "x", "max_tokens": -3})",
       400},
      {"invalid utf-8", "POST", "/v1/completions", "{\"prompt\": \"\xc3\x28\"}", 400},
      {"an unknown route", "POST", "/v1/embeddings", "{}", 404},
      {"an unknown route", "GET", "/", "", 404},
      {"a wrong method", "GET", "/v1/chat/completions", "", 405},
      {"a wrong method", "DELETE", "/v1/completions", "", 405},
      {"a wrong method", "POST", "/v1/models", "{}", 405},
      {"a wrong method", "PUT", "/health", "", 405},
  };
  for (const Bad& b : bad) {
    INFO(b.what, ": ", b.method, " ", b.path);
    auto c = client_for(server);
    httplib::Result r = b.method == std::string("GET")      ? c.Get(b.path)
                        : b.method == std::string("DELETE") ? c.Delete(b.path)
                        : b.method == std::string("PUT")
                            ? c.Put(b.path, b.body, "application/json")
                            : c.Post(b.path, b.body, "application/json");
    if (!r) {
      // A rejected oversized upload may close the connection before the client reads the answer.
      CHECK(b.status == 413);
    } else {
      CHECK(r->status == b.status);
      const Json j = Json::parse(r->body, nullptr, false);
      REQUIRE_FALSE(j.is_discarded());
      CHECK(j["error"]["message"].is_string());
      CHECK_FALSE(j["error"]["message"].get<std::string>().empty());
      CHECK(j["error"]["type"].is_string());
      if (b.status == 405) CHECK(r->has_header("Allow"));
    }
    // A normal request right after.
    auto ok =
        client_for(server).Post("/v1/chat/completions", chat_body(2).dump(), "application/json");
    REQUIRE(ok);
    CHECK(ok->status == 200);
  }
  // The too long prompt, cut because the request asks for it.
  auto c = client_for(server);
  const Json cut = post_json(c, "/v1/completions",
                             {{"prompt", long_prompt}, {"max_tokens", 4}, {"truncate", true}});
  CHECK(cut["usage"]["prompt_tokens"].get<int>() <= 64 - 4);
  CHECK(cut["usage"]["completion_tokens"].get<int>() >= 1);
  // The oversized body answered with JSON when the client reads it (a raw socket).
  CHECK(server.log().find("POST /v1/completions 413") != std::string::npos);
}

TEST_CASE("concurrent clients are all served with complete streams") {
  ServerProcess server(server_args({"-np", "4"}));
  bench::LoadOptions o;
  o.port = server.port();
  o.requests = 24;
  o.clients = 8;
  o.max_tokens = 12;
  o.timeout_s = 60;
  const bench::LoadResult streamed = bench::run_load(o);
  INFO(bench::to_json_line(o, streamed));
  CHECK(streamed.failed == 0);
  CHECK(streamed.succeeded == 24);
  CHECK(streamed.completion_tokens == 24 * 12);
  o.stream = false;
  o.chat = false;
  const bench::LoadResult whole = bench::run_load(o);
  INFO(bench::to_json_line(o, whole));
  CHECK(whole.failed == 0);
  CHECK(whole.completion_tokens == 24 * 12);
}

TEST_CASE("a client that disconnects mid-stream frees its slot at once") {
  ServerProcess server(server_args({"-np", "1"}));
  auto c = client_for(server);
  Json body = chat_body(4000, true);
  body["ignore_eos"] = true;
  const Stream s = stream_request(server.port(), "/v1/chat/completions", body,
                                  [](const Stream& got) { return got.text().size() < 4; });
  const auto left = Clock::now();
  CHECK_FALSE(s.done);
  // The slot is free well before 4000 tokens could have been generated.
  double waited = 0;
  while (health(c)["slots_processing"] != 0 && waited < 5) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    waited = std::chrono::duration<double>(Clock::now() - left).count();
  }
  CHECK(waited < 1.0);
  auto m = c.Get("/metrics");
  REQUIRE(m);
  CHECK(metric(m->body, "sherry_generated_tokens_total") < 4000);
  // And it serves the next request.
  CHECK(post_json(c, "/v1/chat/completions", chat_body(3))["choices"][0]["message"].is_object());
}

TEST_CASE("health answers at once while every slot generates") {
  ServerProcess server(server_args({"-np", "2"}));
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      Json body = chat_body(4000, true);
      body["ignore_eos"] = true;
      stream_request(server.port(), "/v1/chat/completions", body,
                     [&](const Stream&) { return !stop.load(); });
    });
  }
  auto c = client_for(server);
  int busy_seen = 0;
  double slowest = 0;
  for (int i = 0; i < 40; ++i) {
    const auto start = Clock::now();
    const Json h = health(c);
    slowest = std::max(slowest, std::chrono::duration<double>(Clock::now() - start).count());
    CHECK(h["status"] == "ok");
    if (h["slots_processing"] == 2 && h["queue_depth"] == 2) ++busy_seen;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  for (std::thread& t : clients) t.join();
  CHECK(busy_seen > 0);
  CHECK(slowest < 1.0);
}

TEST_CASE("a full queue answers 429 with retry-after") {
  ServerProcess server(server_args({"-np", "1", "--queue", "1"}));
  std::atomic<bool> stop{false};
  auto hold = [&] {
    Json body = chat_body(4000, true);
    body["ignore_eos"] = true;
    stream_request(server.port(), "/v1/chat/completions", body,
                   [&](const Stream&) { return !stop.load(); });
  };
  std::thread running(hold);
  auto c = client_for(server);
  while (health(c)["slots_processing"] != 1)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::thread waiting(hold);
  while (health(c)["queue_depth"] != 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto r = c.Post("/v1/chat/completions", chat_body(2).dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 429);
  CHECK(r->get_header_value("Retry-After") == "1");
  const Json j = Json::parse(r->body);
  CHECK(j["error"]["code"] == "queue_full");
  stop = true;
  running.join();
  waiting.join();
  CHECK(post_json(c, "/v1/chat/completions", chat_body(2))["object"] == "chat.completion");
  auto m = c.Get("/metrics");
  REQUIRE(m);
  CHECK(metric(m->body, "sherry_requests_rejected_total") == 1);
}

TEST_CASE("the api key is asked on the v1 routes") {
  ServerProcess server(server_args({"--api-key", "s3cret"}));
  auto c = client_for(server);
  auto none = c.Get("/v1/models");
  REQUIRE(none);
  CHECK(none->status == 401);
  CHECK(Json::parse(none->body)["error"]["code"] == "invalid_api_key");
  auto wrong = c.Post("/v1/chat/completions", {{"Authorization", "Bearer nope"}},
                      chat_body(2).dump(), "application/json");
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  auto right = c.Post("/v1/chat/completions", {{"Authorization", "Bearer s3cret"}},
                      chat_body(2).dump(), "application/json");
  REQUIRE(right);
  CHECK(right->status == 200);
  auto open = c.Get("/health");
  REQUIRE(open);
  CHECK(open->status == 200);
}

TEST_CASE("health says loading until the model is loaded") {
  ServerProcess server(server_args(), /*wait_ready=*/false, {"SHERRY_SERVER_LOAD_DELAY_MS=1500"});
  auto c = client_for(server);
  auto h = c.Get("/health");
  REQUIRE(h);
  CHECK(h->status == 503);
  CHECK(Json::parse(h->body)["status"] == "loading");
  auto early = c.Post("/v1/chat/completions", chat_body(2).dump(), "application/json");
  REQUIRE(early);
  CHECK(early->status == 503);
  CHECK(Json::parse(early->body)["error"]["code"] == "model_loading");
  auto metrics = c.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline && c.Get("/health")->status != 200) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(post_json(c, "/v1/chat/completions", chat_body(2))["object"] == "chat.completion");
}

TEST_CASE("metrics count requests tokens and slots") {
  ServerProcess server(server_args({"-np", "3"}));
  auto c = client_for(server);
  int64_t generated = 0;
  for (int i = 0; i < 3; ++i) {
    generated += post_json(c, "/v1/chat/completions", chat_body(5))["usage"]["completion_tokens"]
                     .get<int64_t>();
  }
  c.Get("/nowhere");
  auto r = c.Get("/metrics");
  REQUIRE(r);
  CHECK(r->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
  const std::string& text = r->body;
  CHECK(metric(text, "sherry_requests_total{route=\"/v1/chat/completions\",status=\"200\"}") == 3);
  CHECK(metric(text, "sherry_requests_total{route=\"other\",status=\"404\"}") == 1);
  CHECK(metric(text, "sherry_generated_tokens_total") == generated);
  CHECK(metric(text, "sherry_slots") == 3);
  CHECK(metric(text, "sherry_slots_busy") == 0);
  CHECK(metric(text, "sherry_queue_depth") == 0);
  CHECK(metric(text, "sherry_tokens_per_second") > 0);
  CHECK(text.find("# TYPE sherry_generated_tokens_total counter") != std::string::npos);
}

TEST_CASE("a model that does not load ends the server with an error naming it") {
  const std::string missing = testing::temp_file("missing.gguf");
  ServerProcess server({"-m", missing}, /*wait_ready=*/false);
  CHECK(server.wait_exit(30) == 1);
  CHECK(server.log().find("error: ") != std::string::npos);
  CHECK(server.log().find(missing) != std::string::npos);
}

TEST_CASE("bad flags end the server with status 2") {
  auto run = [](const std::string& args) {
    const std::string command =
        std::string("\"") + SHERRY_SERVER_PATH + "\" " + args + " >/dev/null 2>&1";
    const int raw = std::system(command.c_str());
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  };
  CHECK(run("-np 0") == 2);
  CHECK(run("-np 4 -b 2") == 2);
  CHECK(run("--port 70000") == 2);
  CHECK(run("--nonsense") == 2);
  CHECK(run("--help") == 0);
}

}  // namespace
}  // namespace sherry::server
