// sherry-make-model: writes a random-weight Llama-family GGUF of any shape with a byte-level
// vocabulary.
//   sherry-make-model OUT.gguf [--arch llama|qwen2|qwen3|hunyuan-dense] [--hidden N] [--layers N]
//                     [--heads N] [--kv-heads N] [--head-dim N] [--ffn N] [--vocab N] [--ctx N]
//                     [--type f32|f16|bf16] [--seed N] [--rope-base F] [--rope-alpha F]
//                     [--tie-embeddings]
// Errors: "error: <message>", exit status 1 (2 for a bad command line).
#include <cstdio>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "tools/sherry-make-model/random_model.h"

int main(int argc, char** argv) {
  using sherry::gguf::RandomModelSpec;
  CLI::App app{
      "sherry-make-model: writes a random-weight Llama-family GGUF (byte-level vocabulary)"};
  RandomModelSpec spec;
  std::string out;
  std::string type = "f32";
  app.add_option("out", out, "output GGUF path")->required();
  app.add_option("--arch", spec.architecture,
                 "llama, qwen2 (q/k/v biases), qwen3 or hunyuan-dense (q/k norms)")
      ->capture_default_str();
  app.add_option("--hidden", spec.hidden, "embedding length")->capture_default_str();
  app.add_option("--layers", spec.layers, "transformer blocks")->capture_default_str();
  app.add_option("--heads", spec.heads, "attention heads")->capture_default_str();
  app.add_option("--kv-heads", spec.kv_heads, "key/value heads (grouped-query attention)")
      ->capture_default_str();
  app.add_option("--head-dim", spec.head_dim,
                 "head width when not hidden / heads (0: hidden / heads)")
      ->capture_default_str();
  app.add_option("--ffn", spec.ffn, "feed-forward length")->capture_default_str();
  app.add_option("--vocab", spec.vocab, "vocabulary size (at least 259)")->capture_default_str();
  app.add_option("--ctx", spec.context, "context length")->capture_default_str();
  app.add_option("--type", type, "f32, f16 or bf16 (norms are always f32)")->capture_default_str();
  app.add_option("--seed", spec.seed, "random seed (same seed, same bytes)")->capture_default_str();
  app.add_option("--rope-base", spec.rope_base, "RoPE frequency base")->capture_default_str();
  app.add_option("--rope-alpha", spec.rope_alpha,
                 "hunyuan-dense: rope.scaling.alpha (NTK scaling of the RoPE base; 0: none)")
      ->capture_default_str();
  app.add_flag("--tie-embeddings", spec.tie_embeddings,
               "no output.weight: the LM head is the token embedding");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  auto parsed_type = sherry::gguf::parse_float_type(type);
  if (!parsed_type) {
    std::fprintf(stderr, "error: %s\n", parsed_type.error().message().c_str());
    return 2;
  }
  spec.type = *parsed_type;
  if (auto valid = sherry::gguf::validate_random_model_spec(spec); !valid) {
    std::fprintf(stderr, "error: %s\n", valid.error().message().c_str());
    return 2;
  }
  if (auto written = sherry::gguf::write_random_model(spec, out); !written) {
    std::fprintf(stderr, "error: %s\n", written.error().message().c_str());
    return 1;
  }
  std::printf(
      "%s: %s hidden %lld layers %lld heads %lld/%lld ffn %lld vocab %lld ctx %lld %s seed "
      "%llu, %ju bytes\n",
      out.c_str(), spec.architecture.c_str(), static_cast<long long>(spec.hidden),
      static_cast<long long>(spec.layers), static_cast<long long>(spec.heads),
      static_cast<long long>(spec.kv_heads), static_cast<long long>(spec.ffn),
      static_cast<long long>(spec.vocab), static_cast<long long>(spec.context), type.c_str(),
      static_cast<unsigned long long>(spec.seed), std::filesystem::file_size(out));
  return 0;
}
