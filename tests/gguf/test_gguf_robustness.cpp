// Truncated and corrupted files: every outcome is a parse or an error value, never a crash, a
// hang or an out-of-bounds read (the suite also runs under ASan+UBSan).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "core/half.h"
#include "core/sparse_absmean.h"
#include "core/stq1_0.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/gguf/sherry_tensors.h"
#include "tests/gguf/gguf_test_util.h"
#include "tests/gguf/walk_check.h"

namespace sherry::gguf {
namespace {

// A small but complete file: metadata of every shape (arrays of strings, floats, nested arrays),
// float tensors, a sherry tensor with its scales and an STQ1_0 tensor.
std::vector<uint8_t> sample_file() {
  Writer writer;
  writer.set_string(std::string(names::kArchitecture), "llama");
  writer.set_uint32(std::string(names::kBlockCount), 1);
  writer.set_float32(std::string(names::kRopeFreqBase), 10000.0f);
  writer.set_string_array(std::string(names::kTokenizerTokens),
                          {"<unk>", "<s>", "</s>", "a", "bc"});
  writer.set_float32_array(std::string(names::kTokenizerScores), {0, 0, 0, -1, -2});
  writer.set_int32_array(std::string(names::kTokenizerTokenType), {2, 3, 3, 1, 1});
  writer.set_bool(std::string(names::kTokenizerAddBos), true);
  writer.set("test.nested",
             make_array(ValueType::kArray,
                        {make_array(ValueType::kUint8, {make_uint(ValueType::kUint8, 1)})}));
  std::vector<float> norm(64, 1.0f);
  add_float_tensor(writer, std::string(names::kOutputNorm), TensorType::kF32, {64}, norm);
  std::vector<float> w(256 * 2);
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.37f * static_cast<float>(i));
  add_float_tensor(writer, std::string(names::kTokenEmbedding), TensorType::kF16, {64, 8},
                   std::span(w).first(64 * 8));
  auto packed = quantize_sparse_absmean(
      w.data(), 2, 256, {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 128});
  REQUIRE(packed.ok());
  REQUIRE(add_sherry_tensor(writer, names::block_tensor(0, names::kAttnQ), packed->view()).ok());
  auto stq = quantize_sparse_absmean(w.data(), 2, 256, kStq1_0Layout);
  REQUIRE(stq.ok());
  REQUIRE(add_stq1_0_tensor(writer, names::block_tensor(0, names::kAttnK), stq->view()).ok());
  testing::TempPath path("sample.gguf");
  REQUIRE(writer.write(path.str()).ok());
  return testing::read_file(path.str());
}

// Uses everything a parse handed out, so ASan sees any pointer that escaped the buffer.
void touch_everything(const Reader& reader) {
  for (const TensorInfo& info : reader.tensors()) {
    volatile uint8_t sink = info.data[0];
    sink = info.data[info.byte_size - 1];
    (void)sink;
    if (info.type == TensorType::kSherry) (void)read_sherry_tensor(reader, info.name);
    if (info.type == TensorType::kSTQ1_0 || info.type == TensorType::kSTQ1_0_Released) {
      (void)read_stq1_0_tensor(reader, info.name);
    }
    (void)read_float_tensor(reader, info);
  }
  (void)reader.get_string_array(names::kTokenizerTokens);
  (void)reader.get_float_array(names::kTokenizerScores);
  (void)reader.get_int(names::kBlockCount);
}

TEST_CASE("the sample file parses and every accessor works on it") {
  const std::vector<uint8_t> bytes = sample_file();
  auto reader = Reader::parse(bytes, "sample.gguf");
  REQUIRE_MESSAGE(reader.ok(), reader.error().message());
  CHECK((*reader)->tensors().size() == 5);
  CHECK(read_sherry_tensor(**reader, "blk.0.attn_q.weight").ok());
  CHECK(read_stq1_0_tensor(**reader, "blk.0.attn_k.weight").ok());
  touch_everything(**reader);
}

TEST_CASE("the sample file walks as written under an independent walker") {
  // MiniWalker (no project reader) over the file the corruption cases start from: every key with
  // its type and value, the tensors' names, dims, types, places and padding; the bytes of the
  // float tensors and the sherry tensor from the format's rules, the STQ1_0 tensor by size.
  using testing::WrittenFile;
  WrittenFile want;
  want.metadata = {
      {std::string(names::kArchitecture), make_string("llama")},
      {std::string(names::kBlockCount), make_uint(ValueType::kUint32, 1)},
      {std::string(names::kRopeFreqBase), make_float(ValueType::kFloat32, 10000.0)},
      {std::string(names::kTokenizerTokens),
       make_array(ValueType::kString, {make_string("<unk>"), make_string("<s>"),
                                       make_string("</s>"), make_string("a"), make_string("bc")})},
      {std::string(names::kTokenizerScores),
       make_array(ValueType::kFloat32,
                  {make_float(ValueType::kFloat32, 0), make_float(ValueType::kFloat32, 0),
                   make_float(ValueType::kFloat32, 0), make_float(ValueType::kFloat32, -1),
                   make_float(ValueType::kFloat32, -2)})},
      {std::string(names::kTokenizerTokenType),
       make_array(ValueType::kInt32,
                  {make_int(ValueType::kInt32, 2), make_int(ValueType::kInt32, 3),
                   make_int(ValueType::kInt32, 3), make_int(ValueType::kInt32, 1),
                   make_int(ValueType::kInt32, 1)})},
      {std::string(names::kTokenizerAddBos), make_bool(true)},
      {"test.nested",
       make_array(ValueType::kArray,
                  {make_array(ValueType::kUint8, {make_uint(ValueType::kUint8, 1)})})},
  };
  const std::vector<float> norm(64, 1.0f);
  want.tensors.push_back(
      {std::string(names::kOutputNorm), 0, {64}, testing::bytes_of(norm.data(), norm.size())});
  std::vector<float> w(256 * 2);
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.37f * static_cast<float>(i));
  std::vector<uint16_t> embedding(64 * 8);
  for (size_t i = 0; i < embedding.size(); ++i) embedding[i] = float_to_fp16(w[i]);
  want.tensors.push_back({std::string(names::kTokenEmbedding),
                          1,
                          {64, 8},
                          testing::bytes_of(embedding.data(), embedding.size())});
  const PackedTensor packed =
      quantize_sparse_absmean(w.data(), 2, 256,
                              {BlockGrouping::kContiguous, ScaleGranularity::kGroup, 128})
          .value();
  const std::string q = names::block_tensor(0, names::kAttnQ);
  testing::add_sherry_written(want, q, q.substr(0, q.size() - 7) + ".scale", packed);
  // STQ1_0: 42 bytes per 256 weights (docs/gguf.md), under add_stq1_0_tensor's default id 43,
  // and the key declaring its block grouping.
  want.metadata.emplace_back(std::string(kStq1_0BlockGroupingKey), make_string("stride16"));
  want.tensors.push_back({names::block_tensor(0, names::kAttnK), 43, {256, 2}, {}, 2 * 42});
  testing::check_walk(sample_file(), want);
}

TEST_CASE("truncating a file at any byte gives an error") {
  const std::vector<uint8_t> bytes = sample_file();
  auto full = Reader::parse(bytes, "sample.gguf");
  REQUIRE(full.ok());
  // Every section boundary: header, each key-value pair's end is covered by the byte sweep below
  // (the whole metadata and tensor-info part is shorter than the sweep), then each tensor's
  // first and last byte, which lie past it.
  const size_t sweep = std::min<size_t>(bytes.size(), 4096);
  std::vector<size_t> cuts;
  for (size_t n = 0; n < sweep; ++n) cuts.push_back(n);
  for (const TensorInfo& info : (*full)->tensors()) {
    const auto start = static_cast<size_t>(info.data - bytes.data());
    cuts.push_back(start);
    cuts.push_back(start + 1);
    cuts.push_back(start + info.byte_size - 1);
  }
  cuts.push_back(bytes.size() - 1);
  int errors = 0;
  for (size_t n : cuts) {
    if (n >= bytes.size()) continue;
    // A fresh copy of exactly n bytes, so ASan flags any read past the cut.
    const std::vector<uint8_t> prefix(bytes.begin(),
                                      bytes.begin() + static_cast<std::ptrdiff_t>(n));
    auto reader = Reader::parse(prefix, "cut.gguf");
    INFO("cut at ", n, " of ", bytes.size());
    REQUIRE(!reader.ok());
    CHECK(reader.error().message().starts_with("cut.gguf: "));
    ++errors;
  }
  CHECK(errors == static_cast<int>(cuts.size()));
}

TEST_CASE("thousands of random byte flips give a parse or an error") {
  const std::vector<uint8_t> bytes = sample_file();
  uint32_t seed = 20261121;
  if (const char* env = std::getenv("SHERRY_TEST_SEED"))
    seed = static_cast<uint32_t>(std::strtoul(env, nullptr, 10));
  std::printf("gguf byte-flip test: seed %u (set SHERRY_TEST_SEED to replay)\n", seed);
  std::mt19937 rng(seed);
  // Most flips land in the metadata and tensor infos, where they change the structure.
  auto reference = Reader::parse(bytes, "sample.gguf");
  REQUIRE(reference.ok());
  const size_t structure = static_cast<size_t>((*reference)->tensors().front().data - bytes.data());
  int parsed = 0, rejected = 0;
  for (int iteration = 0; iteration < 4000; ++iteration) {
    std::vector<uint8_t> corrupt = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      const size_t limit = rng() % 8 == 0 ? corrupt.size() : structure;
      const size_t at = rng() % limit;
      switch (rng() % 3) {
        case 0:
          corrupt[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 1:
          corrupt[at] = static_cast<uint8_t>(rng());
          break;
        default:
          corrupt[at] = rng() % 2 ? 0xFF : 0x00;
          break;
      }
    }
    INFO("seed ", seed, " iteration ", iteration);
    auto reader = Reader::parse(corrupt, "flip.gguf");
    if (reader.ok()) {
      touch_everything(**reader);
      ++parsed;
    } else {
      CHECK(reader.error().message().starts_with("flip.gguf: "));
      ++rejected;
    }
  }
  std::printf("gguf byte-flip test: %d parsed, %d rejected\n", parsed, rejected);
  CHECK(parsed > 0);
  CHECK(rejected > 0);
}

}  // namespace
}  // namespace sherry::gguf
