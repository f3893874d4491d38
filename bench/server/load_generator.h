// A load generator for sherry-server (or any OpenAI-compatible server): a fixed number of
// requests spread over concurrent clients on keep-alive connections, each a chat completion
// streamed as server-sent events (or not), every response checked: HTTP 200, well-formed events,
// a finish reason, `data: [DONE]` at the end of a stream. Used by bench_server (the benchmark) and
// test_server's bounded load test.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace httplib {
class Client;
}

namespace sherry::bench {

struct LoadOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  int64_t requests = 200;
  int clients = 8;
  int64_t max_tokens = 64;
  double temperature = 0.8;
  bool ignore_eos = true;  // every request generates max_tokens (llama.cpp's ignore_eos)
  bool stream = true;
  bool chat = true;                  // /v1/chat/completions, else /v1/completions
  std::string api_key;               // sent as a Bearer token when not ""
  double timeout_s = 600;            // per request
  std::vector<std::string> prompts;  // used in turn (a default set when empty)
};

struct LoadResult {
  int64_t succeeded = 0;
  int64_t failed = 0;              // any error: status, transport, malformed or incomplete stream
  int64_t incomplete_streams = 0;  // of the failures: a stream without a finish reason or [DONE]
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double seconds = 0;
  double requests_per_second = 0;
  double tokens_per_second = 0;  // completion tokens over the wall time, all clients together
  double latency_p50_s = 0;
  double latency_p95_s = 0;
  double first_token_p50_s = 0;     // streaming: time to the first text
  std::vector<std::string> errors;  // the first few, for the report
};

LoadResult run_load(const LoadOptions& options);

// Polls GET /health until it answers 200 (the model is loaded); false after `seconds`.
bool wait_until_ready(const std::string& host, int port, double seconds);

// The answer to a POST that asks for server-sent events, read as it arrives.
struct EventStream {
  bool sent = false;            // the request went through (whatever the status)
  std::string transport_error;  // when not
  int status = 0;
  std::string error_body;  // the body of an answer other than 200
  bool malformed = false;  // an event other than `data: ...`
  bool done = false;       // `data: [DONE]` came
};
// POSTs `body` (JSON text) to `path` (with `api_key` as a Bearer token when not ""); the payload
// of each event (what follows "data: ", [DONE] aside) goes to `on_event`, which returns false to
// close the connection there.
EventStream post_event_stream(httplib::Client& client, const std::string& path,
                              const std::string& body, const std::string& api_key,
                              const std::function<bool(const std::string&)>& on_event);

// One JSON line: the options that matter and the results.
std::string to_json_line(const LoadOptions& options, const LoadResult& result);

}  // namespace sherry::bench
