#include "bench/server/load_generator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

namespace sherry::bench {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

const std::vector<std::string>& default_prompts() {
  static const std::vector<std::string> prompts = {
      "Tell me about the weather in the country.",   "Who was the eldest daughter of the family?",
      "Write a short letter to a friend.",           "What did the visitor say at dinner?",
      "Describe a walk through the park in spring.", "Why was the house so quiet that evening?",
      "Give three reasons to read a novel.",         "What happened at the ball?",
  };
  return prompts;
}

struct Outcome {
  bool ok = false;
  bool incomplete = false;
  std::string error;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double seconds = 0;
  double first_text_s = -1;
};

// Reads the JSON chunks of a stream: the first text's time, the finish reason, the usage.
class ChunkReader {
 public:
  // False on a malformed chunk.
  bool read(const std::string& payload, Outcome& o, Clock::time_point start) {
    Json chunk = Json::parse(payload, nullptr, false);
    if (chunk.is_discarded() || !chunk.contains("choices")) {
      o.error = "a malformed chunk: " + payload.substr(0, 120);
      return false;
    }
    for (const Json& choice : chunk["choices"]) {
      const Json& delta = choice.contains("delta") ? choice["delta"] : choice;
      const std::string key = choice.contains("delta") ? "content" : "text";
      if (delta.contains(key) && delta[key].is_string() && !delta[key].get<std::string>().empty() &&
          o.first_text_s < 0) {
        o.first_text_s = std::chrono::duration<double>(Clock::now() - start).count();
      }
      if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) finished_ = true;
    }
    if (chunk.contains("usage") && chunk["usage"].is_object()) {
      o.prompt_tokens = chunk["usage"].value("prompt_tokens", int64_t{0});
      o.completion_tokens = chunk["usage"].value("completion_tokens", int64_t{0});
    }
    return true;
  }
  bool finished() const { return finished_; }

 private:
  bool finished_ = false;
};

Outcome one_request(httplib::Client& client, const LoadOptions& options,
                    const std::string& prompt) {
  Json body;
  if (options.chat) {
    body["messages"] = Json::array({{{"role", "user"}, {"content", prompt}}});
  } else {
    body["prompt"] = prompt;
  }
  body["max_tokens"] = options.max_tokens;
  body["ignore_eos"] = options.ignore_eos;
  body["temperature"] = options.temperature;
  body["stream"] = options.stream;
  if (options.stream) body["stream_options"] = {{"include_usage", true}};
  httplib::Headers headers;
  if (!options.api_key.empty()) headers.emplace("Authorization", "Bearer " + options.api_key);
  const std::string path = options.chat ? "/v1/chat/completions" : "/v1/completions";
  Outcome o;
  const auto start = Clock::now();
  if (options.stream) {
    ChunkReader reader;
    bool bad_chunk = false;
    const EventStream e = post_event_stream(
        client, path, body.dump(), options.api_key, [&](const std::string& payload) {
          bad_chunk = bad_chunk || !reader.read(payload, o, start);
          return !bad_chunk;
        });
    o.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (!e.sent) {
      o.error = "transport: " + e.transport_error;
    } else if (e.status != 200) {
      o.error = fmt::format("HTTP {}: {}", e.status, e.error_body.substr(0, 200));
    } else if (e.malformed) {
      o.error = "an event that is not 'data: ...'";
    } else if (!bad_chunk && !(e.done && reader.finished())) {
      o.incomplete = true;
      o.error = "the stream ended without a finish reason and [DONE]";
    } else if (!bad_chunk) {
      o.ok = true;
    }
    return o;
  }
  auto result = client.Post(path, headers, body.dump(), "application/json");
  o.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!result) {
    o.error = "transport: " + httplib::to_string(result.error());
    return o;
  }
  if (result->status != 200) {
    o.error = fmt::format("HTTP {}: {}", result->status, result->body.substr(0, 200));
    return o;
  }
  Json j = Json::parse(result->body, nullptr, false);
  if (j.is_discarded() || !j.contains("usage") || !j.contains("choices") || j["choices"].empty() ||
      !j["choices"][0]["finish_reason"].is_string()) {
    o.error = "a malformed response: " + result->body.substr(0, 200);
    return o;
  }
  o.prompt_tokens = j["usage"].value("prompt_tokens", int64_t{0});
  o.completion_tokens = j["usage"].value("completion_tokens", int64_t{0});
  o.ok = true;
  return o;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

EventStream post_event_stream(httplib::Client& client, const std::string& path,
                              const std::string& body, const std::string& api_key,
                              const std::function<bool(const std::string&)>& on_event) {
  EventStream e;
  std::string buffer;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body;
  req.set_header("Content-Type", "application/json");
  if (!api_key.empty()) req.set_header("Authorization", "Bearer " + api_key);
  req.response_handler = [&](const httplib::Response& r) {
    e.status = r.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    if (e.status != 200) {
      e.error_body.append(data, size);
      return true;
    }
    buffer.append(data, size);
    size_t end;
    while ((end = buffer.find("\n\n")) != std::string::npos) {
      const std::string event = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      if (event.rfind("data: ", 0) != 0) {
        e.malformed = true;
        return false;
      }
      if (event == "data: [DONE]") {
        e.done = true;
        continue;
      }
      if (!on_event(event.substr(6))) return false;
    }
    return true;
  };
  auto result = client.send(req);
  e.sent = static_cast<bool>(result) || e.status != 0;
  if (!e.sent) e.transport_error = httplib::to_string(result.error());
  if (!buffer.empty()) e.malformed = true;
  return e;
}

bool wait_until_ready(const std::string& host, int port, double seconds) {
  httplib::Client client(host, port);
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    auto r = client.Get("/health");
    if (r && r->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

LoadResult run_load(const LoadOptions& options) {
  const std::vector<std::string>& prompts =
      options.prompts.empty() ? default_prompts() : options.prompts;
  std::atomic<int64_t> next{0};
  std::mutex mutex;
  std::vector<Outcome> outcomes;
  const auto start = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < options.clients; ++c) {
    clients.emplace_back([&] {
      httplib::Client client(options.host, options.port);
      const auto timeout = std::chrono::duration<double>(options.timeout_s);
      client.set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
      client.set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
      client.set_keep_alive(true);
      while (true) {
        const int64_t i = next.fetch_add(1);
        if (i >= options.requests) break;
        Outcome o = one_request(client, options, prompts[static_cast<size_t>(i) % prompts.size()]);
        std::lock_guard lock(mutex);
        outcomes.push_back(std::move(o));
      }
    });
  }
  for (std::thread& t : clients) t.join();
  LoadResult r;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> latencies;
  std::vector<double> first_text;
  for (const Outcome& o : outcomes) {
    if (o.ok) {
      ++r.succeeded;
      r.prompt_tokens += o.prompt_tokens;
      r.completion_tokens += o.completion_tokens;
      latencies.push_back(o.seconds);
      if (o.first_text_s >= 0) first_text.push_back(o.first_text_s);
    } else {
      ++r.failed;
      if (o.incomplete) ++r.incomplete_streams;
      if (r.errors.size() < 5) r.errors.push_back(o.error);
    }
  }
  r.requests_per_second = r.seconds > 0 ? static_cast<double>(r.succeeded) / r.seconds : 0;
  r.tokens_per_second = r.seconds > 0 ? static_cast<double>(r.completion_tokens) / r.seconds : 0;
  r.latency_p50_s = percentile(latencies, 0.5);
  r.latency_p95_s = percentile(latencies, 0.95);
  r.first_token_p50_s = percentile(first_text, 0.5);
  return r;
}

std::string to_json_line(const LoadOptions& o, const LoadResult& r) {
  Json j;
  j["requests"] = o.requests;
  j["clients"] = o.clients;
  j["max_tokens"] = o.max_tokens;
  j["stream"] = o.stream;
  j["ignore_eos"] = o.ignore_eos;
  j["succeeded"] = r.succeeded;
  j["failed"] = r.failed;
  j["incomplete_streams"] = r.incomplete_streams;
  j["seconds"] = r.seconds;
  j["requests_per_second"] = r.requests_per_second;
  j["completion_tokens"] = r.completion_tokens;
  j["prompt_tokens"] = r.prompt_tokens;
  j["tokens_per_second"] = r.tokens_per_second;
  j["latency_p50_s"] = r.latency_p50_s;
  j["latency_p95_s"] = r.latency_p95_s;
  j["first_token_p50_s"] = r.first_token_p50_s;
  j["errors"] = r.errors;
  return j.dump();
}

}  // namespace sherry::bench
