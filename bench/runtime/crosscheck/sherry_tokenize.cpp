// sherry's tokenizer on llama.cpp's test inputs, for the pre-tokenizer cross-check
// (tokenizer_crosscheck.sh), in the format of llama_tokenize.cpp:
//   sherry_tokenize retag IN.gguf PRE OUT.gguf   a copy of a vocab file with tokenizer.ggml.pre =
//   PRE sherry_tokenize encode VOCAB.gguf TEXTS      one line of ids per text (texts separated by
//   lines
//                                                "__ggml_vocab_test__", as llama.cpp's .inp files)
// Encoding adds no BOS/EOS and parses no special tokens (as llama.cpp's test-tokenizer-0).
#include <cstdio>
#include <string>
#include <vector>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/tokenizer/pre_tokenizer.h"
#include "runtime/tokenizer/tokenizer.h"
#include "testing/vocab_test_texts.h"

namespace {

using namespace sherry;

int fail(const Error& error) {
  std::fprintf(stderr, "error: %s\n", error.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "retag" && argc == 5) {
    auto reader = gguf::Reader::open(argv[2]);
    if (!reader) return fail(reader.error());
    gguf::Writer writer;
    for (const auto& [key, value] : (*reader)->metadata()) writer.set(key, value);
    writer.set_string(std::string(gguf::names::kTokenizerPre), argv[3]);
    for (const gguf::TensorInfo& info : (*reader)->tensors()) {
      writer.add_tensor(info.name, info.type, info.shape, std::span(info.data, info.byte_size));
    }
    if (Status written = writer.write(argv[4]); !written) return fail(written.error());
    return 0;
  }
  if (command == "encode" && argc == 4) {
    auto reader = gguf::Reader::open(argv[2]);
    if (!reader) return fail(reader.error());
    auto vocab = runtime::load_vocab(**reader);
    if (!vocab) return fail(vocab.error());
    auto tokenizer = runtime::Tokenizer::create(std::move(*vocab), argv[2]);
    if (!tokenizer) return fail(tokenizer.error());
    for (const std::string& text : testing::read_vocab_test_texts(argv[3])) {
      const std::vector<int32_t> ids = tokenizer->encode(text, false, false);
      for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
      std::printf("\n");
    }
    return 0;
  }
  if (command == "pretokenize" && argc == 4) {
    const auto kind = runtime::parse_pre_tokenizer(argv[2]);
    if (!kind) return fail(make_error("unknown pre-tokenizer '{}'", argv[2]));
    for (const std::string& text : testing::read_vocab_test_texts(argv[3])) {
      const auto pieces = runtime::pre_tokenize(text, *kind);
      for (size_t i = 0; i < pieces.size(); ++i) {
        std::printf(i ? " " : "");
        for (unsigned char c : pieces[i]) std::printf("%02x", c);
      }
      std::printf("\n");
    }
    return 0;
  }
  std::fprintf(stderr,
               "usage: sherry_tokenize retag IN.gguf PRE OUT.gguf | encode VOCAB.gguf TEXTS | "
               "pretokenize PRE TEXTS\n");
  return 2;
}
