// sherry-convert: a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json) to
// a GGUF file, the linear layers quantized to sherry or STQ1_0, or all weights kept as F16, BF16 or
// F32 (docs/convert.md).
//   sherry-convert HF_DIR OUT.gguf [--type sherry|stq1_0|f16|bf16|f32] [--group-size N]
//                  [--granularity group|channel|tensor] [--grouping contiguous|stride16]
//                  [--stq1_0-id 42|43] [--output-type q8_0|q4_k|q5_k|q6_k|f16|keep]
//                  [--embd-type q8_0|q4_k|q5_k|q6_k|f16|keep]
//                  [--skip-unknown] [--pre-tokenizer llama-bpe|qwen2|gpt-2] [--name TEXT]
// Prints the warnings (accuracy, skipped tensors) to stderr, the per-tensor table and totals to
// stdout. Errors: "error: <message>", exit status 1 (2 for a bad command line).
#include <cstdio>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "tools/sherry-convert/convert_checkpoint.h"

int main(int argc, char** argv) {
  CLI::App app{
      "sherry-convert: a Hugging Face checkpoint (LlamaForCausalLM, Qwen2ForCausalLM, "
      "Qwen3ForCausalLM) to a sherry, STQ1_0 or float GGUF"};
  sherry::hf::ConvertOptions options;
  std::string dir, out;
  std::optional<std::string> pre;
  app.add_option("hf_dir", dir, "checkpoint folder: config.json, *.safetensors, tokenizer.json")
      ->required();
  app.add_option("out", out, "output GGUF (written atomically)")->required();
  app.add_option("--type", options.type,
                 "sherry, stq1_0 (the linear layers at 1.25 bits), f16, bf16 or f32 (every "
                 "weight matrix)")
      ->capture_default_str();
  app.add_option("--group-size", options.group_size,
                 "weights per scale group (default: the training's in config.json, else 128)");
  app.add_option("--granularity", options.granularity,
                 "group, channel or tensor (default: the training's, else group)");
  app.add_option("--grouping", options.grouping,
                 "contiguous or stride16 (default contiguous; stride16 for stq1_0)");
  app.add_option("--stq1_0-id", options.stq1_0_id,
                 "STQ1_0 type id: 43 (llama.cpp, default) or 42 (released files)");
  app.add_option(
      "--output-type", options.output_type,
      "output.weight with --type sherry|stq1_0: q8_0 (default), q4_k, q5_k, q6_k, f16 or "
      "keep (the checkpoint's dtype)");
  app.add_option(
      "--embd-type", options.embd_type,
      "token_embd.weight with --type sherry|stq1_0: q8_0 (default), q4_k, q5_k, q6_k, f16 "
      "or keep");
  app.add_flag("--skip-unknown", options.skip_unknown,
               "convert without the tensors the architecture does not have (a warning each) "
               "instead of failing");
  app.add_option("--pre-tokenizer", pre,
                 "llama-bpe, qwen2 or gpt-2: the byte-level pre-tokenizer, when tokenizer.json's "
                 "regex is not one sherry recognises")
      ->check(CLI::IsMember({"llama-bpe", "qwen2", "gpt-2"}));
  app.add_option("--name", options.name, "general.name (default: the folder's name)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  options.pre_tokenizer = pre.value_or("");
  if (auto valid = sherry::hf::validate_convert_options(options); !valid) {
    std::fprintf(stderr, "error: %s\n", valid.error().message().c_str());
    return 2;
  }
  auto report = sherry::hf::convert_checkpoint(dir, out, options);
  if (!report) {
    std::fprintf(stderr, "error: %s\n", report.error().message().c_str());
    return 1;
  }
  for (const std::string& warning : report->warnings) {
    std::fprintf(stderr, "warning: %s\n", warning.c_str());
  }
  std::printf("%s: %s\n", out.c_str(), report->architecture.c_str());
  std::fputs(sherry::gguf::format_quantize_report(report->tensors, dir, out).c_str(), stdout);
  return 0;
}
