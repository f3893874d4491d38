// Writes a Llama model with random weights through llama.cpp's own library: the hyperparameters and
// the tokenizer (copied from a vocab GGUF, e.g. llama.cpp's ggml-vocab-llama-bpe.gguf) go into GGUF
// metadata, llama_model_init_from_user creates every tensor the llama architecture needs, and
// llama_model_save_to_file writes them. The result (F32) is what llama-quantize turns into TQ1_0 or
// TQ2_0 for the end-to-end benchmark; scripts/bench_llamacpp.sh uses it when sherry-make-model
// is not built or when --writer llama is given.
//
// Not part of the CMake build: scripts/fetch_llama_cpp.sh compiles it against the llama.cpp it
// builds.
//
//   make_random_llama --vocab FILE --out FILE [--hidden 2048] [--layers 16] [--heads 32]
//                     [--kv-heads 8] [--ffn 8192] [--context 4096] [--seed 1]
#include <ggml-backend.h>
#include <ggml.h>
#include <gguf.h>
#include <llama.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace sherry::bench {
namespace {

struct Options {
  std::string vocab;
  std::string out;
  uint32_t hidden = 2048;
  uint32_t layers = 16;
  uint32_t heads = 32;
  uint32_t kv_heads = 8;
  uint32_t ffn = 8192;
  uint32_t context = 4096;
  uint64_t seed = 1;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(
      stderr,
      "make_random_llama: %s\n"
      "usage: make_random_llama --vocab FILE --out FILE [--hidden N] [--layers N] [--heads N]\n"
      "       [--kv-heads N] [--ffn N] [--context N] [--seed N]\n",
      message.c_str());
  std::exit(2);
}

uint32_t parse_u32(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value == 0 || value > UINT32_MAX) {
    usage_error(flag + ": expected a positive integer, found '" + text + "'");
  }
  return static_cast<uint32_t>(value);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) usage_error(flag + ": missing value");
    std::string value = argv[++i];
    if (flag == "--vocab") {
      options.vocab = value;
    } else if (flag == "--out") {
      options.out = value;
    } else if (flag == "--hidden") {
      options.hidden = parse_u32(flag, value);
    } else if (flag == "--layers") {
      options.layers = parse_u32(flag, value);
    } else if (flag == "--heads") {
      options.heads = parse_u32(flag, value);
    } else if (flag == "--kv-heads") {
      options.kv_heads = parse_u32(flag, value);
    } else if (flag == "--ffn") {
      options.ffn = parse_u32(flag, value);
    } else if (flag == "--context") {
      options.context = parse_u32(flag, value);
    } else if (flag == "--seed") {
      options.seed = parse_u32(flag, value);
    } else {
      usage_error("unknown flag '" + flag + "'");
    }
  }
  if (options.vocab.empty() || options.out.empty()) usage_error("--vocab and --out are required");
  if (options.hidden % options.heads != 0) usage_error("--hidden must be a multiple of --heads");
  if (options.heads % options.kv_heads != 0)
    usage_error("--heads must be a multiple of --kv-heads");
  return options;
}

// Weights uniform in ±0.05 (xorshift: 1.2 billion values must not take minutes), norms 1.
void fill_tensor(ggml_tensor* tensor, void* user_data) {
  uint64_t state =
      *static_cast<const uint64_t*>(user_data) ^ std::hash<std::string>{}(tensor->name);
  state |= 1;
  const int64_t count = ggml_nelements(tensor);
  if (tensor->type != GGML_TYPE_F32) {
    std::fprintf(stderr, "make_random_llama: tensor %s: expected F32, found %s\n", tensor->name,
                 ggml_type_name(tensor->type));
    std::exit(1);
  }
  bool is_norm = std::strstr(tensor->name, "norm") != nullptr;
  std::vector<float> values(static_cast<size_t>(count));
  for (float& value : values) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    value = is_norm ? 1.0f : 0.1f * (static_cast<float>(state >> 40) / 16777216.0f - 0.5f);
  }
  ggml_backend_tensor_set(tensor, values.data(), 0, values.size() * sizeof(float));
}

int run(const Options& options) {
  gguf_init_params vocab_params = {true, nullptr};
  gguf_context* vocab = gguf_init_from_file(options.vocab.c_str(), vocab_params);
  if (vocab == nullptr) {
    std::fprintf(stderr, "make_random_llama: %s: not a readable GGUF file\n",
                 options.vocab.c_str());
    return 1;
  }
  int64_t tokens_key = gguf_find_key(vocab, "tokenizer.ggml.tokens");
  if (tokens_key < 0) {
    std::fprintf(stderr,
                 "make_random_llama: %s: expected the key tokenizer.ggml.tokens, found none\n",
                 options.vocab.c_str());
    return 1;
  }
  const uint32_t vocab_size = static_cast<uint32_t>(gguf_get_arr_n(vocab, tokens_key));

  gguf_context* meta = gguf_init_empty();
  gguf_set_kv(meta, vocab);  // tokenizer.* (and whatever general.* the vocab file has)
  gguf_free(vocab);
  gguf_set_val_str(meta, "general.architecture", "llama");
  gguf_set_val_str(meta, "general.name", "sherry random llama");
  gguf_set_val_u32(meta, "llama.vocab_size", vocab_size);
  gguf_set_val_u32(meta, "llama.context_length", options.context);
  gguf_set_val_u32(meta, "llama.embedding_length", options.hidden);
  gguf_set_val_u32(meta, "llama.feed_forward_length", options.ffn);
  gguf_set_val_u32(meta, "llama.block_count", options.layers);
  gguf_set_val_u32(meta, "llama.attention.head_count", options.heads);
  gguf_set_val_u32(meta, "llama.attention.head_count_kv", options.kv_heads);
  gguf_set_val_u32(meta, "llama.rope.dimension_count", options.hidden / options.heads);
  gguf_set_val_f32(meta, "llama.rope.freq_base", 500000.0f);
  gguf_set_val_f32(meta, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
  gguf_set_val_u32(meta, "general.file_type", 0);  // all F32

  llama_backend_init();
  llama_model_params params = llama_model_default_params();
  params.n_gpu_layers = 0;
  uint64_t seed = options.seed;
  llama_model* model = llama_model_init_from_user(meta, fill_tensor, &seed, params);
  if (model == nullptr) {
    std::fprintf(stderr, "make_random_llama: llama.cpp refused the metadata (see its log above)\n");
    return 1;
  }
  llama_model_save_to_file(model, options.out.c_str());
  std::fprintf(stderr, "make_random_llama: wrote %s (%.2f B parameters, vocab %u)\n",
               options.out.c_str(), static_cast<double>(llama_model_n_params(model)) * 1e-9,
               vocab_size);
  llama_model_free(model);
  gguf_free(meta);
  llama_backend_free();
  return 0;
}

}  // namespace
}  // namespace sherry::bench

int main(int argc, char** argv) {
  return sherry::bench::run(sherry::bench::parse_options(argc, argv));
}
