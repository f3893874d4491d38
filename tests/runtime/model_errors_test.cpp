// Every load error names the file and the object: missing, truncated or foreign files, unknown
// architectures, missing tensors, shapes that contradict the metadata, unsupported types, bad
// tokenizer metadata.
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "runtime/llama_model.h"
#include "tiny_llama.h"

namespace sherry::runtime {
namespace {

using testing::TinySpec;

// The load error of a model written with `spec`; fails the test if the load succeeds.
std::string load_error(const std::string& path) {
  ModelOptions options;
  options.threads = 1;
  auto model = LlamaModel::load(path, options);
  REQUIRE_FALSE(model.ok());
  return model.error().message();
}

std::string write_and_fail(const TinySpec& spec, const std::string& name) {
  const std::string path = testing::temp_path(name);
  testing::write_tiny_llama(path, spec);
  return load_error(path);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("a missing model file is an error naming it") {
  const std::string path = testing::temp_path("does_not_exist.gguf");
  const std::string error = load_error(path);
  CHECK(contains(error, path));
}

TEST_CASE("a truncated model file is an error naming it") {
  const std::string path = testing::temp_path("truncated.gguf");
  testing::write_tiny_llama(path, TinySpec{});
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  const std::string error = load_error(path);
  CHECK(contains(error, path));
}

TEST_CASE("a file that is not gguf is an error naming it") {
  const std::string path = testing::temp_path("foreign.gguf");
  std::ofstream(path) << "this is a text file, not a model, but long enough to have a header";
  const std::string error = load_error(path);
  CHECK(contains(error, path));
  CHECK(contains(error, "magic"));
}

TEST_CASE("an unknown architecture is an error naming the key and the value") {
  TinySpec spec;
  spec.architecture = "mamba";
  const std::string error = write_and_fail(spec, "arch.gguf");
  CHECK(contains(error, "general.architecture"));
  CHECK(contains(error, "expected architecture \"llama\", found \"mamba\""));
}

TEST_CASE("a missing tensor is an error naming it") {
  TinySpec spec;
  spec.drop_tensor = "blk.1.ffn_down.weight";
  const std::string error = write_and_fail(spec, "missing_tensor.gguf");
  CHECK(contains(error, "'blk.1.ffn_down.weight'"));
  CHECK(contains(error, "no such tensor"));
  spec.drop_tensor = "blk.0.attn_norm.weight";
  CHECK(contains(write_and_fail(spec, "missing_norm.gguf"), "'blk.0.attn_norm.weight'"));
}

TEST_CASE("a tensor shape that contradicts the metadata is an error naming both") {
  TinySpec spec;
  spec.metadata_ffn = 512;  // tensors are written with ffn 256
  const std::string error = write_and_fail(spec, "shape.gguf");
  CHECK(contains(error, "'blk.0.ffn_gate.weight'"));
  CHECK(contains(error, "512"));
  CHECK(contains(error, "256"));
}

TEST_CASE("an unsupported tensor type is an error naming the tensor and the type") {
  TinySpec spec;
  spec.q4_0_tensor = "blk.0.attn_v.weight";
  const std::string error = write_and_fail(spec, "q4.gguf");
  CHECK(contains(error, "'blk.0.attn_v.weight'"));
  CHECK(contains(error,
                 "expected type sherry, STQ1_0, F32, F16, BF16, Q8_0, Q4_K, Q5_K or Q6_K, "
                 "found Q4_0"));
}

TEST_CASE("head counts that do not divide are an error naming the key") {
  TinySpec spec;
  spec.metadata_kv_heads = 3;  // 4 heads
  const std::string error = write_and_fail(spec, "kv_heads.gguf");
  CHECK(contains(error, "llama.attention.head_count_kv"));
  CHECK(contains(error, "expected a divisor of the head count 4, found 3"));
}

TEST_CASE("tokenizer metadata errors name the key") {
  TinySpec spec;
  spec.tokenizer_model = "bert";
  std::string error = write_and_fail(spec, "tokenizer.gguf");
  CHECK(contains(error, "tokenizer.ggml.model"));
  CHECK(contains(error, "found \"bert\""));

  spec.tokenizer_model = "";
  error = write_and_fail(spec, "no_tokenizer.gguf");
  CHECK(contains(error, "expected a tokenizer in the model file"));

  spec.tokenizer_model = "gpt2";  // byte-level BPE: our vocabulary has no merges nor pre-tokenizer
  error = write_and_fail(spec, "gpt2_tokenizer.gguf");
  CHECK(contains(error, "tokenizer.ggml.pre"));
  CHECK(contains(error, "found \"default\""));

  spec.tokenizer_model = "llama";
  spec.chat_template_not_string = true;
  error = write_and_fail(spec, "chat_template.gguf");
  CHECK(contains(error, "key 'tokenizer.chat_template': expected a string, found"));
}

}  // namespace
}  // namespace sherry::runtime
