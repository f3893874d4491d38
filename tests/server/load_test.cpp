// The bounded load test: a fixed number of streamed chat completions over 8 concurrent clients on
// loopback, against the server at -np 1 and at -np 4, within a time bound; every request must
// succeed with a complete stream. It reports requests/s and tokens/s per slot count (a small
// random model on a shared machine: the figures show the mechanism, not the model's speed; the
// benchmark of docs/server.md measures the default model on a quiet machine).
#include <doctest/doctest.h>

#include "bench/server/load_generator.h"
#include "server_process.h"
#include "tests/runtime/tiny_llama.h"

namespace sherry::server {
namespace {

TEST_CASE("a bounded load test serves every request at one and at four slots") {
  const std::string model = testing::temp_file("load_model.gguf");
  runtime::testing::TinySpec spec;
  spec.format = runtime::testing::LinearFormat::kSherry;
  spec.hidden = 256;
  spec.ffn = 768;
  spec.layers = 4;
  spec.heads = 8;
  spec.kv_heads = 4;
  spec.context = 512;
  runtime::testing::write_tiny_llama(model, spec);
  for (const char* slots : {"1", "4"}) {
    testing::ServerProcess server({"-m", model, "-t", "1", "-np", slots});
    bench::LoadOptions o;
    o.port = server.port();
    o.requests = 48;
    o.clients = 8;
    o.max_tokens = 32;
    o.timeout_s = 120;
    const bench::LoadResult r = bench::run_load(o);
    MESSAGE("-np " << std::string(slots) << ": " << bench::to_json_line(o, r));
    CHECK(r.failed == 0);
    CHECK(r.incomplete_streams == 0);
    CHECK(r.succeeded == o.requests);
    CHECK(r.completion_tokens == o.requests * o.max_tokens);
    CHECK(r.seconds < 300);
    CHECK(server.stop() == 0);
  }
}

}  // namespace
}  // namespace sherry::server
