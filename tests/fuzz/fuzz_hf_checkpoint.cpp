// libFuzzer target: a Hugging Face checkpoint's config.json and one safetensors file through
// sherry-convert's readers, then the conversion plan that checks one against the other and every
// float tensor read. Input: a 2-byte little-endian length L, L bytes of config.json (also parsed
// as model.safetensors.index.json), then the safetensors bytes (make_hf_seeds writes such files).
// Any crash, hang, leak or sanitizer report is a bug; error values are the expected outcome.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "tools/sherry-convert/checkpoint_plan.h"
#include "tools/sherry-convert/hf_config.h"
#include "tools/sherry-convert/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sherry::hf;
  if (size < 2) return 0;
  const size_t length = std::min<size_t>(data[0] | (static_cast<size_t>(data[1]) << 8), size - 2);
  const std::string_view config_text(reinterpret_cast<const char*>(data + 2), length);
  auto config = parse_hf_config(config_text, "fuzz/config.json");
  (void)parse_safetensors_index(config_text, "fuzz/model.safetensors.index.json");
  auto file = SafetensorsFile::parse(std::span(data + 2 + length, size - 2 - length),
                                     "fuzz/model.safetensors");
  if (!file) return 0;
  std::vector<const SafetensorsTensor*> tensors;
  for (const SafetensorsTensor& t : (*file)->tensors()) {
    tensors.push_back(&t);
    if (!t.data.empty()) {
      volatile uint8_t sink = t.data.front();
      sink = t.data.back();
      (void)sink;
    }
    (void)read_floats(t);
  }
  (void)(*file)->find("model.embed_tokens.weight");
  if (config) {
    std::vector<std::string> warnings;
    (void)plan_conversion(*config, tensors, "fuzz", /*skip_unknown=*/true, &warnings);
    (void)plan_conversion(*config, tensors, "fuzz", /*skip_unknown=*/false, nullptr);
  }
  return 0;
}
