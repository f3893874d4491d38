// Every load error names the file and the object: missing, truncated or foreign files, unknown
// architectures, missing tensors, shapes that contradict the metadata, unsupported types, bad
// tokenizer metadata.
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/sherry_tensors.h"
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
  CHECK(contains(error,
                 "expected architecture \"llama\", \"qwen2\", \"qwen3\" or "
                 "\"hunyuan-dense\", found \"mamba\""));
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

TEST_CASE("a missing q or k norm of qwen3 and hunyuan-dense is an error naming it") {
  for (const char* architecture : {"qwen3", "hunyuan-dense"}) {
    TinySpec spec;
    spec.architecture = architecture;
    spec.drop_tensor = "blk.1.attn_k_norm.weight";
    const std::string error = write_and_fail(spec, "missing_qk_norm.gguf");
    CHECK(contains(error,
                   "tensor 'blk.1.attn_k_norm.weight': expected shape [32] of F32 or F16 "
                   "or BF16, found no such tensor"));
  }
}

// A copy of the model at `path` with the `keys` set (uint32 or float32 values) and one tensor
// replaced by a [length] F32 vector of zeros (none when `tensor` is empty).
std::string rewritten(const std::string& path, std::vector<std::pair<std::string, double>> keys,
                      const std::string& tensor = "", int64_t length = 0) {
  auto reader = gguf::Reader::open(path);
  REQUIRE(reader.ok());
  gguf::Writer writer;
  for (const auto& [name, v] : (*reader)->metadata()) writer.set(name, v);
  for (const auto& [key, value] : keys) {
    if (value == static_cast<double>(static_cast<uint32_t>(value))) {
      writer.set_uint32(key, static_cast<uint32_t>(value));
    } else {
      writer.set_float32(key, static_cast<float>(value));
    }
  }
  for (const gguf::TensorInfo& info : (*reader)->tensors()) {
    if (info.name == tensor) {
      const std::vector<float> zeros(static_cast<size_t>(length));
      gguf::add_float_tensor(writer, info.name, gguf::TensorType::kF32, {length}, zeros);
    } else {
      writer.add_tensor(info.name, info.type, info.shape, std::span(info.data, info.byte_size));
    }
  }
  const std::string out = path + ".rewritten.gguf";
  REQUIRE(writer.write(out).ok());
  return out;
}

TEST_CASE("head counts and widths that do not fit are errors naming the key") {
  const std::string path = testing::temp_path("heads.gguf");
  testing::write_tiny_llama(path, TinySpec{});  // hidden 128, 4 heads, 2 kv heads
  std::string bad =
      rewritten(path, {{"llama.attention.head_count", 3}, {"llama.attention.head_count_kv", 1}});
  CHECK(load_error(bad) ==
        bad +
            ": key 'llama.attention.head_count': expected a head count dividing the embedding "
            "length 128 (or a key 'llama.attention.key_length'), found 3");
  bad = rewritten(path, {{"llama.attention.key_length", 33}});
  CHECK(load_error(bad) == bad +
                               ": key 'llama.attention.key_length': expected an even head "
                               "dimension (RoPE rotates pairs), found 33");
}

TEST_CASE("hunyuan-dense's rope alpha out of range is an error naming the key") {
  TinySpec spec;
  spec.architecture = "hunyuan-dense";
  const std::string path = testing::temp_path("alpha.gguf");
  testing::write_tiny_llama(path, spec);
  const std::string bad = rewritten(path, {{"hunyuan-dense.rope.scaling.alpha", 2e6 + 0.5}});
  CHECK(load_error(bad) == bad +
                               ": key 'hunyuan-dense.rope.scaling.alpha': expected a number in "
                               "(-1, 1000000], found 2000000.5");
}

TEST_CASE("a bias of the wrong length is an error naming it") {
  TinySpec spec;
  spec.architecture = "qwen2";
  const std::string path = testing::temp_path("bias.gguf");
  testing::write_tiny_llama(path, spec);
  const std::string bad = rewritten(path, {}, "blk.0.attn_k.bias", 48);
  CHECK(load_error(bad) == bad + ": tensor 'blk.0.attn_k.bias': expected shape [64], found [48]");
}

TEST_CASE("a key length that differs from the value length is an error naming both") {
  TinySpec spec;
  spec.architecture = "qwen3";
  spec.head_dim = 64;
  const std::string path = testing::temp_path("value_length.gguf");
  testing::write_tiny_llama(path, spec);
  const std::string bad = rewritten(path, {{"qwen3.attention.value_length", 32}});
  CHECK(load_error(bad) ==
        bad + ": key 'qwen3.attention.value_length': expected the key length 64, found 32");
}

}  // namespace
}  // namespace sherry::runtime
