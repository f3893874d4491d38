// Files written by llama.cpp's llama-quantize from a sherry-make-model file (llama_cpp_interop.sh
// makes them and sets SHERRY_LLAMA_CPP_OUTPUTS): sherry's reader must find the same tensors and
// metadata, with the types llama.cpp chose; llama.cpp's Q4_K/Q5_K/Q6_K tensors must decode in
// sherry to what llama.cpp decodes them to; sherry's quantizer must do at least as well as
// llama.cpp's on the same rows; and llama.cpp must read the K-quant files sherry writes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "runtime/float_kernels.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/gguf/sherry_tensors.h"
#include "runtime/k_quants.h"
#include "tests/common/k_quant_reference.h"

namespace sherry::gguf {
namespace {

const char* outputs_dir() {
  const char* dir = std::getenv("SHERRY_LLAMA_CPP_OUTPUTS");
  REQUIRE_MESSAGE(dir != nullptr,
                  "SHERRY_LLAMA_CPP_OUTPUTS unset: run tests/gguf/llama_cpp_interop.sh");
  return dir;
}

std::unique_ptr<Reader> open_output(const std::string& name) {
  auto reader = Reader::open(std::string(outputs_dir()) + "/" + name);
  REQUIRE_MESSAGE(reader.ok(), reader.error().message());
  return std::move(*reader);
}

const std::vector<TensorType> kKQuants = {TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K};

runtime::FloatType float_type(TensorType type) {
  return runtime::float_type_of(type).value();
}

// A tensor's rows decoded by the runtime (FloatMatrix::row_to_float).
std::vector<float> runtime_decode(const TensorInfo& info) {
  const int64_t cols = info.shape[0], rows = info.shape[1];
  const runtime::FloatMatrix m{float_type(info.type), rows, cols, info.data};
  std::vector<float> out(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) m.row_to_float(r, out.data() + r * cols);
  return out;
}

// The K-quant bytes of `values` (rows × cols) from the runtime's quantizer.
std::vector<uint8_t> runtime_quantize(TensorType type, const std::vector<float>& values,
                                      int64_t rows, int64_t cols) {
  const runtime::FloatMatrix shape{float_type(type), rows, cols, nullptr};
  std::vector<uint8_t> bytes(static_cast<size_t>(rows * shape.row_bytes()));
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* out = bytes.data() + r * shape.row_bytes();
    const float* x = values.data() + r * cols;
    if (type == TensorType::kQ4_K)
      runtime::quantize_row_q4_k(x, cols, reinterpret_cast<runtime::Q4_KBlock*>(out));
    if (type == TensorType::kQ5_K)
      runtime::quantize_row_q5_k(x, cols, reinterpret_cast<runtime::Q5_KBlock*>(out));
    if (type == TensorType::kQ6_K)
      runtime::quantize_row_q6_k(x, cols, reinterpret_cast<runtime::Q6_KBlock*>(out));
  }
  return bytes;
}

double squared_error(const std::vector<float>& x, const std::vector<float>& y) {
  double error = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(x[i]) - static_cast<double>(y[i]);
    error += d * d;
  }
  return error;
}

// Every tensor of `quantized` that has type `type` decodes in sherry to exactly the F32 tensor of
// the same name in `dequantized` (llama.cpp's own dequantization, written by its llama-quantize to
// F32); the test's independent decoder agrees too. Returns how many tensors were compared.
int check_decodes_as_llama_cpp(const Reader& quantized, const Reader& dequantized,
                               TensorType type) {
  int compared = 0;
  for (const TensorInfo& info : quantized.tensors()) {
    if (info.type != type) continue;
    INFO("tensor ", info.name, " ", tensor_type_name(type));
    const TensorInfo* f32 = dequantized.find_tensor(info.name);
    REQUIRE(f32 != nullptr);
    REQUIRE(f32->type == TensorType::kF32);
    REQUIRE(f32->shape == info.shape);
    const std::vector<float> got = runtime_decode(info);
    const test::KType k = type == TensorType::kQ4_K   ? test::KType::kQ4_K
                          : type == TensorType::kQ5_K ? test::KType::kQ5_K
                                                      : test::KType::kQ6_K;
    const std::vector<float> independent =
        test::decode_k_blocks(k, info.data, static_cast<int64_t>(got.size()) / 256);
    for (size_t i = 0; i < got.size(); ++i) {
      float want;
      std::memcpy(&want, f32->data + 4 * i, 4);
      INFO("weight ", i, " sherry ", got[i], " llama.cpp ", want);
      REQUIRE(test::same_float(got[i], want));
      REQUIRE(test::same_float(independent[i], want));
    }
    ++compared;
  }
  return compared;
}

TEST_CASE("llama.cpp k quant tensors decode in sherry bit for bit as llama.cpp decodes them" *
          doctest::skip()) {
  // model-pure-<T>.gguf: every matrix of the F32 model in T (llama-quantize --pure);
  // model-pure-<T>-F32.gguf: llama-quantize --allow-requantize of that back to F32.
  for (TensorType type : kKQuants) {
    const std::string name = "model-pure-" + tensor_type_name(type);
    const auto quantized = open_output(name + ".gguf");
    const auto dequantized = open_output(name + "-F32.gguf");
    CHECK(check_decodes_as_llama_cpp(*quantized, *dequantized, type) == 16);  // 14 + head + embd
  }
  // From the F16 model too (Q6_K).
  const auto quantized = open_output("model-f16-pure-Q6_K.gguf");
  const auto dequantized = open_output("model-f16-pure-Q6_K-F32.gguf");
  CHECK(check_decodes_as_llama_cpp(*quantized, *dequantized, TensorType::kQ6_K) == 16);
}

TEST_CASE("sherry k quant rows are at least as close to the input as llama.cpp's" *
          doctest::skip()) {
  const auto input = open_output("model-f32.gguf");
  for (TensorType type : kKQuants) {
    const auto theirs_file = open_output("model-pure-" + tensor_type_name(type) + ".gguf");
    double ours_total = 0, theirs_total = 0;
    for (const TensorInfo& theirs : theirs_file->tensors()) {
      if (theirs.type != type) continue;
      INFO("tensor ", theirs.name, " ", tensor_type_name(type));
      const TensorInfo* source = input->find_tensor(theirs.name);
      REQUIRE(source != nullptr);
      const std::vector<float> x = read_float_tensor(*input, *source).value();
      const int64_t cols = source->shape[0], rows = source->shape[1];
      const std::vector<uint8_t> bytes = runtime_quantize(type, x, rows, cols);
      const TensorInfo ours{theirs.name, type, theirs.shape, 0, bytes.size(), bytes.data()};
      const double ours_error = squared_error(x, runtime_decode(ours));
      const double theirs_error = squared_error(x, runtime_decode(theirs));
      // Each sub-block's error is at most llama.cpp's (docs/gguf.md §2): the sum too, up to the
      // rounding of the double sums.
      CHECK(ours_error <= theirs_error * (1 + 1e-12));
      ours_total += ours_error;
      theirs_total += theirs_error;
    }
    MESSAGE(tensor_type_name(type),
            ": squared error sherry / llama.cpp = ", ours_total / theirs_total);
    CHECK(theirs_total > 0);
  }
}

// Run by llama_cpp_interop.sh before llama-quantize reads them back: sherry-<T>.gguf, the F32
// model with every matrix quantized by sherry to T.
TEST_CASE("write sherry k quant copies of the random model for llama.cpp to read" *
          doctest::skip()) {
  const auto input = open_output("model-f32.gguf");
  for (TensorType type : kKQuants) {
    Writer writer;
    for (const auto& [key, value] : input->metadata()) writer.set(key, value);
    for (const TensorInfo& info : input->tensors()) {
      if (info.shape.size() != 2) {
        writer.add_tensor(info.name, info.type, info.shape, std::span(info.data, info.byte_size));
        continue;
      }
      const std::vector<float> x = read_float_tensor(*input, info).value();
      writer.add_tensor(info.name, type, info.shape,
                        runtime_quantize(type, x, info.shape[1], info.shape[0]));
    }
    const Status written =
        writer.write(std::string(outputs_dir()) + "/sherry-" + tensor_type_name(type) + ".gguf");
    REQUIRE_MESSAGE(written.ok(), written.error().message());
  }
}

TEST_CASE("llama.cpp reads the k quant files sherry writes and decodes them as sherry does" *
          doctest::skip()) {
  // sherry-<T>-F32.gguf: llama-quantize --allow-requantize of sherry-<T>.gguf to F32.
  for (TensorType type : kKQuants) {
    const std::string name = "sherry-" + tensor_type_name(type);
    const auto ours = open_output(name + ".gguf");
    const auto dequantized = open_output(name + "-F32.gguf");
    CHECK(check_decodes_as_llama_cpp(*ours, *dequantized, type) == 16);
  }
}

// Runs only in the CTest entry gguf_llama_cpp_interop (tests/gguf/llama_cpp_interop.sh passes
// --no-skip and the directory of llama-quantize's outputs); a plain test_gguf run leaves it out.
TEST_CASE("llama.cpp quantized files of a random model read back with their types" *
          doctest::skip()) {
  const char* dir = outputs_dir();
  auto original = Reader::open(std::string(dir) + "/model-f16.gguf");
  REQUIRE_MESSAGE(original.ok(), original.error().message());
  // The types llama.cpp may pick for the linear layers of the blocks when asked for each type
  // (Q4_K keeps some layers in Q6_K); embeddings and the head may get others.
  const std::vector<std::pair<std::string, std::vector<std::string>>> requests = {
      {"Q8_0", {"Q8_0"}}, {"Q4_K", {"Q4_K", "Q6_K"}}, {"TQ1_0", {"TQ1_0"}}, {"TQ2_0", {"TQ2_0"}}};
  for (const auto& [type, accepted] : requests) {
    INFO("type ", type);
    auto quantized = Reader::open(std::string(dir) + "/model-" + type + ".gguf");
    REQUIRE_MESSAGE(quantized.ok(), quantized.error().message());
    const Reader& q = **quantized;
    // Same metadata, except the file type llama.cpp rewrites.
    for (const auto& [key, value] : (*original)->metadata()) {
      if (key == names::kFileType) continue;
      const Value* copied = q.find(key);
      REQUIRE_MESSAGE(copied != nullptr, key);
      CHECK(*copied == value);
    }
    REQUIRE(q.tensors().size() == (*original)->tensors().size());
    int linear_layers = 0;
    for (const TensorInfo& info : (*original)->tensors()) {
      const TensorInfo* t = q.find_tensor(info.name);
      REQUIRE_MESSAGE(t != nullptr, info.name);
      CHECK(t->shape == info.shape);
      if (info.shape.size() == 1) CHECK(t->type == TensorType::kF32);  // norms stay F32
      if (info.name.starts_with("blk.") && info.shape.size() == 2) {
        CHECK(std::find(accepted.begin(), accepted.end(), tensor_type_name(t->type)) !=
              accepted.end());
        ++linear_layers;
      }
    }
    CHECK(linear_layers == 14);
  }
  // llama.cpp read the F32 file as well: every block matrix of its output is Q8_0.
  auto from_f32 = Reader::open(std::string(dir) + "/model-from-f32-Q8_0.gguf");
  REQUIRE_MESSAGE(from_f32.ok(), from_f32.error().message());
  int q8_layers = 0;
  for (const TensorInfo& info : (*from_f32)->tensors()) {
    if (info.name.starts_with("blk.") && info.shape.size() == 2) {
      CHECK_MESSAGE(info.type == TensorType::kQ8_0, info.name);
      ++q8_layers;
    }
  }
  CHECK(q8_layers == 14);
}

}  // namespace
}  // namespace sherry::gguf
