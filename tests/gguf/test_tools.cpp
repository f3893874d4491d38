// sherry-make-model and sherry-quantize through their libraries: random models of several shapes
// and types, quantization checked tensor by tensor against quantize_sparse_absmean on the input,
// and every error.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <set>

#include "core/half.h"
#include "core/sparse_absmean.h"
#include "core/stq1_0.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/gguf/sherry_tensors.h"
#include "runtime/k_quants.h"
#include "tests/common/k_quant_reference.h"
#include "tests/gguf/gguf_test_util.h"
#include "tests/gguf/mini_walker.h"
#include "tests/gguf/walk_check.h"
#include "tools/sherry-make-model/random_model.h"
#include "tools/sherry-quantize/quantize_model.h"

namespace sherry::gguf {
namespace {

using testing::TempPath;
namespace n = names;

RandomModelSpec small_spec(TensorType type = TensorType::kF32) {
  RandomModelSpec spec;
  spec.hidden = 128;
  spec.layers = 2;
  spec.heads = 4;
  spec.kv_heads = 2;
  spec.ffn = 256;
  spec.vocab = 300;
  spec.context = 64;
  spec.type = type;
  spec.seed = 5;
  return spec;
}

// Bytes of a (rows × cols) tensor of a GGUF type id, from docs/gguf.md's block sizes (the
// test's own table): F32, F16, BF16, Q8_0, Q4_K, Q5_K, Q6_K, STQ1_0 (both ids), sherry codes.
uint64_t tensor_bytes(uint32_t type, uint64_t cols, uint64_t rows) {
  const uint64_t n = cols * rows;
  switch (type) {
    case 0:
      return 4 * n;
    case 1:
    case 30:
      return 2 * n;
    case 8:
      return n / 32 * 34;
    case 12:
      return n / 256 * 144;
    case 13:
      return n / 256 * 176;
    case 14:
      return n / 256 * 210;
    case 42:
    case 43:
      return n / 256 * 42;
    case 1250:
      return rows * ((cols + 31) / 32 * 5);
  }
  FAIL("no size rule for type ", type);
  return 0;
}

// A random model as MiniWalker (tests/gguf/mini_walker.h, no project reader) walks it: the
// shape keys with their GGUF types and values, every tensor's name, dims, type and place in the
// writer's order, the padding and the end. The weights are random: only their sizes are known.
void walk_random_model(const std::string& path, const RandomModelSpec& spec) {
  testing::WrittenFile want;
  want.mode = testing::WrittenFile::Metadata::kSubset;
  auto u32 = [](int64_t v) { return make_uint(ValueType::kUint32, static_cast<uint64_t>(v)); };
  want.metadata = {
      {std::string(n::kArchitecture), make_string("llama")},
      {std::string(n::kContextLength), u32(spec.context)},
      {std::string(n::kEmbeddingLength), u32(spec.hidden)},
      {std::string(n::kBlockCount), u32(spec.layers)},
      {std::string(n::kFeedForwardLength), u32(spec.ffn)},
      {std::string(n::kHeadCount), u32(spec.heads)},
      {std::string(n::kHeadCountKv), u32(spec.kv_heads)},
      {std::string(n::kRopeDimensionCount), u32(spec.hidden / spec.heads)},
      {std::string(n::kRopeFreqBase), make_float(ValueType::kFloat32, spec.rope_base)},
      {std::string(n::kVocabSize), u32(spec.vocab)},
      {std::string(n::kTokenizerModel), make_string("llama")},
      {std::string(n::kTokenizerBosId), u32(1)},
      {std::string(n::kTokenizerEosId), u32(2)},
  };
  const auto type = static_cast<uint32_t>(spec.type);
  const int64_t kv = spec.kv_heads * (spec.hidden / spec.heads);
  auto add = [&](std::string name, uint32_t t, int64_t cols, int64_t rows) {
    std::vector<uint64_t> dims = {static_cast<uint64_t>(cols)};
    if (rows > 0) dims.push_back(static_cast<uint64_t>(rows));
    want.tensors.push_back(
        {std::move(name), t, dims, {}, tensor_bytes(t, cols, std::max<int64_t>(rows, 1))});
  };
  add(std::string(n::kTokenEmbedding), type, spec.hidden, spec.vocab);
  for (int64_t l = 0; l < spec.layers; ++l) {
    add(n::block_tensor(l, n::kAttnNorm), 0, spec.hidden, 0);
    add(n::block_tensor(l, n::kAttnQ), type, spec.hidden, spec.hidden);
    add(n::block_tensor(l, n::kAttnK), type, spec.hidden, kv);
    add(n::block_tensor(l, n::kAttnV), type, spec.hidden, kv);
    add(n::block_tensor(l, n::kAttnOutput), type, spec.hidden, spec.hidden);
    add(n::block_tensor(l, n::kFfnNorm), 0, spec.hidden, 0);
    add(n::block_tensor(l, n::kFfnGate), type, spec.hidden, spec.ffn);
    add(n::block_tensor(l, n::kFfnUp), type, spec.hidden, spec.ffn);
    add(n::block_tensor(l, n::kFfnDown), type, spec.ffn, spec.hidden);
  }
  add(std::string(n::kOutputNorm), 0, spec.hidden, 0);
  add(std::string(n::kOutput), type, spec.hidden, spec.vocab);
  testing::check_walk(path, want);
}

// Floats of a walked F32/F16/BF16 tensor, decoded by the test from the bytes.
std::vector<float> walked_floats(const std::vector<uint8_t>& file, const testing::MiniWalk& walk,
                                 const testing::WalkTensor& t) {
  const uint64_t count = t.dims[0] * (t.dims.size() > 1 ? t.dims[1] : 1);
  const uint8_t* data = file.data() + walk.data_offset + t.offset;
  std::vector<float> out(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    if (t.type == 0) {
      std::memcpy(&out[i], data + 4 * i, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, data + 2 * i, 2);
      out[i] = t.type == 1 ? fp16_to_float(h) : bf16_to_float(h);
    }
  }
  return out;
}

// The quantized file as MiniWalker walks it, against the input as MiniWalker walks that: each
// linear layer as the Sherry codes and scales quantize_sparse_absmean gives for the input's
// floats (STQ1_0: its type and size), the head and the embedding in their target type (size),
// every other tensor with the input's bytes; places, padding and the end as the format says.
void walk_quantized(const std::string& in, const std::string& out, const QuantizeOptions& options) {
  const std::vector<uint8_t> input = testing::read_file(in);
  const testing::MiniWalk walked = testing::MiniWalker(input).walk();
  testing::WrittenFile want;
  want.mode = testing::WrittenFile::Metadata::kSubset;
  for (const testing::WalkTensor& t : walked.tensors) {
    const uint64_t cols = t.dims[0], rows = t.dims.size() > 1 ? t.dims[1] : 1;
    const bool is_linear = t.name.starts_with("blk.") && !t.name.ends_with("norm.weight");
    if (is_linear && options.format == QuantizeFormat::kSherry) {
      const std::vector<float> w = walked_floats(input, walked, t);
      const PackedTensor packed =
          quantize_sparse_absmean(w.data(), static_cast<int64_t>(rows), static_cast<int64_t>(cols),
                                  options.layout)
              .value();
      testing::add_sherry_written(want, t.name, scale_tensor_name(t.name), packed);
      continue;
    }
    if (is_linear) {
      const auto type = static_cast<uint32_t>(options.stq1_0_type);
      want.tensors.push_back({t.name, type, t.dims, {}, tensor_bytes(type, cols, rows)});
      continue;
    }
    std::optional<TensorType> target = t.name == n::kOutput           ? options.output_type
                                       : t.name == n::kTokenEmbedding ? options.embd_type
                                                                      : std::nullopt;
    const bool k_quant =
        target == TensorType::kQ4_K || target == TensorType::kQ5_K || target == TensorType::kQ6_K;
    if (k_quant && cols % 256 != 0) target = cols % 32 == 0 ? TensorType::kQ8_0 : TensorType::kF16;
    if (target && static_cast<uint32_t>(*target) != t.type) {
      const auto type = static_cast<uint32_t>(*target);
      want.tensors.push_back({t.name, type, t.dims, {}, tensor_bytes(type, cols, rows)});
      continue;
    }
    const uint8_t* data = input.data() + walked.data_offset + t.offset;
    want.tensors.push_back({t.name, t.type, t.dims,
                            std::vector<uint8_t>(data, data + tensor_bytes(t.type, cols, rows))});
  }
  testing::check_walk(out, want);
}

std::unique_ptr<Reader> open_or_fail(const std::string& path) {
  auto reader = Reader::open(path);
  REQUIRE_MESSAGE(reader.ok(), reader.error().message());
  return std::move(reader).value();
}

TEST_CASE("random models have the llama keys tensors and byte vocabulary asked for") {
  for (TensorType type : {TensorType::kF32, TensorType::kF16, TensorType::kBF16}) {
    INFO(tensor_type_name(type));
    const RandomModelSpec spec = small_spec(type);
    TempPath path("random.gguf");
    REQUIRE(write_random_model(spec, path.str()).ok());
    walk_random_model(path.str(), spec);
    const auto r = open_or_fail(path.str());
    CHECK(r->get_string(n::kArchitecture).value() == "llama");
    CHECK(r->get_int(n::kEmbeddingLength).value() == 128);
    CHECK(r->get_int(n::kBlockCount).value() == 2);
    CHECK(r->get_int(n::kHeadCount).value() == 4);
    CHECK(r->get_int(n::kHeadCountKv).value() == 2);
    CHECK(r->get_int(n::kFeedForwardLength).value() == 256);
    CHECK(r->get_int(n::kContextLength).value() == 64);
    CHECK(r->get_int(n::kRopeDimensionCount).value() == 32);
    CHECK(r->get_float(n::kRopeFreqBase).value() == 10000.0);
    CHECK(r->get_string(n::kTokenizerModel).value() == "llama");
    const auto tokens = r->get_string_array(n::kTokenizerTokens).value();
    REQUIRE(tokens.size() == 300);
    CHECK(tokens[0] == "<unk>");
    CHECK(tokens[1] == "<s>");
    CHECK(tokens[2] == "</s>");
    CHECK(tokens[3] == "<0x00>");
    CHECK(tokens[3 + 0x41] == "<0x41>");
    CHECK(tokens[258] == "<0xFF>");
    CHECK(tokens[259] == "\xe2\x96\x81");
    CHECK(std::set<std::string>(tokens.begin(), tokens.end()).size() == tokens.size());
    const auto types = r->get_int_array(n::kTokenizerTokenType).value();
    CHECK(types[0] == 2);
    CHECK(types[1] == 3);
    CHECK(types[100] == 6);
    CHECK(types[299] == 1);
    CHECK(r->get_float_array(n::kTokenizerScores).value().size() == 300);
    CHECK(r->get_int(n::kTokenizerBosId).value() == 1);
    CHECK(r->get_int(n::kTokenizerEosId).value() == 2);

    const std::vector<TensorType> weight_type = {type};
    CHECK(r->require_tensor(n::kTokenEmbedding, {128, 300}, weight_type).ok());
    CHECK(r->require_tensor(n::kOutput, {128, 300}, weight_type).ok());
    CHECK(r->require_tensor(n::kOutputNorm, {128}, {TensorType::kF32}).ok());
    for (int layer = 0; layer < 2; ++layer) {
      CHECK(
          r->require_tensor(n::block_tensor(layer, n::kAttnNorm), {128}, {TensorType::kF32}).ok());
      CHECK(r->require_tensor(n::block_tensor(layer, n::kFfnNorm), {128}, {TensorType::kF32}).ok());
      CHECK(r->require_tensor(n::block_tensor(layer, n::kAttnQ), {128, 128}, weight_type).ok());
      CHECK(r->require_tensor(n::block_tensor(layer, n::kAttnK), {128, 64}, weight_type).ok());
      CHECK(r->require_tensor(n::block_tensor(layer, n::kAttnV), {128, 64}, weight_type).ok());
      CHECK(
          r->require_tensor(n::block_tensor(layer, n::kAttnOutput), {128, 128}, weight_type).ok());
      CHECK(r->require_tensor(n::block_tensor(layer, n::kFfnGate), {128, 256}, weight_type).ok());
      CHECK(r->require_tensor(n::block_tensor(layer, n::kFfnUp), {128, 256}, weight_type).ok());
      CHECK(r->require_tensor(n::block_tensor(layer, n::kFfnDown), {256, 128}, weight_type).ok());
    }
    CHECK(r->tensors().size() == 3 + 2 * 9);
    // Weights look like N(0, 1/fan_in): mean near 0, standard deviation near 1/sqrt(128).
    const auto q = read_float_tensor(*r, n::block_tensor(0, n::kAttnQ)).value();
    double sum = 0, sum2 = 0;
    for (float v : q) sum += v, sum2 += static_cast<double>(v) * v;
    const double mean = sum / q.size(), std_dev = std::sqrt(sum2 / q.size() - mean * mean);
    CHECK(std::abs(mean) < 0.01);
    CHECK(std_dev == doctest::Approx(1.0 / std::sqrt(128.0)).epsilon(0.05));
  }
}

TEST_CASE("the same seed gives the same bytes and another seed other weights") {
  RandomModelSpec spec = small_spec();
  TempPath a("a.gguf"), b("b.gguf"), c("c.gguf");
  REQUIRE(write_random_model(spec, a.str()).ok());
  REQUIRE(write_random_model(spec, b.str()).ok());
  spec.seed = 6;
  REQUIRE(write_random_model(spec, c.str()).ok());
  CHECK(testing::read_file(a.str()) == testing::read_file(b.str()));
  const auto ra = open_or_fail(a.str()), rc = open_or_fail(c.str());
  CHECK(read_float_tensor(*ra, n::kOutput).value() != read_float_tensor(*rc, n::kOutput).value());
}

TEST_CASE("vocabularies of any size have distinct pieces") {
  for (int64_t size : {259, 260, 400, 1000, 20000}) {
    const auto vocab = random_model_vocab(size);
    CHECK(static_cast<int64_t>(vocab.size()) == size);
    CHECK(std::set<std::string>(vocab.begin(), vocab.end()).size() == vocab.size());
  }
}

TEST_CASE("bad random model shapes are rejected with the option named") {
  auto error = [](auto change) {
    RandomModelSpec spec = small_spec();
    change(spec);
    Status s = validate_random_model_spec(spec);
    REQUIRE(!s.ok());
    TempPath path("never.gguf");
    CHECK(write_random_model(spec, path.str()).error().message() == s.error().message());
    return s.error().message();
  };
  CHECK(error([](RandomModelSpec& s) { s.hidden = 0; }) ==
        "--hidden: expected a positive number, found 0");
  CHECK(error([](RandomModelSpec& s) { s.layers = -1; }) ==
        "--layers: expected a positive number, found -1");
  CHECK(error([](RandomModelSpec& s) { s.context = 0; }) ==
        "--ctx: expected a positive number, found 0");
  CHECK(error([](RandomModelSpec& s) { s.heads = 3; }) ==
        "--heads: expected a divisor of --hidden 128 giving an even head size, found 3");
  CHECK(error([](RandomModelSpec& s) { s.heads = 128; }) ==
        "--heads: expected a divisor of --hidden 128 giving an even head size, found 128");
  CHECK(error([](RandomModelSpec& s) { s.kv_heads = 3; }) ==
        "--kv-heads: expected a divisor of --heads 4, found 3");
  CHECK(error([](RandomModelSpec& s) { s.vocab = 258; }) ==
        "--vocab: expected at least 259 (3 control tokens and 256 byte tokens), found 258");
  CHECK(error([](RandomModelSpec& s) { s.type = TensorType::kQ8_0; }) ==
        "--type: expected f32, f16 or bf16, found Q8_0");
  CHECK(error([](RandomModelSpec& s) { s.rope_base = 0.0f; }) ==
        "--rope-base: expected a positive number, found 0");
  CHECK(error([](RandomModelSpec& s) { s.architecture = "mamba"; }) ==
        "--arch: expected llama, qwen2, qwen3 or hunyuan-dense, found 'mamba'");
  CHECK(error([](RandomModelSpec& s) { s.head_dim = 15; }) ==
        "--head-dim: expected 0 or a positive even number, found 15");
  CHECK(error([](RandomModelSpec& s) { s.rope_alpha = 1000.0f; }) ==
        "--rope-alpha: expected a positive number with --arch hunyuan-dense, found 1000");
  CHECK(error([](RandomModelSpec& s) {
          s.architecture = "hunyuan-dense";
          s.rope_alpha = -1.0f;
        }) == "--rope-alpha: expected a positive number with --arch hunyuan-dense, found -1");
  CHECK(parse_float_type("f64").error().message() ==
        "--type: expected f32, f16 or bf16, found 'f64'");
  CHECK(parse_float_type("bf16").value() == TensorType::kBF16);
}

// A head or embedding converted to a K-quant: the bytes are the runtime's quantizer's on the same
// input (the tool adds nothing of its own), and read back by the test's own decoder of the
// documented layout they are close to the input: relative RMSE under the bounds of
// tests/runtime/k_quants_test.cpp's normal rows with 20 % more room (these are other rows).
void check_k_quant_converted(const std::vector<float>& x, const std::vector<int64_t>& shape,
                             const TensorInfo& to) {
  const int64_t cols = shape[0], rows = shape[1];
  REQUIRE(cols % 256 == 0);
  const test::KType k = to.type == TensorType::kQ4_K   ? test::KType::kQ4_K
                        : to.type == TensorType::kQ5_K ? test::KType::kQ5_K
                                                       : test::KType::kQ6_K;
  const auto blocks = static_cast<int64_t>(x.size()) / 256;
  REQUIRE(to.byte_size == static_cast<uint64_t>(blocks * test::k_block_bytes(k)));
  std::vector<uint8_t> want(to.byte_size);
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* out = want.data() + r * (cols / 256) * test::k_block_bytes(k);
    const float* row = x.data() + r * cols;
    if (k == test::KType::kQ4_K)
      runtime::quantize_row_q4_k(row, cols, reinterpret_cast<runtime::Q4_KBlock*>(out));
    if (k == test::KType::kQ5_K)
      runtime::quantize_row_q5_k(row, cols, reinterpret_cast<runtime::Q5_KBlock*>(out));
    if (k == test::KType::kQ6_K)
      runtime::quantize_row_q6_k(row, cols, reinterpret_cast<runtime::Q6_KBlock*>(out));
  }
  CHECK(std::equal(want.begin(), want.end(), to.data));
  const std::vector<float> y = test::decode_k_blocks(k, to.data, blocks);
  double error = 0, power = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    REQUIRE(std::isfinite(y[i]));
    error += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    power += static_cast<double>(x[i]) * x[i];
  }
  const double bound = k == test::KType::kQ4_K ? 0.0746 : k == test::KType::kQ5_K ? 0.0366 : 0.0184;
  CHECK(std::sqrt(error / power) <= 1.2 * bound);
}

// Checks a tensor converted to Q8_0 or F16 against its input values, read from the documented
// layouts (Q8_0: per 32 weights an fp16 scale d then 32 int8 q, value d·q) and the rounding
// each type allows: d is the block's max |x| / 127 to fp16 precision (2^-11 relative); llama.cpp's
// quantizer rounds x / d with the fp32 d, so d·q is within d/2 + 127·|d − max|x|/127| of x; F16
// within 2^-11 relative (the inputs are normal numbers of moderate size).
void check_converted(const Reader& in, const TensorInfo& from, const TensorInfo& to) {
  REQUIRE(to.shape == from.shape);
  const std::vector<float> x = read_float_tensor(in, from).value();
  if (to.type == TensorType::kQ4_K || to.type == TensorType::kQ5_K ||
      to.type == TensorType::kQ6_K) {
    check_k_quant_converted(x, from.shape, to);
    return;
  }
  if (to.type == TensorType::kF16) {
    REQUIRE(to.byte_size == x.size() * 2);
    for (size_t i = 0; i < x.size(); ++i) {
      uint16_t bits;
      std::memcpy(&bits, to.data + 2 * i, 2);
      REQUIRE(std::fabs(fp16_to_float(bits) - x[i]) <= std::fabs(x[i]) * 0x1p-11f + 1e-7f);
    }
    return;
  }
  REQUIRE(to.type == TensorType::kQ8_0);
  REQUIRE(x.size() % 32 == 0);
  REQUIRE(to.byte_size == x.size() / 32 * 34);
  size_t full_scale_blocks = 0;
  for (size_t b = 0; b < x.size() / 32; ++b) {
    const uint8_t* block = to.data + 34 * b;
    uint16_t d_bits;
    std::memcpy(&d_bits, block, 2);
    const float d = fp16_to_float(d_bits);
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[32 * b + i]));
    const float d_exact = amax / 127.0f;
    REQUIRE(std::fabs(d - d_exact) <= d_exact * 0x1p-11f);
    const float bound = d_exact * 0.5f + 127.0f * std::fabs(d - d_exact) + amax * 0x1p-20f;
    int qmax = 0;
    for (int i = 0; i < 32; ++i) {
      const int q = static_cast<int8_t>(block[2 + i]);
      qmax = std::max(qmax, std::abs(q));
      REQUIRE(std::fabs(d * static_cast<float>(q) - x[32 * b + i]) <= bound);
    }
    REQUIRE(qmax <= 127);
    full_scale_blocks += qmax >= 126 ? 1 : 0;  // the block's largest weight spans the range
  }
  CHECK(full_scale_blocks == x.size() / 32);
}

// Checks `out` against quantizing `in` directly: quantized layers bit-exact, the head and the
// embedding converted as the options say (check_converted) or byte-identical like every other
// tensor, metadata copied.
void check_quantized(const std::string& in, const std::string& out,
                     const QuantizeOptions& options) {
  const auto ri = open_or_fail(in), ro = open_or_fail(out);
  for (const auto& [key, value] : ri->metadata()) {
    const Value* copied = ro->find(key);
    REQUIRE_MESSAGE(copied != nullptr, key);
    CHECK(*copied == value);
  }
  int quantized = 0;
  for (const TensorInfo& info : ri->tensors()) {
    INFO("tensor ", info.name);
    const bool is_linear = info.name.starts_with("blk.") && !info.name.ends_with("norm.weight");
    if (!is_linear) {
      const TensorInfo* copy = ro->find_tensor(info.name);
      REQUIRE(copy != nullptr);
      std::optional<TensorType> target = info.name == n::kOutput           ? options.output_type
                                         : info.name == n::kTokenEmbedding ? options.embd_type
                                                                           : std::nullopt;
      // The documented fallback of a K-quant on rows that are not whole super-blocks.
      const bool k_quant =
          target == TensorType::kQ4_K || target == TensorType::kQ5_K || target == TensorType::kQ6_K;
      if (k_quant && info.shape[0] % 256 != 0) {
        target = info.shape[0] % 32 == 0 ? TensorType::kQ8_0 : TensorType::kF16;
      }
      if (target && *target != info.type) {
        CHECK(copy->type == *target);
        check_converted(*ri, info, *copy);
        continue;
      }
      CHECK(copy->type == info.type);
      CHECK(copy->shape == info.shape);
      CHECK(std::equal(info.data, info.data + info.byte_size, copy->data,
                       copy->data + copy->byte_size));
      continue;
    }
    const auto w = read_float_tensor(*ri, info).value();
    const auto want =
        quantize_sparse_absmean(w.data(), info.shape[1], info.shape[0], options.layout).value();
    PackedTensor got_storage;
    PackedTensorView got;
    if (options.format == QuantizeFormat::kSherry) {
      got = read_sherry_tensor(*ro, info.name).value();
    } else {
      CHECK(ro->find_tensor(info.name)->type == options.stq1_0_type);
      got_storage = read_stq1_0_tensor(*ro, info.name).value();
      got = got_storage.view();
    }
    REQUIRE(got.rows == want.rows);
    REQUIRE(got.cols == want.cols);
    CHECK(got.layout.grouping == want.layout.grouping);
    CHECK(std::equal(want.scales.begin(), want.scales.end(), got.scales));
    bool same = true;
    for (int64_t r = 0; r < want.rows; ++r) {
      same = same && std::equal(want.codes.begin() + r * want.view().row_bytes(),
                                want.codes.begin() + (r + 1) * want.view().row_bytes(),
                                got.codes + r * got.row_bytes());
    }
    CHECK(same);
    ++quantized;
  }
  CHECK(quantized == 14);
}

TEST_CASE("quantizing a random model matches quantize_sparse_absmean tensor by tensor") {
  struct Case {
    TensorType type;
    std::string format;
    std::optional<int64_t> group_size;
    std::optional<std::string> granularity, grouping;
  };
  const Case cases[] = {
      {TensorType::kF32, "sherry", std::nullopt, std::nullopt, std::nullopt},
      {TensorType::kF16, "sherry", 64, std::nullopt, "stride16"},
      {TensorType::kBF16, "sherry", std::nullopt, "channel", std::nullopt},
      {TensorType::kF32, "sherry", std::nullopt, "tensor", "stride16"},
      {TensorType::kF16, "stq1_0", std::nullopt, std::nullopt, std::nullopt},
  };
  for (const Case& c : cases) {
    INFO(tensor_type_name(c.type), " ", c.format, " ", c.granularity.value_or("-"), " ",
         c.grouping.value_or("-"));
    RandomModelSpec spec = small_spec(c.type);
    spec.hidden = 256;  // STQ1_0 needs rows of 256
    spec.heads = 4;
    spec.ffn = 512;
    TempPath in("q_in.gguf"), out("q_out.gguf");
    REQUIRE(write_random_model(spec, in.str()).ok());
    const auto options =
        resolve_quantize_options(c.format, c.group_size, c.granularity, c.grouping, std::nullopt);
    REQUIRE_MESSAGE(options.ok(), options.error().message());
    auto report = quantize_model(in.str(), out.str(), options.value());
    REQUIRE_MESSAGE(report.ok(), report.error().message());
    check_quantized(in.str(), out.str(), options.value());
    walk_quantized(in.str(), out.str(), options.value());

    CHECK(report->input_file_bytes == testing::read_file(in.str()).size());
    CHECK(report->output_file_bytes == testing::read_file(out.str()).size());
    CHECK(report->output_file_bytes < report->input_file_bytes);
    for (const QuantizedTensorRow& row : report->tensors) {
      if (!row.quantized) continue;
      if (c.format == "stq1_0") {
        CHECK(row.bits_per_weight() == doctest::Approx(42.0 * 8 / 256));
      } else {
        CHECK(row.bits_per_weight() >= 1.25);
        CHECK(row.bits_per_weight() < 1.25 + 16.0 / 32 + 1e-9);
      }
    }
    const std::string text = format_quantize_report(*report, in.str(), out.str());
    CHECK(text.find("blk.1.ffn_down.weight") != std::string::npos);
    CHECK(text.find("quantized tensors: ") != std::string::npos);
    CHECK(text.find("whole file: ") != std::string::npos);
  }
}

TEST_CASE("the quantize report states sherry bits per weight at group 128") {
  TempPath in("r_in.gguf"), out("r_out.gguf");
  REQUIRE(write_random_model(small_spec(), in.str()).ok());
  auto report = quantize_model(in.str(), out.str(),
                               resolve_quantize_options("sherry", {}, {}, {}, {}).value());
  REQUIRE(report.ok());
  for (const QuantizedTensorRow& row : report->tensors) {
    if (row.quantized) CHECK(row.bits_per_weight() == doctest::Approx(1.25 + 16.0 / 128));
  }
}

TEST_CASE("the head and the embedding become Q6_K and Q4_K by default or what is asked") {
  struct Case {
    TensorType input;
    std::string output, embd;  // "default": the options' default (q6_k, q4_k)
    int64_t hidden;            // 128: rows too narrow for a K-quant, which falls back to Q8_0
  };
  const Case cases[] = {
      {TensorType::kF32, "default", "default", 256}, {TensorType::kF16, "q5_k", "q6_k", 256},
      {TensorType::kBF16, "q4_k", "q5_k", 256},      {TensorType::kF32, "default", "default", 128},
      {TensorType::kF16, "f16", "keep", 128},        {TensorType::kBF16, "keep", "f16", 128},
      {TensorType::kF16, "keep", "keep", 128},       {TensorType::kBF16, "q8_0", "keep", 128}};
  for (const Case& c : cases) {
    INFO(tensor_type_name(c.input), " --output-type ", c.output, " --embd-type ", c.embd,
         " hidden ", c.hidden);
    TempPath in("h_in.gguf"), out("h_out.gguf");
    RandomModelSpec spec = small_spec(c.input);
    spec.hidden = c.hidden;
    REQUIRE(write_random_model(spec, in.str()).ok());
    QuantizeOptions options = resolve_quantize_options("sherry", {}, {}, {}, {}).value();
    if (c.output != "default") {
      options.output_type = parse_float_tensor_type("--output-type", c.output).value();
    }
    if (c.embd != "default") {
      options.embd_type = parse_float_tensor_type("--embd-type", c.embd).value();
    }
    auto report = quantize_model(in.str(), out.str(), options);
    REQUIRE_MESSAGE(report.ok(), report.error().message());
    check_quantized(in.str(), out.str(), options);
    auto written_type = [&](const std::string& choice, TensorType default_type) {
      const TensorType asked = choice == "default" ? default_type
                               : choice == "keep"  ? c.input
                               : choice == "f16"   ? TensorType::kF16
                               : choice == "q8_0"  ? TensorType::kQ8_0
                               : choice == "q4_k"  ? TensorType::kQ4_K
                               : choice == "q5_k"  ? TensorType::kQ5_K
                                                   : TensorType::kQ6_K;
      const bool k_quant =
          asked == TensorType::kQ4_K || asked == TensorType::kQ5_K || asked == TensorType::kQ6_K;
      return k_quant && c.hidden % 256 != 0 ? TensorType::kQ8_0 : asked;
    };
    const auto ro = open_or_fail(out.str());
    CHECK(ro->find_tensor(n::kOutput)->type == written_type(c.output, TensorType::kQ6_K));
    CHECK(ro->find_tensor(n::kTokenEmbedding)->type == written_type(c.embd, TensorType::kQ4_K));
    // A fallback is said in the report, once per tensor.
    const std::string text = format_quantize_report(*report, in.str(), out.str());
    if (c.output == "default" && c.hidden == 128) {
      CHECK(text.find("note: output.weight: Q6_K needs rows of a multiple of 256 weights, found "
                      "128: written as Q8_0\n") != std::string::npos);
      CHECK(text.find("note: token_embd.weight: Q4_K needs rows of a multiple of 256 weights, "
                      "found 128: written as Q8_0\n") != std::string::npos);
    } else {
      CHECK(text.find("note:") == std::string::npos);
    }
    // One decode step: every block tensor, the output norm and head, one embedding row.
    uint64_t want = 0;
    for (const TensorInfo& info : ro->tensors()) {
      if (info.name.starts_with("blk.") || info.name == n::kOutputNorm || info.name == n::kOutput) {
        want += info.byte_size;
      }
    }
    const TensorInfo* embd = ro->find_tensor(n::kTokenEmbedding);
    want += embd->byte_size / static_cast<uint64_t>(embd->shape[1]);
    CHECK(report->decode_bytes_per_token == want);
    CHECK(format_quantize_report(*report, in.str(), out.str())
              .find(fmt::format("decode reads per token: {} bytes of weights", want)) !=
          std::string::npos);
  }
}

TEST_CASE("a k quant head on rows neither of 256 nor of 32 weights falls back to F16") {
  // llama.cpp falls back too (to Q5_0, Q5_1 or Q8_0, then F16); sherry has no Q5_0/Q5_1 kernels.
  Writer w;
  w.set_string(std::string(n::kArchitecture), "llama");
  std::vector<float> head(48 * 4);
  for (size_t i = 0; i < head.size(); ++i) head[i] = 0.01f * static_cast<float>(i % 17) - 0.08f;
  add_float_tensor(w, std::string(n::kOutput), TensorType::kF32, {48, 4}, head);
  add_float_tensor(w, n::block_tensor(0, n::kAttnQ), TensorType::kF32, {128, 4},
                   std::vector<float>(128 * 4, 0.25f));
  TempPath in("head48.gguf"), out("head48_out.gguf");
  REQUIRE(w.write(in.str()).ok());
  const QuantizeOptions options = resolve_quantize_options("sherry", {}, {}, {}, {}).value();
  auto report = quantize_model(in.str(), out.str(), options);
  REQUIRE_MESSAGE(report.ok(), report.error().message());
  const auto ro = open_or_fail(out.str());
  REQUIRE(ro->find_tensor(n::kOutput)->type == TensorType::kF16);
  check_converted(*open_or_fail(in.str()), *open_or_fail(in.str())->find_tensor(n::kOutput),
                  *ro->find_tensor(n::kOutput));
  CHECK(format_quantize_report(*report, in.str(), out.str())
            .find("note: output.weight: Q6_K needs rows of a multiple of 256 weights, found 48: "
                  "written as F16\n") != std::string::npos);
}

TEST_CASE("bad quantize options are rejected with the option named") {
  auto error = [](std::string type, std::optional<int64_t> g, std::optional<std::string> gran,
                  std::optional<std::string> grouping, std::optional<uint32_t> id = std::nullopt) {
    auto options = resolve_quantize_options(type, g, gran, grouping, id);
    REQUIRE(!options.ok());
    return options.error().message();
  };
  CHECK(error("q4", {}, {}, {}) == "--type: expected sherry or stq1_0, found 'q4'");
  CHECK(error("stq1_0", 128, {}, {}) ==
        "--type stq1_0 fixes the scales (group scales of 256): expected no --group-size or "
        "--granularity, found --group-size");
  CHECK(error("stq1_0", {}, "channel", {}) ==
        "--type stq1_0 fixes the scales (group scales of 256): expected no --group-size or "
        "--granularity, found --granularity");
  CHECK(error("stq1_0", {}, {}, "zigzag") ==
        "--grouping: unknown block grouping 'zigzag': expected contiguous or stride16");
  CHECK(resolve_quantize_options("stq1_0", {}, {}, "contiguous", {}).value().layout ==
        stq1_0_layout(BlockGrouping::kContiguous));
  CHECK(resolve_quantize_options("stq1_0", {}, {}, "stride16", {}).value().layout == kStq1_0Layout);
  CHECK(error("stq1_0", {}, {}, {}, 44) == "--stq1_0-id: expected 42 or 43, found 44");
  CHECK(error("sherry", {}, {}, {}, 42) ==
        "--stq1_0-id: expected only with --type stq1_0, found --type sherry");
  CHECK(error("sherry", {}, "row", {}) ==
        "--granularity: unknown scale granularity 'row': expected group, channel or tensor");
  CHECK(error("sherry", {}, {}, "zigzag") ==
        "--grouping: unknown block grouping 'zigzag': expected contiguous or stride16");
  CHECK(error("sherry", 64, "channel", {}) ==
        "--group-size: expected only with --granularity group, found --granularity channel");
  CHECK(error("sherry", 30, {}, {}) ==
        "--group-size: expected a positive multiple of 4 for contiguous grouping, found 30");
  CHECK(error("sherry", 32, {}, "stride16") ==
        "--group-size: expected a positive multiple of 64 for stride16 grouping, found 32");
  CHECK(error("sherry", 0, {}, {}) ==
        "--group-size: expected a positive multiple of 4 for contiguous grouping, found 0");
  CHECK(parse_float_tensor_type("--output-type", "q4_0").error().message() ==
        "--output-type: expected q4_k, q5_k, q6_k, q8_0, f16 or keep, found 'q4_0'");
  CHECK(parse_float_tensor_type("--embd-type", "").error().message() ==
        "--embd-type: expected q4_k, q5_k, q6_k, q8_0, f16 or keep, found ''");
  CHECK(parse_float_tensor_type("--output-type", "Q6_K").error().message() ==
        "--output-type: expected q4_k, q5_k, q6_k, q8_0, f16 or keep, found 'Q6_K'");
  CHECK(!parse_float_tensor_type("--embd-type", "keep").value().has_value());
  CHECK(parse_float_tensor_type("--embd-type", "q4_k").value() == TensorType::kQ4_K);
  CHECK(parse_float_tensor_type("--embd-type", "q5_k").value() == TensorType::kQ5_K);
  CHECK(parse_float_tensor_type("--output-type", "q6_k").value() == TensorType::kQ6_K);
  CHECK(parse_float_tensor_type("--output-type", "q8_0").value() == TensorType::kQ8_0);
  CHECK(parse_float_tensor_type("--output-type", "f16").value() == TensorType::kF16);
  const auto stq = resolve_quantize_options("stq1_0", {}, {}, {}, 42).value();
  CHECK(stq.layout == kStq1_0Layout);
  CHECK(stq.stq1_0_type == TensorType::kSTQ1_0_Released);
}

TEST_CASE("bad quantize inputs give errors naming the file and tensor") {
  const QuantizeOptions options = resolve_quantize_options("sherry", {}, {}, {}, {}).value();
  TempPath out("never_out.gguf");
  const std::string missing = testing::temp_dir() + "/sherry_missing_model.gguf";
  CHECK(quantize_model(missing, out.str(), options).error().message() ==
        missing + ": cannot open: No such file or directory");

  TempPath text("not_gguf.gguf");
  const std::string words = "this is a text file and not a GGUF model at all";
  testing::write_file(text.str(), std::vector<uint8_t>(words.begin(), words.end()));
  CHECK(quantize_model(text.str(), out.str(), options).error().message() ==
        text.str() + ": header: expected magic \"GGUF\" (0x46554747), found 0x73696874");

  {
    Writer w;
    w.set_string(std::string(n::kArchitecture), "gpt2");
    TempPath p("gpt2.gguf");
    REQUIRE(w.write(p.str()).ok());
    CHECK(quantize_model(p.str(), out.str(), options).error().message() ==
          p.str() +
              ": key 'general.architecture': expected 'llama', 'qwen2', 'qwen3' or "
              "'hunyuan-dense', found 'gpt2'");
  }
  {
    Writer w;
    TempPath p("no_arch.gguf");
    REQUIRE(w.write(p.str()).ok());
    CHECK(quantize_model(p.str(), out.str(), options).error().message() ==
          p.str() + ": key 'general.architecture': expected a string, found no such key");
  }
  {
    Writer w;
    w.set_string(std::string(n::kArchitecture), "llama");
    w.add_tensor(n::block_tensor(0, n::kAttnQ), TensorType::kQ8_0, {128, 2},
                 std::vector<uint8_t>(2 * 4 * 34));
    TempPath p("q8.gguf");
    REQUIRE(w.write(p.str()).ok());
    CHECK(quantize_model(p.str(), out.str(), options).error().message() ==
          p.str() +
              ": tensor 'blk.0.attn_q.weight': expected type F32, F16 or BF16 to quantize, found "
              "Q8_0");
  }
  {
    Writer w;
    w.set_string(std::string(n::kArchitecture), "llama");
    add_float_tensor(w, n::block_tensor(0, n::kFfnUp), TensorType::kF32, {128},
                     std::vector<float>(128));
    TempPath p("one_dim.gguf");
    REQUIRE(w.write(p.str()).ok());
    CHECK(quantize_model(p.str(), out.str(), options).error().message() ==
          p.str() +
              ": tensor 'blk.0.ffn_up.weight': expected 2 dimensions [cols, rows], found [128]");
  }
  {
    Writer w;
    w.set_string(std::string(n::kArchitecture), "llama");
    add_float_tensor(w, std::string(n::kTokenEmbedding), TensorType::kF32, {48, 3},
                     std::vector<float>(48 * 3, 0.25f));
    TempPath p("embd48.gguf");
    REQUIRE(w.write(p.str()).ok());
    QuantizeOptions q8_0 = options;
    q8_0.embd_type = TensorType::kQ8_0;
    CHECK(quantize_model(p.str(), out.str(), q8_0).error().message() ==
          p.str() +
              ": tensor 'token_embd.weight': Q8_0 needs rows of a multiple of 32 weights, found 48 "
              "(--embd-type f16 or keep writes it)");
  }
  for (TensorType type : {TensorType::kQ4_K, TensorType::kQ8_0}) {
    Writer w;
    w.set_string(std::string(n::kArchitecture), "llama");
    std::vector<float> head(256 * 3, 0.25f);
    head[256 + 7] = std::numeric_limits<float>::infinity();
    add_float_tensor(w, std::string(n::kOutput), TensorType::kF32, {256, 3}, head);
    TempPath p("head_inf.gguf");
    REQUIRE(w.write(p.str()).ok());
    QuantizeOptions asked = options;
    asked.output_type = type;
    CHECK(quantize_model(p.str(), out.str(), asked).error().message() ==
          p.str() + ": tensor 'output.weight': --output-type " + tensor_type_name(type) +
              " needs finite weights, found inf at row 1, column 7");
  }
  {
    Writer w;
    w.set_string(std::string(n::kArchitecture), "llama");
    w.add_tensor(std::string(n::kOutput), TensorType::kQ8_0, {64, 2},
                 std::vector<uint8_t>(2 * 2 * 34));
    TempPath p("head_q8.gguf");
    REQUIRE(w.write(p.str()).ok());
    QuantizeOptions to_f16 = options;
    to_f16.output_type = TensorType::kF16;
    CHECK(quantize_model(p.str(), out.str(), to_f16).error().message() ==
          p.str() +
              ": tensor 'output.weight': --output-type F16 converts F32, F16 or BF16, found Q8_0 "
              "(--output-type keep copies it)");
  }
  {
    RandomModelSpec spec = small_spec();
    spec.hidden = 96;  // rows of 96 weights: group 128 does not divide them
    spec.heads = 2;
    spec.kv_heads = 2;
    TempPath p("narrow.gguf");
    REQUIRE(write_random_model(spec, p.str()).ok());
    CHECK(quantize_model(p.str(), out.str(), options).error().message() ==
          p.str() +
              ": blk.0.attn_q.weight (shape 96 x 96): cols 96 is not a multiple of group_size 128");
  }
  {
    Writer w;
    w.set_string(std::string(n::kArchitecture), "llama");
    w.set_float32(std::string(n::kRopeFreqBase), 1.0f);
    std::vector<float> w_nan(128 * 2, 0.5f);
    w_nan[130] = std::nanf("");
    add_float_tensor(w, n::block_tensor(3, n::kFfnDown), TensorType::kF32, {128, 2}, w_nan);
    TempPath p("nan.gguf");
    REQUIRE(w.write(p.str()).ok());
    CHECK(quantize_model(p.str(), out.str(), options).error().message() ==
          p.str() +
              ": blk.3.ffn_down.weight: weight at row 1 col 2 is nan: expected a finite number");
  }
  {
    Writer w;
    w.set_string(std::string(n::kArchitecture), "llama");
    add_float_tensor(w, std::string(n::kOutputNorm), TensorType::kF32, {8}, std::vector<float>(8));
    TempPath p("nothing.gguf");
    REQUIRE(w.write(p.str()).ok());
    CHECK(quantize_model(p.str(), out.str(), options).error().message() ==
          p.str() +
              ": expected blk.N.{attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,ffn_down}.weight "
              "tensors to "
              "quantize, found none among 1 tensors");
  }
  {
    RandomModelSpec spec = small_spec();
    spec.hidden = 100;  // rows of 100: groups of 4 fit, the 32-weight GGUF block does not
    spec.heads = 2;
    spec.kv_heads = 2;
    TempPath p("hundred.gguf");
    REQUIRE(write_random_model(spec, p.str()).ok());
    auto group4 = resolve_quantize_options("sherry", 4, {}, {}, {}).value();
    group4.embd_type = group4.output_type = std::nullopt;  // Q8_0 would stop at the embedding
    CHECK(quantize_model(p.str(), out.str(), group4).error().message() ==
          p.str() +
              ": tensor 'blk.0.attn_q.weight': expected cols to be a multiple of 32 (the sherry "
              "GGUF block), "
              "found 100");
  }
  {
    TempPath p("fine.gguf");
    REQUIRE(write_random_model(small_spec(), p.str()).ok());
    const std::string nowhere = testing::temp_dir() + "/sherry_no_such_dir/out.gguf";
    CHECK(quantize_model(p.str(), nowhere, options)
              .error()
              .message()
              .starts_with(nowhere + ": cannot create a temporary file beside it: "));
  }
  CHECK(testing::read_file(out.str()).empty());  // no output was written by any failure
}

}  // namespace
}  // namespace sherry::gguf
