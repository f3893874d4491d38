// Prints, for each position of a token list, the arg max and every logit of sherry's
// forward pass (float path or kernels), in the format of llama_logits.cpp for a side-by-side diff.
//   sherry_logits [--kernels jit|ref] MODEL.gguf TOKEN...
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "runtime/llama_model.h"

int main(int argc, char** argv) {
  using namespace sherry::runtime;
  ModelOptions options;
  int first = 1;
  if (argc > 2 && std::string(argv[1]) == "--kernels") {
    const std::string kernels = argv[2];
    if (kernels != "jit" && kernels != "ref") {
      std::fprintf(stderr, "error: --kernels: expected jit or ref, found '%s'\n", kernels.c_str());
      return 2;
    }
    options.backend = kernels == "ref" ? sherry::jit::KernelBackend::kReference
                                       : sherry::jit::KernelBackend::kJit;
    first = 3;
  }
  if (argc < first + 2) {
    std::fprintf(stderr, "usage: sherry_logits [--kernels jit|ref] MODEL.gguf TOKEN...\n");
    return 2;
  }
  options.threads = 1;
  options.context = 256;
  options.batch = 256;
  options.kv_type = KvType::kF32;
  options.need_tokenizer = false;
  auto model = LlamaModel::load(argv[first], options);
  if (!model) {
    std::fprintf(stderr, "error: %s\n", model.error().message().c_str());
    return 1;
  }
  std::vector<int32_t> tokens;
  for (int i = first + 1; i < argc; ++i) tokens.push_back(std::atoi(argv[i]));
  auto logits = (*model)->forward(tokens, 0, true);
  if (!logits) {
    std::fprintf(stderr, "error: %s\n", logits.error().message().c_str());
    return 1;
  }
  const int64_t vocab = (*model)->config().vocab;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const float* row = logits->data() + t * vocab;
    int64_t best = 0;
    for (int64_t v = 1; v < vocab; ++v) best = row[v] > row[best] ? v : best;
    std::printf("%zu %lld", t, static_cast<long long>(best));
    for (int64_t v = 0; v < vocab; ++v) std::printf(" %.7g", row[v]);
    std::printf("\n");
  }
  return 0;
}
