// bench_server: a fixed number of chat completions over concurrent clients against a running
// sherry-server (or any OpenAI-compatible server) on this machine; one JSON line with requests/s,
// tokens/s, latencies and failures. scripts/bench_server.sh starts the server at each -np and
// runs this against it. Exit status 1 when any request failed.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "bench/server/load_generator.h"

int main(int argc, char** argv) {
  sherry::bench::LoadOptions o;
  bool no_stream = false;
  bool completions = false;
  bool stop_at_eos = false;
  double wait_s = 0;
  CLI::App app{"bench_server: load a running OpenAI-compatible server with chat completions"};
  app.add_option("--host", o.host, "server address")->capture_default_str();
  app.add_option("--port", o.port, "server port")->required();
  app.add_option("--requests", o.requests, "requests in all")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--clients", o.clients, "concurrent clients")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-tokens", o.max_tokens, "max_tokens of each request")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--temperature", o.temperature, "temperature of each request")
      ->capture_default_str();
  app.add_option("--api-key", o.api_key, "Bearer token");
  app.add_option("--timeout", o.timeout_s, "seconds per request")->capture_default_str();
  app.add_flag("--no-stream", no_stream, "ask for whole responses instead of server-sent events");
  app.add_flag("--completions", completions,
               "POST /v1/completions instead of /v1/chat/completions");
  app.add_option("--wait", wait_s,
                 "first wait up to this many seconds for GET /health to answer 200");
  app.add_flag("--stop-at-eos", stop_at_eos,
               "let end-of-text end a request (default: ignore_eos, max_tokens every time)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  o.stream = !no_stream;
  o.chat = !completions;
  o.ignore_eos = !stop_at_eos;
  if (wait_s > 0 && !sherry::bench::wait_until_ready(o.host, o.port, wait_s)) {
    std::fprintf(stderr, "error: http://%s:%d/health did not answer 200 within %.0f s\n",
                 o.host.c_str(), o.port, wait_s);
    return 1;
  }
  const sherry::bench::LoadResult r = sherry::bench::run_load(o);
  std::printf("%s\n", sherry::bench::to_json_line(o, r).c_str());
  return r.failed == 0 ? 0 : 1;
}
