// The same as sherry_tokenize.cpp's "encode" through llama.cpp's API (built by
// tokenizer_crosscheck.sh against the llama.cpp that scripts/fetch_llama_cpp.sh builds).
//   llama_tokenize VOCAB.gguf TEXTS
#include <cstdio>
#include <string>
#include <vector>

#include "llama.h"
#include "testing/vocab_test_texts.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: llama_tokenize VOCAB.gguf TEXTS\n");
    return 2;
  }
  llama_backend_init();
  llama_model_params params = llama_model_default_params();
  params.vocab_only = true;
  llama_model* model = llama_model_load_from_file(argv[1], params);
  if (model == nullptr) return 1;
  const llama_vocab* vocab = llama_model_get_vocab(model);
  const std::vector<std::string> texts = sherry::testing::read_vocab_test_texts(argv[2]);
  for (const std::string& text : texts) {
    std::vector<llama_token> ids(text.size() + 8);
    int n = llama_tokenize(vocab, text.data(), static_cast<int>(text.size()), ids.data(),
                           static_cast<int>(ids.size()), /*add_special=*/false,
                           /*parse_special=*/false);
    if (n < 0) return 1;
    for (int i = 0; i < n; ++i) std::printf(i ? " %d" : "%d", ids[i]);
    std::printf("\n");
  }
  llama_model_free(model);
  return 0;
}
