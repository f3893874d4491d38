#include "tools/sherry-server/server_options.h"

#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

namespace sherry::server {

int parse_server_options(int argc, char** argv, ServerOptions& out) {
  CLI::App app{
      "sherry-server: an OpenAI-compatible HTTP server for a Llama-family GGUF model "
      "(POST /v1/chat/completions, /v1/completions; GET /v1/models, /health, /metrics)",
      "sherry-server"};
  app.add_option("-m,--model", out.model,
                 "GGUF model (default: $SHERRY_MODEL or models/default.gguf)");
  app.add_option("-a,--alias", out.alias,
                 "model name in responses and /v1/models (default: the file's stem)");
  app.add_option("--host", out.host, "address to listen on");
  app.add_option("--port", out.port, "port to listen on (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535));
  app.add_option("-t,--threads", out.threads, "threads (0: all cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-c,--ctx-size", out.context,
                 "KV cache positions per slot (0: the model's context length)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-b,--batch-size", out.batch, "tokens per forward pass (at least -np)")
      ->check(CLI::PositiveNumber);
  app.add_option("--parallel", out.slots, "slots: requests decoded side by side (-np)")
      ->check(CLI::Range(int64_t{1}, int64_t{1024}));
  app.add_option("--queue", out.max_queue,
                 "requests waiting for a slot before 429 Too Many Requests")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--api-key", out.api_key, "require 'Authorization: Bearer KEY' on /v1/ routes");
  app.add_option("--timeout", out.timeout_s, "HTTP read and write timeout in seconds (-to)")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-body", out.max_body, "largest request body in bytes (413 beyond)")
      ->check(CLI::PositiveNumber);
  app.add_option("-n,--n-predict", out.n_predict,
                 "max_tokens of a request that sets none (-1: until the context is full)");
  app.add_option("--kernels", out.kernels, "jit, or ref for the reference kernels")
      ->check(CLI::IsMember({"jit", "ref"}));
  app.add_option("--kv-type", out.kv_type, "KV cache type")->check(CLI::IsMember({"f16", "f32"}));
  app.add_flag("--head-q8", out.head_q8_0, "repack an F32/F16/BF16 LM head into Q8_0 at load");
  app.add_option("--temp", out.sampling.temperature, "default temperature (0: greedy)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--top-k", out.sampling.top_k, "default top-k (0: off)");
  app.add_option("--top-p", out.sampling.top_p, "default top-p (1: off)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--min-p", out.sampling.min_p, "default min-p (0: off)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--repeat-penalty", out.sampling.repeat_penalty, "default repeat penalty (1: off)")
      ->check(CLI::PositiveNumber);
  // llama-server's two-letter single-dash flags, which CLI11 does not take as such.
  std::vector<std::string> args;
  for (int i = argc - 1; i > 0; --i) {
    const std::string_view a = argv[i];
    args.emplace_back(a == "-np" ? "--parallel" : a == "-to" ? "--timeout" : std::string(a));
  }
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (out.batch < out.slots) {
    fmt::print(stderr,
               "error: -b {}: expected at least -np ({}): a step runs a token of every slot\n",
               out.batch, out.slots);
    return 2;
  }
  return -1;
}

}  // namespace sherry::server
