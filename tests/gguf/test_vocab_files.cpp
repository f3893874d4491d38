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

// The smallest walk over the format that finds key names and the token array length: no
// validation beyond staying inside the buffer (it throws on overrun; the files are trusted here).
struct MiniWalk {
  std::vector<std::string> keys;
  uint64_t tensor_count = 0;
  uint64_t token_count = 0;
  uint64_t end_of_infos = 0;
};

class MiniWalker {
 public:
  explicit MiniWalker(const std::vector<uint8_t>& bytes) : b_(bytes) {}

  MiniWalk walk() {
    MiniWalk out;
    REQUIRE(take<uint32_t>() == 0x46554747);
    take<uint32_t>();  // version
    out.tensor_count = take<uint64_t>();
    const uint64_t kv_count = take<uint64_t>();
    for (uint64_t i = 0; i < kv_count; ++i) {
      out.keys.push_back(text());
      const uint32_t type = take<uint32_t>();
      if (out.keys.back() == names::kTokenizerTokens) {
        REQUIRE(type == 9);
        const size_t at = p_;
        take<uint32_t>();
        out.token_count = take<uint64_t>();
        p_ = at;
      }
      skip(type);
    }
    for (uint64_t t = 0; t < out.tensor_count; ++t) {
      text();
      const uint32_t dims = take<uint32_t>();
      p_ += 8 * dims + 4 + 8;
    }
    out.end_of_infos = p_;
    return out;
  }

 private:
  template <class T>
  T take() {
    if (p_ + sizeof(T) > b_.size()) throw std::runtime_error("overrun");
    T v;
    std::memcpy(&v, b_.data() + p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  std::string text() {
    const uint64_t n = take<uint64_t>();
    if (n > b_.size() - p_) throw std::runtime_error("overrun");
    std::string s(reinterpret_cast<const char*>(b_.data() + p_), n);
    p_ += n;
    return s;
  }
  void skip(uint32_t type) {
    static const int kSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, -1, -1, 8, 8, 8};
    if (type == 8) {
      text();
    } else if (type == 9) {
      const uint32_t element = take<uint32_t>();
      const uint64_t n = take<uint64_t>();
      for (uint64_t i = 0; i < n; ++i) skip(element);
    } else {
      p_ += static_cast<size_t>(kSizes[type]);
    }
  }
  const std::vector<uint8_t>& b_;
  size_t p_ = 0;
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
    const MiniWalk walk = MiniWalker(bytes).walk();
    REQUIRE(r.metadata().size() == walk.keys.size());
    for (size_t i = 0; i < walk.keys.size(); ++i) CHECK(r.metadata()[i].first == walk.keys[i]);
    CHECK(r.tensors().size() == walk.tensor_count);
    CHECK(walk.end_of_infos <= bytes.size());

    auto tokens = r.get_string_array(names::kTokenizerTokens);
    REQUIRE_MESSAGE(tokens.ok(), tokens.error().message());
    CHECK(tokens->size() == walk.token_count);
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
