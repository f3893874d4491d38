// Files written by llama.cpp's llama-quantize from a sherry-make-model file (llama_cpp_interop.sh
// makes them and sets SHERRY_LLAMA_CPP_OUTPUTS): sherry's reader must find the same tensors and
// metadata, with the types llama.cpp chose.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"

namespace sherry::gguf {
namespace {

// Runs only in the CTest entry gguf_llama_cpp_interop (tests/gguf/llama_cpp_interop.sh passes
// --no-skip and the directory of llama-quantize's outputs); a plain test_gguf run leaves it out.
TEST_CASE("llama.cpp quantized files of a random model read back with their types" *
          doctest::skip()) {
  const char* dir = std::getenv("SHERRY_LLAMA_CPP_OUTPUTS");
  REQUIRE_MESSAGE(dir != nullptr,
                  "SHERRY_LLAMA_CPP_OUTPUTS unset: run tests/gguf/llama_cpp_interop.sh");
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
