// Test support: safetensors files and tiny Hugging Face checkpoint folders written byte by byte
// from the format's description (8-byte little-endian header length, JSON header, data), not by
// the reader under test; shared by the convert tests and the fuzzer's seed generator.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace sherry::hf::testing {

struct RawTensor {
  std::string name;
  std::string dtype;  // "F32", "BF16", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// An F32 tensor of `shape` with values from a seeded normal distribution (scale 0.1).
inline RawTensor f32_tensor(std::string name, std::vector<int64_t> shape, uint32_t seed) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  std::vector<float> values(static_cast<size_t>(count));
  for (float& v : values) v = normal(rng);
  RawTensor t{std::move(name), "F32", std::move(shape), {}};
  t.bytes.resize(values.size() * sizeof(float));
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

// The header JSON of `tensors` laid out back to back; `metadata` is the "__metadata__" object's
// text ("" for none).
inline std::string safetensors_header(const std::vector<RawTensor>& tensors,
                                      const std::string& metadata = "") {
  std::vector<std::string> entries;
  if (!metadata.empty()) entries.push_back("\"__metadata__\":" + metadata);
  uint64_t offset = 0;
  for (const RawTensor& t : tensors) {
    entries.push_back(fmt::format(R"("{}":{{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}})",
                                  t.name, t.dtype, fmt::join(t.shape, ","), offset,
                                  offset + t.bytes.size()));
    offset += t.bytes.size();
  }
  return fmt::format("{{{}}}", fmt::join(entries, ","));
}

// A whole file: length, `header` (padded with spaces to 8 bytes), then the tensors' bytes.
inline std::vector<uint8_t> safetensors_bytes(const std::vector<RawTensor>& tensors,
                                              std::string header) {
  header.append((8 - header.size() % 8) % 8, ' ');
  size_t total = 8 + header.size();
  for (const RawTensor& t : tensors) total += t.bytes.size();
  std::vector<uint8_t> out(total);
  const uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(length >> (8 * i));
  std::memcpy(out.data() + 8, header.data(), header.size());
  size_t at = 8 + header.size();
  for (const RawTensor& t : tensors) {
    if (!t.bytes.empty()) std::memcpy(out.data() + at, t.bytes.data(), t.bytes.size());
    at += t.bytes.size();
  }
  return out;
}

inline std::vector<uint8_t> safetensors_bytes(const std::vector<RawTensor>& tensors) {
  return safetensors_bytes(tensors, safetensors_header(tensors, R"({"format":"pt"})"));
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}
inline void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

// A tiny LlamaForCausalLM: hidden 64 (or `hidden`), 1 layer, 4 heads / 2 kv heads, ffn 2·hidden,
// vocab 300, tied embeddings; `extra` is spliced into the JSON object.
inline std::string tiny_config(const std::string& architecture = "LlamaForCausalLM",
                               const std::string& extra = "", int64_t hidden = 64) {
  return fmt::format(
      R"({{"architectures":["{}"],"hidden_size":{},"intermediate_size":{},)"
      R"("num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":300,)"
      R"("max_position_embeddings":128,"rms_norm_eps":1e-5,"rope_theta":10000.0,)"
      R"("tie_word_embeddings":true,"hidden_act":"silu"{}}})",
      architecture, hidden, 2 * hidden, extra.empty() ? "" : "," + extra);
}

// The tensors of tiny_config(architecture, "", hidden): Qwen2 adds the q/k/v biases, Qwen3 the
// q/k norms.
inline std::vector<RawTensor> tiny_tensors(const std::string& architecture = "LlamaForCausalLM",
                                           int64_t hidden = 64) {
  const int64_t h = hidden, hd = hidden / 4, kv = 2 * hd, f = 2 * hidden;
  std::vector<RawTensor> t;
  uint32_t seed = 1;
  t.push_back(f32_tensor("model.embed_tokens.weight", {300, h}, seed++));
  const std::string p = "model.layers.0.";
  t.push_back(f32_tensor(p + "input_layernorm.weight", {h}, seed++));
  t.push_back(f32_tensor(p + "self_attn.q_proj.weight", {h, h}, seed++));
  t.push_back(f32_tensor(p + "self_attn.k_proj.weight", {kv, h}, seed++));
  t.push_back(f32_tensor(p + "self_attn.v_proj.weight", {kv, h}, seed++));
  if (architecture == "Qwen2ForCausalLM") {
    t.push_back(f32_tensor(p + "self_attn.q_proj.bias", {h}, seed++));
    t.push_back(f32_tensor(p + "self_attn.k_proj.bias", {kv}, seed++));
    t.push_back(f32_tensor(p + "self_attn.v_proj.bias", {kv}, seed++));
  }
  if (architecture == "Qwen3ForCausalLM") {
    t.push_back(f32_tensor(p + "self_attn.q_norm.weight", {hd}, seed++));
    t.push_back(f32_tensor(p + "self_attn.k_norm.weight", {hd}, seed++));
  }
  t.push_back(f32_tensor(p + "self_attn.o_proj.weight", {h, h}, seed++));
  t.push_back(f32_tensor(p + "post_attention_layernorm.weight", {h}, seed++));
  t.push_back(f32_tensor(p + "mlp.gate_proj.weight", {f, h}, seed++));
  t.push_back(f32_tensor(p + "mlp.up_proj.weight", {f, h}, seed++));
  t.push_back(f32_tensor(p + "mlp.down_proj.weight", {h, f}, seed++));
  t.push_back(f32_tensor("model.norm.weight", {h}, seed++));
  return t;
}

// A byte-level BPE tokenizer.json of the 256 byte tokens (GPT-2's byte → code point map) and two
// special tokens after them, with Llama 3's pre-tokenizer.
inline std::string tiny_tokenizer_json() {
  std::vector<std::string> vocab;
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    const uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(next++);
    std::string utf8;
    if (cp < 0x80) {
      utf8 = cp == '"' ? "\\\"" : cp == '\\' ? "\\\\" : std::string(1, static_cast<char>(cp));
    } else {
      utf8 += static_cast<char>(0xC0 | (cp >> 6));
      utf8 += static_cast<char>(0x80 | (cp & 0x3F));
    }
    vocab.push_back(fmt::format("\"{}\":{}", utf8, b));
  }
  return fmt::format(
      R"({{"version":"1.0","added_tokens":[)"
      R"({{"id":256,"content":"<|begin_of_text|>","special":true,"normalized":false}},)"
      R"({{"id":257,"content":"<|end_of_text|>","special":true,"normalized":false}}],)"
      R"("normalizer":null,"pre_tokenizer":{{"type":"Sequence","pretokenizers":[)"
      R"({{"type":"Split","pattern":{{"Regex":"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{{L}}\\p{{N}}]?\\p{{L}}+|\\p{{N}}{{1,3}}| ?[^\\s\\p{{L}}\\p{{N}}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},"behavior":"Isolated","invert":false}},)"
      R"({{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}}]}},)"
      R"("model":{{"type":"BPE","byte_fallback":false,"ignore_merges":true,"vocab":{{{}}},"merges":[]}}}})",
      fmt::join(vocab, ","));
}

// A checkpoint folder: config.json, model.safetensors, tokenizer.json, tokenizer_config.json.
inline void write_tiny_checkpoint(const std::filesystem::path& dir,
                                  const std::string& architecture = "LlamaForCausalLM",
                                  const std::string& extra = "", int64_t hidden = 64) {
  std::filesystem::create_directories(dir);
  write_file(dir / "config.json", tiny_config(architecture, extra, hidden));
  write_file(dir / "model.safetensors", safetensors_bytes(tiny_tensors(architecture, hidden)));
  write_file(dir / "tokenizer.json", tiny_tokenizer_json());
  write_file(dir / "tokenizer_config.json",
             std::string(R"({"bos_token":"<|begin_of_text|>","eos_token":"<|end_of_text|>"})"));
}

// A fresh folder under the system temp dir for this test process.
inline std::filesystem::path temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   fmt::format("sherry_test_convert_{}", static_cast<long>(getpid())) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace sherry::hf::testing
