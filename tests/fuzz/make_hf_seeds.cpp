// Writes the Hugging Face checkpoint fuzzer's seed corpus into a directory: the tiny checkpoints
// of tests/convert/checkpoint_files.h (each architecture, F32 and BF16 tensors, a Llama 3.1 rope
// and AngelSlim's training fields in config.json) in fuzz_hf_checkpoint's input format (2-byte
// config length, config.json, safetensors bytes), plus an index-shaped config.
//
//   make_hf_seeds OUT_DIR
#include <cstdio>
#include <string>
#include <vector>

#include "tests/convert/checkpoint_files.h"

namespace {

using namespace sherry::hf::testing;

void write_seed(const std::string& path, const std::string& config,
                const std::vector<uint8_t>& safetensors) {
  std::vector<uint8_t> bytes = {static_cast<uint8_t>(config.size() & 0xFF),
                                static_cast<uint8_t>(config.size() >> 8)};
  bytes.insert(bytes.end(), config.begin(), config.end());
  bytes.insert(bytes.end(), safetensors.begin(), safetensors.end());
  write_file(path, bytes);
}

// The tensors with F32 turned into BF16 (the upper halves), as most checkpoints store them.
std::vector<RawTensor> as_bf16(std::vector<RawTensor> tensors) {
  for (RawTensor& t : tensors) {
    std::vector<uint8_t> halves;
    for (size_t i = 0; i + 3 < t.bytes.size(); i += 4) {
      halves.push_back(t.bytes[i + 2]);
      halves.push_back(t.bytes[i + 3]);
    }
    t.dtype = "BF16";
    t.bytes = std::move(halves);
  }
  return tensors;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_hf_seeds OUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  // Small shapes keep the seeds (and what the fuzzer grows from them) short.
  for (const std::string arch : {"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"}) {
    write_seed(dir + "/" + arch + ".bin", tiny_config(arch, "", 8),
               safetensors_bytes(tiny_tensors(arch, 8)));
  }
  write_seed(dir + "/llama_bf16_rope.bin",
             tiny_config("LlamaForCausalLM",
                         R"("rope_scaling":{"rope_type":"llama3","factor":8.0,)"
                         R"("low_freq_factor":1.0,"high_freq_factor":4.0,)"
                         R"("original_max_position_embeddings":64},"quant_method":"sherry",)"
                         R"("granularity":"per_group","group_size":128,"N":3,"M":4)",
                         8),
             safetensors_bytes(as_bf16(tiny_tensors("LlamaForCausalLM", 8))));
  write_seed(
      dir + "/index.bin",
      R"({"metadata":{"total_size":8},"weight_map":{"a":"model-00001-of-00002.safetensors"}})",
      safetensors_bytes({RawTensor{"a", "F16", {2, 2}, {0, 60, 0, 188, 0, 0, 255, 123}}}));
  return 0;
}
