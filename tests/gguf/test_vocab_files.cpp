// GGUF files no one here wrote: llama.cpp's vocab-only models (scripts/fetch_npm_assets.sh puts
// them in .cache/llama-vocab/). Each is read by gguf::Reader and by a minimal walker written
// here independently of it; key names, key count and token count must agree, and the token
// counts must be the vocabulary sizes the models publish.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "tests/gguf/gguf_test_util.h"
#include "tests/gguf/mini_walker.h"

namespace sherry::gguf {
namespace {

namespace fs = std::filesystem;

// Vocabulary sizes from the models' own configs (vocab_size / tokenizer), not from these files.
const std::map<std::string, size_t> kPublishedVocabSizes = {
    {"aquila", 100008},    {"baichuan", 64000},        {"bert-bge", 30522},
    {"command-r", 256000}, {"deepseek-coder", 32256},  {"deepseek-llm", 102400},
    {"falcon", 65024},     {"gemma-4", 262144},        {"gpt-2", 50257},
    {"gpt-neox", 50432},   {"llama-bpe", 128256},      {"llama-spm", 32000},
    {"mpt", 50432},        {"nomic-bert-moe", 250048}, {"phi-3", 32064},
    {"qwen2", 151936},     {"qwen35", 151936},         {"refact", 49216},
    {"starcoder", 49152},
};

fs::path vocab_dir() {
  if (const char* env = std::getenv("SHERRY_LLAMA_VOCAB_DIR")) return env;
  return fs::path(SHERRY_SOURCE_DIR) / ".cache" / "llama-vocab";
}

// These tests run in the CTest entry test_gguf_vocab_files (with --no-skip), which fetches the
// files first (fixture llama_vocab): a missing directory then fails. The plain test_gguf run
// leaves them out (doctest's skip decorator), so it stays offline and reads the files once.
TEST_CASE("llama.cpp vocab files parse and agree with an independent walk" * doctest::skip()) {
  const fs::path dir = vocab_dir();
  REQUIRE_MESSAGE(fs::exists(dir), dir.string(),
                  ": expected llama.cpp vocab files (run scripts/fetch_npm_assets.sh)");
  std::map<std::string, size_t> seen;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    if (!file.starts_with("ggml-vocab-") || !file.ends_with(".gguf")) continue;
    const std::string name = file.substr(11, file.size() - 11 - 5);
    INFO("file ", entry.path().string());
    auto reader = Reader::open(entry.path().string());
    REQUIRE_MESSAGE(reader.ok(), reader.error().message());
    const Reader& r = **reader;

    const std::vector<uint8_t> bytes = testing::read_file(entry.path().string());
    const testing::MiniWalk walk = testing::MiniWalker(bytes).walk();
    REQUIRE(r.metadata().size() == walk.metadata.size());
    for (size_t i = 0; i < walk.metadata.size(); ++i)
      CHECK(r.metadata()[i].first == walk.metadata[i].first);
    REQUIRE(r.tensors().size() == walk.tensors.size());
    for (size_t i = 0; i < walk.tensors.size(); ++i) {
      CHECK(r.tensors()[i].name == walk.tensors[i].name);
      CHECK(r.tensors()[i].offset == walk.tensors[i].offset);
    }
    CHECK(walk.end_of_infos <= bytes.size());
    const testing::WalkValue* walked_tokens = walk.find(names::kTokenizerTokens);
    REQUIRE(walked_tokens != nullptr);
    CHECK(walked_tokens->type == testing::kWalkArray);
    CHECK(walked_tokens->element_type == testing::kWalkString);

    auto tokens = r.get_string_array(names::kTokenizerTokens);
    REQUIRE_MESSAGE(tokens.ok(), tokens.error().message());
    CHECK(tokens->size() == walked_tokens->elements.size());
    const auto published = kPublishedVocabSizes.find(name);
    if (published != kPublishedVocabSizes.end()) CHECK(tokens->size() == published->second);
    CHECK(r.get_string(names::kTokenizerModel).ok());
    seen[name] = tokens->size();
  }
  // The files every tokenizer test relies on.
  for (const char* needed : {"llama-spm", "llama-bpe", "gpt-2", "qwen2", "phi-3"}) {
    CHECK_MESSAGE(seen.count(needed) == 1, "missing ggml-vocab-", needed, ".gguf");
  }
  MESSAGE(seen.size() << " vocab files checked");
}

TEST_CASE("known tokens sit at their published ids" * doctest::skip()) {
  const fs::path dir = vocab_dir();
  auto spm = Reader::open((dir / "ggml-vocab-llama-spm.gguf").string());
  REQUIRE(spm.ok());
  const auto spm_tokens = (*spm)->get_string_array(names::kTokenizerTokens).value();
  CHECK(spm_tokens[0] == "<unk>");
  CHECK(spm_tokens[1] == "<s>");
  CHECK(spm_tokens[2] == "</s>");
  CHECK(spm_tokens[3] == "<0x00>");
  CHECK((*spm)->get_int(names::kTokenizerBosId).value() == 1);
  CHECK((*spm)->get_int(names::kTokenizerEosId).value() == 2);
  CHECK((*spm)->get_float_array(names::kTokenizerScores).value().size() == 32000);

  auto gpt2 = Reader::open((dir / "ggml-vocab-gpt-2.gguf").string());
  REQUIRE(gpt2.ok());
  const auto gpt2_tokens = (*gpt2)->get_string_array(names::kTokenizerTokens).value();
  CHECK(gpt2_tokens[50256] == "<|endoftext|>");
  CHECK(gpt2_tokens[0] == "!");
  CHECK((*gpt2)->get_string_array(names::kTokenizerMerges).value().size() == 50000);
}

}  // namespace
}  // namespace sherry::gguf
