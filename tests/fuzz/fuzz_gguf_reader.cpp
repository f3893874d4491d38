// libFuzzer target: Reader::parse over arbitrary bytes, then every accessor on what it accepts.
// Any crash, hang, leak or sanitizer report is a bug; error values are the expected outcome.
#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/llama_names.h"
#include "runtime/gguf/sherry_tensors.h"

namespace {

void use(const sherry::gguf::Reader& reader) {
  using sherry::gguf::TensorType;
  namespace names = sherry::gguf::names;
  for (const sherry::gguf::TensorInfo& info : reader.tensors()) {
    volatile uint8_t sink = info.data[0];
    sink = info.data[info.byte_size - 1];
    (void)sink;
    if (info.type == TensorType::kSherry) {
      auto view = sherry::gguf::read_sherry_tensor(reader, info.name);
      if (view.ok()) {
        volatile uint8_t code = view->code(view->rows - 1, view->blocks_per_row() - 1);
        volatile float scale = view->scale(view->rows - 1, 0);
        (void)code;
        (void)scale;
      }
    }
    if (info.type == TensorType::kSTQ1_0 || info.type == TensorType::kSTQ1_0_Released) {
      (void)sherry::gguf::read_stq1_0_tensor(reader, info.name);
    }
    (void)sherry::gguf::read_float_tensor(reader, info);
    (void)reader.require_tensor(info.name, info.shape, {TensorType::kF32});
  }
  for (const auto& [key, value] : reader.metadata()) {
    (void)reader.get_string(key);
    (void)reader.get_int(key);
    (void)reader.get_float(key);
    (void)reader.get_string_array(key);
    (void)reader.get_float_array(key);
    (void)reader.get_int_array(key);
  }
  (void)reader.get_string_array(names::kTokenizerTokens);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto reader = sherry::gguf::Reader::parse(std::span(data, size), "fuzz.gguf");
  if (reader.ok()) use(**reader);
  return 0;
}
