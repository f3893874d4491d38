// llama.cpp's tokenizer test vectors (ggml-vocab-*.gguf with .gguf.inp / .gguf.out, shipped in the
// npm package node-llama-cpp): every vector of every supported vocabulary must encode to exactly
// the listed ids (add_special = false, parse_special = false, as llama.cpp's test-tokenizer-0
// runs them) and decode back to the input.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "runtime/gguf/gguf_file.h"
#include "runtime/tokenizer/tokenizer.h"
#include "testing/vocab_test_texts.h"

namespace sherry::runtime {
namespace {

namespace fs = std::filesystem;

// The folder with the vocab files; scripts/fetch_npm_assets.sh fetches them once (and returns at
// once when they are cached). SHERRY_LLAMA_VOCAB_DIR overrides the folder.
fs::path vocab_dir() {
  if (const char* dir = std::getenv("SHERRY_LLAMA_VOCAB_DIR")) return dir;
  int fetched = 0;
  const fs::path cache = testing::fetched_cache_dir(SHERRY_SOURCE_DIR, &fetched);
  INFO("scripts/fetch_npm_assets.sh exited with status ", fetched);
  return cache / "llama-vocab";
}

struct Vector {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<Vector> read_vectors(const fs::path& inp, const fs::path& out) {
  const std::vector<std::string> texts = testing::read_vocab_test_texts(inp.string());
  std::vector<Vector> vectors;
  std::ifstream lines(out);
  size_t i = 0;
  for (std::string line; std::getline(lines, line); ++i) {
    Vector v;
    v.text = i < texts.size() ? texts[i] : std::string();
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) v.ids.push_back(id);
    vectors.push_back(std::move(v));
  }
  REQUIRE_MESSAGE(vectors.size() == texts.size(), inp.string(), ": ", texts.size(), " inputs but ",
                  vectors.size(), " outputs");
  return vectors;
}

void check_vocab(const std::string& name) {
  const fs::path dir = vocab_dir();
  const fs::path gguf_path = dir / ("ggml-vocab-" + name + ".gguf");
  REQUIRE_MESSAGE(fs::exists(gguf_path), "missing ", gguf_path.string(),
                  ": run scripts/fetch_npm_assets.sh (needs the npm registry)");
  auto reader = gguf::Reader::open(gguf_path.string());
  REQUIRE_MESSAGE(reader.ok(), (reader.ok() ? "" : reader.error().message()));
  auto vocab = load_vocab(**reader);
  REQUIRE_MESSAGE(vocab.ok(), (vocab.ok() ? "" : vocab.error().message()));
  auto tokenizer = Tokenizer::create(std::move(*vocab), gguf_path.string());
  REQUIRE_MESSAGE(tokenizer.ok(), (tokenizer.ok() ? "" : tokenizer.error().message()));

  const auto vectors = read_vectors(dir / ("ggml-vocab-" + name + ".gguf.inp"),
                                    dir / ("ggml-vocab-" + name + ".gguf.out"));
  CHECK(vectors.size() >= 40);
  for (const Vector& v : vectors) {
    const std::vector<int32_t> ids = tokenizer->encode(v.text, false, false);
    CHECK_MESSAGE(ids == v.ids, name, ": encoding '", v.text, "'");
    CHECK_MESSAGE(tokenizer->decode(v.ids) == v.text, name, ": decoding the ids of '", v.text, "'");
  }
}

TEST_CASE("llama spm vocabulary matches every llama.cpp test vector") {
  check_vocab("llama-spm");
}
TEST_CASE("phi 3 vocabulary matches every llama.cpp test vector") {
  check_vocab("phi-3");
}
TEST_CASE("llama bpe vocabulary matches every llama.cpp test vector") {
  check_vocab("llama-bpe");
}
TEST_CASE("qwen2 vocabulary matches every llama.cpp test vector") {
  check_vocab("qwen2");
}
TEST_CASE("gpt 2 vocabulary matches every llama.cpp test vector") {
  check_vocab("gpt-2");
}

// A SentencePiece vocabulary of byte fallback tokens, "<unk>" and "▁hi": "é" (C3 A9) and "€"
// (E2 82 AC) come out of byte tokens one byte at a time.
TEST_CASE("detokenizer streams whole UTF-8 sequences and matches decode") {
  Vocab vocab;
  vocab.tokens = {"<unk>"};
  vocab.types = {TokenType::kUnknown};
  for (int b = 0; b < 256; ++b) {
    vocab.tokens.push_back(fmt::format("<0x{:02X}>", b));
    vocab.types.push_back(TokenType::kByte);
  }
  vocab.tokens.push_back("\xE2\x96\x81hi");
  vocab.types.push_back(TokenType::kNormal);
  vocab.scores.assign(vocab.tokens.size(), 0.0f);
  vocab.unknown = 0;
  auto tokenizer = Tokenizer::create(std::move(vocab), "test vocabulary");
  REQUIRE_MESSAGE(tokenizer.ok(), (tokenizer.ok() ? "" : tokenizer.error().message()));
  const auto byte = [](int b) { return 1 + b; };
  const int32_t hi = 257;

  const std::vector<int32_t> ids = {hi,         byte(0xC3), byte(0xA9), hi,        byte(0xE2),
                                    byte(0x82), byte(0xAC), byte('!'),  byte(0xE2)};
  Detokenizer detokenizer(*tokenizer);
  std::vector<std::string> texts;
  for (int32_t id : ids) texts.push_back(detokenizer.push(id));
  const std::string rest = detokenizer.finish();
  CHECK(texts ==
        std::vector<std::string>{"hi", "", "\xC3\xA9", " hi", "", "", "\xE2\x82\xAC", "!", ""});
  CHECK(rest == "\xE2");  // an incomplete sequence at the end comes out as it is
  std::string streamed;
  for (const std::string& text : texts) streamed += text;
  CHECK(streamed + rest == tokenizer->decode(ids));
  CHECK(detokenizer.finish().empty());

  // Not at the start (a prompt shown before): the first piece keeps its space.
  Detokenizer after_prompt(*tokenizer, false);
  CHECK(after_prompt.push(hi) == " hi");
}

}  // namespace
}  // namespace sherry::runtime
