// The transformer on tiny random models written through the GGUF writer.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include <doctest/doctest.h>

#include "runtime/float_kernels.h"
#include "runtime/gguf/gguf_types.h"
#include "runtime/int8_gemm.h"
#include "runtime/llama_model.h"
#include "tiny_llama.h"

namespace sherry::runtime {
namespace {

using testing::LinearFormat;
using testing::relative_error;
using testing::sample_tokens;
using testing::TinySpec;

std::unique_ptr<LlamaModel> load_ok(const std::string& path, ModelOptions options = {}) {
  options.threads = options.threads == 0 ? 2 : options.threads;
  auto model = LlamaModel::load(path, options);
  REQUIRE_MESSAGE(model.ok(), (model.ok() ? "" : model.error().message()));
  return std::move(*model);
}

std::vector<float> run(LlamaModel& model, const std::vector<int32_t>& tokens, int64_t position,
                       bool all = false) {
  auto logits = model.forward(tokens, position, all);
  REQUIRE_MESSAGE(logits.ok(), (logits.ok() ? "" : logits.error().message()));
  return {logits->begin(), logits->end()};
}

// JIT kernels against the reference kernels, whole model (see "jit logits match reference").
constexpr double kJitScalingTolerance = 1e-5;

int32_t argmax(const float* logits, int64_t n) {
  return static_cast<int32_t>(std::max_element(logits, logits + n) - logits);
}

// The float path against the naive forward, one token at a time (decode) and in batches of 16
// with all logits (prefill).
void check_float_path(const TinySpec& spec) {
  const std::string path = testing::temp_path("float.gguf");
  const auto weights = testing::write_tiny_llama(path, spec);
  const auto tokens = sample_tokens(40, weights.vocab, spec.seed);
  const auto expected = testing::naive_forward(weights, tokens);
  const int64_t vocab = weights.vocab;
  ModelOptions options;
  options.kv_type = KvType::kF32;
  options.batch = 16;
  auto model = load_ok(path, options);
  for (size_t t = 0; t < tokens.size(); ++t) {
    const auto logits = run(*model, {tokens[t]}, static_cast<int64_t>(t));
    const std::vector<float> want(expected.begin() + t * vocab, expected.begin() + (t + 1) * vocab);
    INFO("position ", t);
    CHECK(relative_error(logits, want) < 1e-4);
  }
  auto batched = load_ok(path, options);
  for (size_t first = 0; first < tokens.size(); first += 16) {
    const size_t count = std::min<size_t>(16, tokens.size() - first);
    const std::vector<int32_t> chunk(tokens.begin() + first, tokens.begin() + first + count);
    const auto logits = run(*batched, chunk, static_cast<int64_t>(first), true);
    const std::vector<float> want(expected.begin() + first * vocab,
                                  expected.begin() + (first + count) * vocab);
    INFO("batch at ", first);
    CHECK(relative_error(logits, want) < 1e-4);
  }
}

// A tiny model of each architecture with what sets it apart exercised: Qwen3's heads wider than
// hidden / heads (its 128-wide heads), HunYuan's NTK alpha.
TinySpec architecture_spec(const std::string& architecture) {
  TinySpec spec;
  spec.architecture = architecture;
  if (architecture == "qwen3") spec.head_dim = 64;
  if (architecture == "hunyuan-dense") spec.rope_alpha = 1000.0f;
  return spec;
}

const char* const kArchitectures[] = {"llama", "qwen2", "qwen3", "hunyuan-dense"};

TEST_CASE("float path matches a naive float forward token by token and batched") {
  for (bool tied : {false, true}) {
    for (bool llama3 : {false, true}) {
      TinySpec spec;
      spec.tied_output = tied;
      spec.llama3_rope = llama3;
      spec.seed = 3 + tied + 2 * llama3;
      INFO("tied=", tied, " llama3=", llama3);
      check_float_path(spec);
    }
  }
}

TEST_CASE("every architecture's float path matches its naive forward") {
  // The naive forward follows each architecture's Hugging Face definition: NEOX (rotate_half)
  // pairs for qwen2, qwen3 and hunyuan-dense, q/k/v biases (qwen2), per-head q/k RMSNorm before
  // (qwen3) or after (hunyuan-dense) RoPE. A swapped norm order, a missed bias or the wrong
  // pairing moves the logits far past 1e-4.
  for (const char* architecture : kArchitectures) {
    TinySpec spec = architecture_spec(architecture);
    spec.seed = 21;
    INFO("architecture ", architecture);
    check_float_path(spec);
  }
}

TEST_CASE("f16 kv cache and f16 weights stay close to the naive forward") {
  TinySpec spec;
  spec.format = LinearFormat::kF16;
  const std::string path = testing::temp_path("f16.gguf");
  const auto weights = testing::write_tiny_llama(path, spec);
  const auto tokens = sample_tokens(24, weights.vocab, 11);
  const auto expected = testing::naive_forward(weights, tokens);
  auto model = load_ok(path);  // f16 KV cache by default
  const auto logits = run(*model, tokens, 0, true);
  CHECK(relative_error(logits, expected) < 1e-2);
}

TEST_CASE("bf16 weights match the naive forward over the same rounded weights") {
  TinySpec spec;
  spec.format = LinearFormat::kBF16;
  const std::string path = testing::temp_path("bf16.gguf");
  const auto weights = testing::write_tiny_llama(path, spec);
  const auto tokens = sample_tokens(24, weights.vocab, 13);
  const auto expected = testing::naive_forward(weights, tokens);
  ModelOptions options;
  options.kv_type = KvType::kF32;
  auto model = load_ok(path, options);
  const auto logits = run(*model, tokens, 0, true);
  CHECK(relative_error(logits, expected) < 1e-4);
}

TEST_CASE("a q8_0 lm head matches the naive forward over the q8_0 rounded head") {
  for (bool tied : {false, true}) {
    TinySpec spec;
    spec.tied_output = tied;
    const std::string path = testing::temp_path("q8_head.gguf");
    auto weights = testing::write_tiny_llama(path, spec);
    // The head the model will use: each row through Q8_0 and back, by hand (not the runtime's
    // quantizer, which is what this checks).
    testing::q8_0_by_hand(weights.output, spec.hidden);
    const auto tokens = sample_tokens(20, weights.vocab, 17);
    const auto expected = testing::naive_forward(weights, tokens);
    ModelOptions options;
    options.kv_type = KvType::kF32;
    options.head_q8_0 = true;
    auto model = load_ok(path, options);
    CHECK(model->load_stats().head_kernel.find("q8_0") != std::string::npos);
    const auto logits = run(*model, tokens, 0, true);
    INFO("tied=", tied);
    CHECK(relative_error(logits, expected) < 1e-4);
  }
}

TEST_CASE("a gguf q8_0 lm head matches the naive forward") {
  TinySpec spec;
  spec.q8_0_output = true;
  const std::string path = testing::temp_path("q8_file.gguf");
  const auto weights = testing::write_tiny_llama(path, spec);
  const auto tokens = sample_tokens(16, weights.vocab, 19);
  const auto expected = testing::naive_forward(weights, tokens);
  ModelOptions options;
  options.kv_type = KvType::kF32;
  auto model = load_ok(path, options);
  CHECK(model->load_stats().head_kernel.find("q8_0") != std::string::npos);
  CHECK(relative_error(run(*model, tokens, 0, true), expected) < 1e-4);
}

// The LM head on K-quant weights takes int8 activations: each block of 256 values of its input
// xn is rounded to steps of max|block| / 127, so every value moves by at most ‖xn‖∞ / 254 and
// logit r by at most (‖xn‖∞ / 254)·‖w_r‖₁ beyond the float path's own 1e-4 of the largest logit
// (the other tests' tolerance); 0.1 % on top for the float error in xn itself.
void check_k_quant_logits(const std::vector<float>& got, const std::vector<float>& want,
                          const std::vector<double>& head_input, const testing::TinyWeights& w,
                          int64_t first, int64_t count) {
  const int64_t h = w.spec.hidden;
  for (int64_t t = 0; t < count; ++t) {
    double xn_max = 0;
    for (int64_t i = 0; i < h; ++i) {
      xn_max = std::max(xn_max, std::fabs(head_input[(first + t) * h + i]));
    }
    double largest = 0;
    for (int64_t r = 0; r < w.vocab; ++r) {
      largest = std::max(largest, std::fabs(static_cast<double>(want[(first + t) * w.vocab + r])));
    }
    for (int64_t r = 0; r < w.vocab; ++r) {
      double row_l1 = 0;
      for (int64_t i = 0; i < h; ++i) row_l1 += std::fabs(static_cast<double>(w.output[r * h + i]));
      const double bound = 1e-4 * largest + xn_max / 254.0 * row_l1 * 1.001;
      INFO("position ", first + t, " logit ", r);
      REQUIRE(std::fabs(static_cast<double>(got[t * w.vocab + r]) -
                        want[(first + t) * w.vocab + r]) <= bound);
    }
  }
}

TEST_CASE("k quant heads and embeddings match the naive forward within the int8 rounding") {
  using gguf::TensorType;
  struct Case {
    TensorType output, embedding;
    bool tied;
    const char* head_kernel;
  };
  for (const Case& c : {Case{TensorType::kQ6_K, TensorType::kQ4_K, false, "int8_gemm_q6_k"},
                        Case{TensorType::kQ5_K, TensorType::kQ5_K, false, "int8_gemm_q5_k"},
                        Case{TensorType::kF32, TensorType::kQ4_K, true, "int8_gemm_q4_k"},
                        Case{TensorType::kQ4_K, TensorType::kF32, false, "int8_gemm_q4_k"},
                        Case{TensorType::kF32, TensorType::kQ6_K, false, "float_gemm_f32"}}) {
    TinySpec spec;
    spec.hidden = 256;
    spec.ffn = 512;
    spec.output_type = c.output;
    spec.embedding_type = c.embedding;
    spec.tied_output = c.tied;
    spec.seed = 23;
    const std::string path = testing::temp_path("k_quant_head.gguf");
    const auto weights = testing::write_tiny_llama(path, spec);
    const auto tokens = sample_tokens(20, weights.vocab, 29);
    std::vector<double> head_input;
    const auto expected = testing::naive_forward(weights, tokens, &head_input);
    ModelOptions options;
    options.kv_type = KvType::kF32;
    options.batch = 8;
    auto model = load_ok(path, options);
    INFO("output ", gguf::tensor_type_name(c.output), " embedding ",
         gguf::tensor_type_name(c.embedding), " tied ", c.tied);
    CHECK(model->load_stats().head_kernel.starts_with(c.head_kernel));
    // The int8 GEMM follows the ISA cap (test_runtime_max_isa_* run this under SHERRY_MAX_ISA).
    if (std::string(c.head_kernel).starts_with("int8_gemm")) {
      const std::string path = int8_gemm_path(active_float_isa());
      CHECK(model->load_stats().head_kernel == std::string(c.head_kernel) + "_" + path);
      const char* cap = std::getenv("SHERRY_MAX_ISA");
      if (cap != nullptr && std::string(cap) == "avx2") CHECK(path == "avx2");
      if (cap != nullptr && std::string(cap) == "ssse3") CHECK(path == "scalar");
    }
    // Batched, all logits (the head as a GEMM over 8 tokens), then token by token (GEMV).
    for (size_t first = 0; first < tokens.size(); first += 8) {
      const size_t count = std::min<size_t>(8, tokens.size() - first);
      const std::vector<int32_t> chunk(tokens.begin() + first, tokens.begin() + first + count);
      check_k_quant_logits(run(*model, chunk, static_cast<int64_t>(first), true), expected,
                           head_input, weights, static_cast<int64_t>(first),
                           static_cast<int64_t>(count));
    }
    auto decode = load_ok(path, options);
    for (size_t t = 0; t < tokens.size(); ++t) {
      check_k_quant_logits(run(*decode, {tokens[t]}, static_cast<int64_t>(t)), expected, head_input,
                           weights, static_cast<int64_t>(t), 1);
    }
  }
}

// SHERRY_Q8_0_ACTIVATIONS for a scope, then as it was.
class Q8_0ActivationsEnv {
 public:
  explicit Q8_0ActivationsEnv(const char* value) {
    if (const char* old = std::getenv(kName)) saved_ = old;
    setenv(kName, value, 1);
  }
  ~Q8_0ActivationsEnv() {
    if (saved_) {
      setenv(kName, saved_->c_str(), 1);
    } else {
      unsetenv(kName);
    }
  }

 private:
  static constexpr const char* kName = "SHERRY_Q8_0_ACTIVATIONS";
  std::optional<std::string> saved_;
};

TEST_CASE("the weight bytes read per token count a k quant head in its stored type") {
  // Two files alike but for the head's type: the difference is the head's bytes.
  using gguf::TensorType;
  auto bytes_with = [](TensorType output, TensorType embedding, bool tied) {
    TinySpec spec;
    spec.hidden = 256;
    spec.ffn = 512;
    spec.output_type = output;
    spec.embedding_type = embedding;
    spec.tied_output = tied;
    const std::string path = testing::temp_path("k_bytes.gguf");
    const auto weights = testing::write_tiny_llama(path, spec);
    return std::pair(load_ok(path)->linear_weight_bytes(), weights.vocab);
  };
  const auto [f32, vocab] = bytes_with(TensorType::kF32, TensorType::kF32, false);
  const int64_t f32_head = vocab * 256 * 4;
  CHECK(bytes_with(TensorType::kQ6_K, TensorType::kF32, false).first ==
        f32 - f32_head + vocab * 210);
  CHECK(bytes_with(TensorType::kQ5_K, TensorType::kF32, false).first ==
        f32 - f32_head + vocab * 176);
  CHECK(bytes_with(TensorType::kQ4_K, TensorType::kF32, false).first ==
        f32 - f32_head + vocab * 144);
  // Tied: the head is the embedding, in its type.
  CHECK(bytes_with(TensorType::kF32, TensorType::kQ4_K, true).first ==
        f32 - f32_head + vocab * 144);
}

TEST_CASE("a q8_0 head on int8 activations matches the naive forward within the int8 rounding") {
  // A GGUF Q8_0 head and an F32 head repacked at load (--head-q8), tied or not: blocks of 32
  // activations, so the bound of check_k_quant_logits holds as it is.
  for (int variant = 0; variant < 3; ++variant) {
    TinySpec spec;
    spec.q8_0_output = variant == 0;
    spec.tied_output = variant == 2;
    spec.seed = 31 + variant;
    const std::string path = testing::temp_path("q8_int8.gguf");
    auto weights = testing::write_tiny_llama(path, spec);
    if (variant > 0) testing::q8_0_by_hand(weights.output, spec.hidden);
    const auto tokens = sample_tokens(12, weights.vocab, 37);
    std::vector<double> head_input;
    const auto expected = testing::naive_forward(weights, tokens, &head_input);
    ModelOptions options;
    options.kv_type = KvType::kF32;
    options.head_q8_0 = variant > 0;
    Q8_0ActivationsEnv int8("int8");
    auto model = load_ok(path, options);
    INFO("variant ", variant);
    CHECK(model->load_stats().head_kernel.starts_with("int8_gemm_q8_0_"));
    check_k_quant_logits(run(*model, tokens, 0, true), expected, head_input, weights, 0,
                         static_cast<int64_t>(tokens.size()));
  }
  {
    Q8_0ActivationsEnv float_activations("float");
    TinySpec spec;
    spec.q8_0_output = true;
    const std::string path = testing::temp_path("q8_float.gguf");
    testing::write_tiny_llama(path, spec);
    CHECK(load_ok(path)->load_stats().head_kernel.starts_with("float_gemm_q8_0_"));
  }
}

TEST_CASE("an unknown SHERRY_Q8_0_ACTIVATIONS is an error naming the variable and the value") {
  TinySpec spec;
  const std::string path = testing::temp_path("q8_env.gguf");
  testing::write_tiny_llama(path, spec);
  Q8_0ActivationsEnv bad("bf16");
  auto model = LlamaModel::load(path, ModelOptions{});
  REQUIRE_FALSE(model.ok());
  CHECK(model.error().message() ==
        "environment variable SHERRY_Q8_0_ACTIVATIONS: expected float or int8, found 'bf16'");
}

TEST_CASE("float kernels agree between the portable and the vectorised versions") {
  TinySpec spec;
  spec.format = LinearFormat::kF16;
  const std::string path = testing::temp_path("generic.gguf");
  const auto weights = testing::write_tiny_llama(path, spec);
  const auto tokens = sample_tokens(20, weights.vocab, 5);
  for (FloatIsa isa : {FloatIsa::kAvx2, FloatIsa::kAvx512}) {
    if (!float_isa_runs_here(isa)) continue;
    for (bool q8 : {false, true}) {
      ModelOptions options;
      options.head_q8_0 = q8;
      set_float_kernels_isa(isa);
      auto fast = load_ok(path, options);
      const auto a = run(*fast, tokens, 0, true);
      set_float_kernels_isa(FloatIsa::kGeneric);
      auto slow = load_ok(path, options);
      const auto b = run(*slow, tokens, 0, true);
      set_float_kernels_isa(std::nullopt);
      INFO("float path ", std::string(to_string(isa)), " q8_0 head=", q8);
      CHECK(relative_error(a, b) < 1e-4);
    }
  }
}

void check_quantized_model(LinearFormat format, const std::string& architecture = "llama") {
  TinySpec spec = architecture_spec(architecture);
  spec.format = format;
  if (format == LinearFormat::kStq1_0) {
    spec.hidden = 256;
    spec.ffn = 512;
  }
  const std::string path = testing::temp_path("quantized.gguf");
  const auto weights = testing::write_tiny_llama(path, spec);
  const auto tokens = sample_tokens(33, weights.vocab, 7);
  const int64_t vocab = weights.vocab;

  ModelOptions jit_options;
  jit_options.batch = 8;
  ModelOptions ref_options = jit_options;
  ref_options.backend = jit::KernelBackend::kReference;
  auto jit_model = load_ok(path, jit_options);
  auto ref_model = load_ok(path, ref_options);

  SUBCASE("jit logits match reference logits") {
    // The kernels' int32 accumulators are exact; only the fp32 scaling of G scale groups may be
    // ordered differently (the AArch64 kernels scale inside the kernel): (G + 2)·2⁻²⁴ relative per
    // layer output, ~1e-6 through the model. On x86-64 the logits are identical (measured 0).
    const auto a = run(*jit_model, tokens, 0);
    const auto b = run(*ref_model, tokens, 0);
    CHECK(relative_error(a, b) < kJitScalingTolerance);
  }
  SUBCASE("greedy tokens are identical on both backends") {
    std::vector<int32_t> seq_a{tokens[0]}, seq_b{tokens[0]};
    for (int64_t pos = 0; pos < 24; ++pos) {
      const auto a = run(*jit_model, {seq_a.back()}, pos);
      const auto b = run(*ref_model, {seq_b.back()}, pos);
      seq_a.push_back(argmax(a.data(), vocab));
      seq_b.push_back(argmax(b.data(), vocab));
    }
    CHECK(seq_a == seq_b);
  }
  SUBCASE("batched prefill and token by token decoding give the same logits") {
    // One call over the 33 tokens (batches of 8 inside) gives the last token's logits; calls of 8
    // tokens give every position's. Both against one token at a time on the same (jit) kernels,
    // and the reference kernels decoding token by token agree too.
    const auto last = run(*jit_model, tokens, 0);
    auto chunked = load_ok(path, jit_options);
    std::vector<float> batched;
    for (size_t first = 0; first < tokens.size(); first += 8) {
      const std::vector<int32_t> chunk(tokens.begin() + first,
                                       tokens.begin() + std::min(first + 8, tokens.size()));
      const auto logits = run(*chunked, chunk, static_cast<int64_t>(first), true);
      batched.insert(batched.end(), logits.begin(), logits.end());
    }
    REQUIRE(batched.size() == tokens.size() * vocab);
    auto stepwise = load_ok(path, jit_options);
    std::vector<float> step;
    for (size_t t = 0; t < tokens.size(); ++t) {
      step = run(*stepwise, {tokens[t]}, t);
      const auto ref_step = run(*ref_model, {tokens[t]}, t);
      const std::vector<float> at_t(batched.begin() + t * vocab, batched.begin() + (t + 1) * vocab);
      INFO("position ", t);
      CHECK(relative_error(step, at_t) < 1e-4);
      CHECK(relative_error(ref_step, step) < kJitScalingTolerance);
    }
    CHECK(relative_error(last, step) < 1e-4);
  }
  SUBCASE("logits stay near a naive float forward over the dequantized weights") {
    // Only int8 activation rounding separates them: a layout or scale mix-up is far off.
    const std::vector<int32_t> few(tokens.begin(), tokens.begin() + 8);
    const auto expected = testing::naive_forward(weights, few);
    const auto logits = run(*jit_model, few, 0, true);
    CHECK(relative_error(logits, expected) < 3e-2);
  }
}

TEST_CASE("sherry model runs the same on jit and reference kernels") {
  check_quantized_model(LinearFormat::kSherry);
}
TEST_CASE("stq1_0 model runs the same on jit and reference kernels") {
  check_quantized_model(LinearFormat::kStq1_0);
}
TEST_CASE("sherry and stq1_0 models of every architecture run the same on jit and reference") {
  for (const char* architecture : {"qwen2", "qwen3", "hunyuan-dense"}) {
    for (LinearFormat format : {LinearFormat::kSherry, LinearFormat::kStq1_0}) {
      INFO("architecture ", architecture, " format ", static_cast<int>(format));
      check_quantized_model(format, architecture);
    }
  }
}

TEST_CASE("stq1_0 with contiguous quads follows the grouping the file or the option gives") {
  TinySpec spec;
  spec.format = LinearFormat::kStq1_0;
  spec.hidden = 256;
  spec.ffn = 512;
  spec.stq1_0_grouping = BlockGrouping::kContiguous;
  const auto tokens = sample_tokens(8, 300, 23);
  ModelOptions options;
  options.kv_type = KvType::kF32;
  // Activations rounded to int8 are all that separates the runtime from the naive forward over
  // the dequantized weights (3e-2 as for the other quantized models); reading the blocks with
  // the other grouping puts every weight in another column and lands far off.
  constexpr double kQuantizedTolerance = 3e-2;

  SUBCASE("declared in sherry.block_grouping") {
    const std::string path = testing::temp_path("stq_contiguous.gguf");
    const auto weights = testing::write_tiny_llama(path, spec);
    const auto expected = testing::naive_forward(weights, tokens);
    auto model = load_ok(path, options);
    CHECK(relative_error(run(*model, tokens, 0, true), expected) < kQuantizedTolerance);
    options.stq1_0_grouping = BlockGrouping::kStride16;  // contradicts the file
    auto refused = LlamaModel::load(path, options);
    REQUIRE_FALSE(refused.ok());
    CHECK(
        refused.error().message() ==
        path +
            ": key 'sherry.stq1_0_block_grouping': the file declares block grouping 'contiguous', "
            "found --stq1-0-grouping stride16 (the option is for files that do not say)");
  }
  SUBCASE("not declared: the option says it, stride16 without it") {
    spec.declare_stq1_0_grouping = false;
    const std::string path = testing::temp_path("stq_undeclared.gguf");
    const auto weights = testing::write_tiny_llama(path, spec);
    const auto expected = testing::naive_forward(weights, tokens);
    auto strided = load_ok(path, options);
    CHECK(relative_error(run(*strided, tokens, 0, true), expected) > 0.3);
    options.stq1_0_grouping = BlockGrouping::kContiguous;
    auto model = load_ok(path, options);
    CHECK(relative_error(run(*model, tokens, 0, true), expected) < kQuantizedTolerance);
  }
}

TEST_CASE("kv cache carries the conversation across several turns") {
  TinySpec spec;
  spec.format = LinearFormat::kSherry;
  const std::string path = testing::temp_path("turns.gguf");
  const auto weights = testing::write_tiny_llama(path, spec);
  const auto all = sample_tokens(45, weights.vocab, 9);
  ModelOptions options;
  options.batch = 8;
  // Three turns: a prompt, a few decoded tokens, a second prompt, more tokens.
  auto turns = load_ok(path, options);
  std::vector<float> last;
  int64_t pos = 0;
  for (const auto& [begin, end] :
       std::vector<std::pair<int, int>>{{0, 13}, {13, 17}, {17, 30}, {30, 45}}) {
    if (end - begin > 4) {
      last = run(*turns, std::vector<int32_t>(all.begin() + begin, all.begin() + end), pos);
      pos += end - begin;
    } else {
      for (int i = begin; i < end; ++i) last = run(*turns, {all[i]}, pos++);
    }
  }
  auto single = load_ok(path, options);
  const auto expected = run(*single, all, 0);
  CHECK(pos == 45);
  CHECK(relative_error(last, expected) < 1e-4);
}

TEST_CASE("forward rejects tokens outside the vocabulary and positions beyond the context") {
  const std::string path = testing::temp_path("errors.gguf");
  const auto weights = testing::write_tiny_llama(path, TinySpec{});
  ModelOptions options;
  options.context = 16;
  options.batch = 4;
  auto model = load_ok(path, options);
  auto bad_token = model->forward(std::vector<int32_t>{static_cast<int32_t>(weights.vocab)}, 0);
  REQUIRE_FALSE(bad_token.ok());
  CHECK(bad_token.error().message().find("expected an id in [0, " +
                                         std::to_string(weights.vocab)) != std::string::npos);
  auto beyond = model->forward(std::vector<int32_t>{1, 2}, 15);
  REQUIRE_FALSE(beyond.ok());
  CHECK(beyond.error().message().find("within the context of 16 tokens") != std::string::npos);
  auto too_many = model->forward(std::vector<int32_t>{1, 2, 3, 4, 5}, 0, true);
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.error().message().find("expected at most the batch size 4") != std::string::npos);
  auto empty = model->forward(std::vector<int32_t>{}, 0);
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().message().find("expected at least one token") != std::string::npos);
}

}  // namespace
}  // namespace sherry::runtime
