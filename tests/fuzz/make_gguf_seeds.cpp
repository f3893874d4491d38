// Writes the fuzzer's seed corpus into a directory: small valid files that reach every part of
// the reader (all value types, nested arrays, alignment, float, sherry and STQ1_0 tensors), plus a
// vocab-only file and an empty-tensor-list file.
//
//   make_gguf_seeds OUT_DIR
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/sparse_absmean.h"
#include "core/stq1_0.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/gguf/sherry_tensors.h"

namespace {

using namespace sherry;
using namespace sherry::gguf;

std::vector<float> wave(size_t n) {
  std::vector<float> w(n);
  for (size_t i = 0; i < n; ++i) w[i] = std::sin(0.91f * static_cast<float>(i)) * 0.05f;
  return w;
}

Status write_seeds(const std::string& dir) {
  {  // every value type, no tensors
    Writer w;
    w.set("u8", make_uint(ValueType::kUint8, 1));
    w.set("i8", make_int(ValueType::kInt8, -1));
    w.set("u16", make_uint(ValueType::kUint16, 2));
    w.set("i16", make_int(ValueType::kInt16, -2));
    w.set("u32", make_uint(ValueType::kUint32, 3));
    w.set("i32", make_int(ValueType::kInt32, -3));
    w.set("f32", make_float(ValueType::kFloat32, 0.5));
    w.set("b", make_bool(true));
    w.set("s", make_string("text"));
    w.set("u64", make_uint(ValueType::kUint64, 4));
    w.set("i64", make_int(ValueType::kInt64, -4));
    w.set("f64", make_float(ValueType::kFloat64, 0.25));
    w.set("nested", make_array(ValueType::kArray,
                               {make_array(ValueType::kInt32, {make_int(ValueType::kInt32, 9)})}));
    SHERRY_TRY(w.write(dir + "/values.gguf"));
  }
  {  // a tiny vocab
    Writer w;
    w.set_string(std::string(names::kTokenizerModel), "llama");
    w.set_string_array(std::string(names::kTokenizerTokens), {"<unk>", "<s>", "</s>", "a"});
    w.set_float32_array(std::string(names::kTokenizerScores), {0, 0, 0, -1});
    w.set_int32_array(std::string(names::kTokenizerTokenType), {2, 3, 3, 1});
    SHERRY_TRY(w.write(dir + "/vocab.gguf"));
  }
  {  // float tensors, alignment 8
    Writer w;
    w.set_uint32(std::string(names::kAlignment), 8);
    const auto x = wave(32);
    add_float_tensor(w, "f32", TensorType::kF32, {8}, std::span(x).first(8));
    add_float_tensor(w, "f16", TensorType::kF16, {4, 2}, std::span(x).first(8));
    add_float_tensor(w, "bf16", TensorType::kBF16, {2, 2, 2}, std::span(x).first(8));
    SHERRY_TRY(w.write(dir + "/floats.gguf"));
  }
  const auto x = wave(2 * 256);
  for (const WeightLayout layout :
       {WeightLayout{BlockGrouping::kContiguous, ScaleGranularity::kGroup, 32},
        WeightLayout{BlockGrouping::kContiguous, ScaleGranularity::kTensor, 32},
        WeightLayout{BlockGrouping::kStride16, ScaleGranularity::kChannel, 64}}) {
    auto packed = quantize_sparse_absmean(x.data(), 2, 64, layout);
    if (!packed) return packed.error();
    Writer w;
    SHERRY_TRY(add_sherry_tensor(w, "blk.0.attn_q.weight", packed->view()));
    SHERRY_TRY(w.write(fmt::format("{}/sherry_{}_{}.gguf", dir, to_string(layout.grouping),
                                   to_string(layout.granularity))));
  }
  {
    auto packed = quantize_sparse_absmean(x.data(), 2, 256, kStq1_0Layout);
    if (!packed) return packed.error();
    Writer w;
    SHERRY_TRY(
        add_stq1_0_tensor(w, "blk.0.ffn_up.weight", packed->view(), TensorType::kSTQ1_0_Released));
    SHERRY_TRY(w.write(dir + "/stq1_0.gguf"));
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_gguf_seeds OUT_DIR\n");
    return 2;
  }
  if (Status s = write_seeds(argv[1]); !s) {
    std::fprintf(stderr, "error: %s\n", s.error().message().c_str());
    return 1;
  }
  return 0;
}
