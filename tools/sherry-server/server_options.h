// sherry-server's command line, in llama-server's spelling where it has the flag (-m, -c, -t, -b,
// --host, --port, -np/--parallel, --api-key, -to/--timeout, -n, -a/--alias, --temp, --top-k,
// --top-p, --min-p, --repeat-penalty), and its own for the rest (--max-body, --queue).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/sampler.h"

namespace sherry::server {

struct ServerOptions {
  std::string model;  // "" : $SHERRY_MODEL, else models/default.gguf
  std::string alias;  // the model's name in /v1/models ("" : the file's stem)
  std::string host = "127.0.0.1";
  int port = 8080;             // 0: any free port (printed)
  int threads = 0;             // 0: all cores
  int64_t context = 0;         // KV positions per slot (0: the model's context length)
  int64_t batch = 64;          // tokens per forward pass (>= slots)
  int64_t slots = 1;           // -np: sequences decoded side by side
  int64_t max_queue = 64;      // requests waiting for a slot before 429
  std::string api_key;         // "" : no key asked
  int timeout_s = 600;         // HTTP read/write timeout
  int64_t max_body = 1 << 20;  // request body bytes before 413
  int64_t n_predict = -1;      // max_tokens when a request sets none (-1: until the context)
  std::string kernels = "jit";
  std::string kv_type = "f16";
  bool head_q8_0 = false;
  runtime::SamplerOptions sampling;  // defaults of the requests' sampling fields
};

// Parses the command line. Returns -1 to go on; otherwise the exit code (0 after --help, 2 for a
// bad command line, with the message printed).
int parse_server_options(int argc, char** argv, ServerOptions& out);

}  // namespace sherry::server
