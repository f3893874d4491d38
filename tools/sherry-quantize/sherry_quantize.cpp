// sherry-quantize: a Llama-family GGUF (llama, qwen2, qwen3, hunyuan-dense) with F32/F16/BF16
// weights in, a sherry (or STQ1_0) GGUF out.
//   sherry-quantize IN.gguf OUT.gguf [--type sherry|stq1_0] [--group-size N]
//                   [--granularity group|channel|tensor] [--grouping contiguous|stride16]
//                   [--stq1_0-id 42|43] [--output-type q6_k|q5_k|q4_k|q8_0|f16|keep]
//                   [--embd-type q4_k|q5_k|q6_k|q8_0|f16|keep]
// Prints per-tensor type, shape and bits/weight, then the totals. Errors: "error: <message>",
// exit status 1 (2 for a bad command line).
#include <cstdio>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "tools/sherry-quantize/quantize_model.h"

int main(int argc, char** argv) {
  CLI::App app{
      "sherry-quantize: Sparse-AbsMean 3:4 ternary quantization of a llama, qwen2, qwen3 or "
      "hunyuan-dense GGUF"};
  std::string in, out, type = "sherry";
  std::optional<int64_t> group_size;
  std::optional<std::string> granularity, grouping;
  std::optional<uint32_t> stq1_0_id;
  std::string output_type = "q6_k", embd_type = "q4_k";
  app.add_option("in", in, "input GGUF (F32, F16 or BF16 weights)")->required();
  app.add_option("out", out, "output GGUF (written atomically)")->required();
  app.add_option("--type", type, "sherry or stq1_0")->capture_default_str();
  app.add_option("--group-size", group_size, "weights per scale group (default 128)");
  app.add_option("--granularity", granularity, "group, channel or tensor (default group)");
  app.add_option("--grouping", grouping,
                 "contiguous or stride16 (default contiguous; stride16 for stq1_0, where "
                 "contiguous makes a file only sherry reads)");
  app.add_option("--stq1_0-id", stq1_0_id,
                 "STQ1_0 type id: 43 (llama.cpp, default) or 42 (released files)");
  app.add_option("--output-type", output_type,
                 "output.weight (the LM head): q4_k, q5_k, q6_k, q8_0, f16 or keep (its input "
                 "type); a K-quant on rows not a multiple of 256 falls back to q8_0 (or f16)")
      ->capture_default_str();
  app.add_option("--embd-type", embd_type,
                 "token_embd.weight: q4_k, q5_k, q6_k, q8_0, f16 or keep (fallback as above)")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  auto options =
      sherry::gguf::resolve_quantize_options(type, group_size, granularity, grouping, stq1_0_id);
  if (!options) {
    std::fprintf(stderr, "error: %s\n", options.error().message().c_str());
    return 2;
  }
  auto output = sherry::gguf::parse_float_tensor_type("--output-type", output_type);
  auto embd = sherry::gguf::parse_float_tensor_type("--embd-type", embd_type);
  for (const auto* parsed : {&output, &embd}) {
    if (!*parsed) {
      std::fprintf(stderr, "error: %s\n", parsed->error().message().c_str());
      return 2;
    }
  }
  options->output_type = *output;
  options->embd_type = *embd;
  auto report = sherry::gguf::quantize_model(in, out, *options);
  if (!report) {
    std::fprintf(stderr, "error: %s\n", report.error().message().c_str());
    return 1;
  }
  std::fputs(sherry::gguf::format_quantize_report(*report, in, out).c_str(), stdout);
  return 0;
}
