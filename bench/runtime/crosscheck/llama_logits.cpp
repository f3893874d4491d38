// The same as sherry_logits.cpp through llama.cpp's API (built by llama_cpp_crosscheck.sh against
// the llama.cpp that scripts/fetch_llama_cpp.sh builds).
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "llama.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: llama_logits MODEL.gguf TOKEN...\n");
    return 2;
  }
  llama_backend_init();
  llama_model* model = llama_model_load_from_file(argv[1], llama_model_default_params());
  if (model == nullptr) return 1;
  llama_context_params params = llama_context_default_params();
  params.n_ctx = 256;
  params.n_batch = 256;
  params.n_threads = 1;
  llama_context* ctx = llama_init_from_model(model, params);
  if (ctx == nullptr) return 1;
  const int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  std::vector<llama_token> tokens;
  for (int i = 2; i < argc; ++i) tokens.push_back(std::atoi(argv[i]));
  llama_batch batch = llama_batch_init(static_cast<int>(tokens.size()), 0, 1);
  for (size_t i = 0; i < tokens.size(); ++i) {
    batch.token[i] = tokens[i];
    batch.pos[i] = static_cast<llama_pos>(i);
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = 1;
  }
  batch.n_tokens = static_cast<int>(tokens.size());
  if (llama_decode(ctx, batch) != 0) return 1;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const float* row = llama_get_logits_ith(ctx, static_cast<int>(t));
    int best = 0;
    for (int v = 1; v < vocab; ++v) best = row[v] > row[best] ? v : best;
    std::printf("%zu %d", t, best);
    for (int v = 0; v < vocab; ++v) std::printf(" %.7g", row[v]);
    std::printf("\n");
  }
  llama_batch_free(batch);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}
