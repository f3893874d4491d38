// sherry-run: load a Llama-family GGUF model and generate text (llama.cpp-style flags), or measure
// perplexity. Text goes to stdout as it is generated; timings and the kernels used to stderr.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "runtime/default_model.h"
#include "runtime/float_kernels.h"
#include "runtime/llama_model.h"
#include "runtime/perplexity.h"
#include "runtime/sampler.h"
#include "tools/sherry-run/conversation.h"

namespace {

using namespace sherry;
using namespace sherry::runtime;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("{}: cannot open the text file", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Flags {
  std::string model;
  std::string prompt;
  std::string prompt_file;
  int n_predict = 128;
  int threads = 0;
  int64_t context = 0;
  int64_t batch = 64;
  SamplerOptions sampling;
  int64_t seed = -1;
  std::string kernels = "jit";
  std::string kv_type = "f16";
  std::string perplexity_file;
  bool ignore_eos = false;
  bool head_q8_0 = false;
  bool no_display_prompt = false;
  bool conversation = false;
  std::string system_prompt;
  bool verbose_prompt = false;
  std::string stq1_0_grouping;  // "", "stride16" or "contiguous"
};

int run(const Flags& flags) {
  std::string model_path = flags.model;
  if (model_path.empty()) {
    auto path = default_model_path();
    if (!path) {
      fmt::print(stderr, "error: {}\n", path.error().message());
      return 1;
    }
    model_path = *path;
  }
  ModelOptions options;
  options.backend =
      flags.kernels == "ref" ? jit::KernelBackend::kReference : jit::KernelBackend::kJit;
  options.threads = flags.threads;
  options.context = flags.context;
  options.batch = flags.batch;
  options.kv_type = flags.kv_type == "f32" ? KvType::kF32 : KvType::kF16;
  options.head_q8_0 = flags.head_q8_0;
  if (!flags.stq1_0_grouping.empty()) {
    options.stq1_0_grouping = parse_block_grouping(flags.stq1_0_grouping).value();
  }
  auto loaded = LlamaModel::load(model_path, options);
  if (!loaded) {
    fmt::print(stderr, "error: {}\n", loaded.error().message());
    return 1;
  }
  LlamaModel& model = **loaded;
  const Tokenizer& tokenizer = *model.tokenizer();
  const LoadStats& stats = model.load_stats();

  auto report_load = [&] {
    const LlamaConfig& c = model.config();
    fmt::print(stderr,
               "model: {} ({} {} layers, hidden {}, {} heads / {} kv, ffn {}, vocab {}), context "
               "{}, {} threads\n",
               model_path, to_string(c.architecture), c.layers, c.hidden, c.heads, c.kv_heads,
               c.ffn, c.vocab, model.context(), model.threads());
    fmt::print(stderr, "load time = {:.1f} ms (jit {:.1f} ms)\n", stats.load_seconds * 1e3,
               stats.jit_seconds * 1e3);
    fmt::print(stderr, "kernels: {} (blk.0.attn_q), lm head {}, float path {}\n", stats.kernel,
               stats.head_kernel, float_kernels_isa());
  };
  auto report_profile = [&] {
    const ForwardProfile& p = model.profile();
    const double total = p.total();
    if (total > 0) {
      fmt::print(stderr, "time split: linear {:.1f}%, attention {:.1f}%, other {:.1f}%\n",
                 100 * p.linear() / total, 100 * p.attention() / total, 100 * p.other() / total);
      std::string phases;
      for (size_t i = 0; i < kForwardPhases; ++i) {
        phases += fmt::format("{}{} {:.1f} ms", i == 0 ? "" : ", ",
                              to_string(static_cast<ForwardPhase>(i)), p.seconds[i] * 1e3);
      }
      fmt::print(stderr, "phases: {}\n", phases);
    }
    fmt::print(stderr, "peak RSS = {:.1f} MiB (KV cache {:.1f} MiB reserved)\n", peak_rss_mib(),
               static_cast<double>(model.kv_cache_bytes()) / (1024.0 * 1024.0));
  };

  if (!flags.perplexity_file.empty()) {
    auto text = read_text(flags.perplexity_file);
    if (!text) {
      fmt::print(stderr, "error: {}\n", text.error().message());
      return 1;
    }
    const std::vector<int32_t> tokens = tokenizer.encode(*text, false, false);
    const int64_t window =
        flags.context > 0 ? flags.context : std::min<int64_t>(model.context(), 512);
    const auto start = Clock::now();
    auto result = perplexity(model, tokens, window, [](int64_t windows, double ppl) {
      fmt::print(stderr, "[{}] {:.4f}\n", windows, ppl);
    });
    if (!result) {
      fmt::print(stderr, "error: {}\n", result.error().message());
      return 1;
    }
    const double seconds = seconds_since(start);
    report_load();
    fmt::print(stderr, "perplexity: {} tokens, {} windows of {}, {} scored, {:.1f} tokens/s\n",
               tokens.size(), result->windows, window, result->scored,
               static_cast<double>(result->windows * window) / seconds);
    report_profile();
    fmt::print("perplexity = {:.4f}\n", result->perplexity);
    return 0;
  }

  if (flags.conversation) {
    ConversationOptions chat;
    chat.system_prompt = flags.system_prompt;
    chat.max_reply_tokens = flags.n_predict;
    chat.sampling = flags.sampling;
    chat.sampling.seed =
        flags.seed >= 0 ? static_cast<uint64_t>(flags.seed) : std::random_device{}();
    chat.ignore_eos = flags.ignore_eos;
    chat.verbose_prompt = flags.verbose_prompt;
    const int status = run_conversation(model, chat, std::cin, stdout);
    report_load();
    report_profile();
    return status;
  }

  std::string prompt = flags.prompt;
  if (!flags.prompt_file.empty()) {
    auto text = read_text(flags.prompt_file);
    if (!text) {
      fmt::print(stderr, "error: {}\n", text.error().message());
      return 1;
    }
    prompt = *text;
  }
  std::vector<int32_t> tokens = tokenize_prompt(tokenizer, prompt);
  if (tokens.empty()) tokens.push_back(tokenizer.bos() >= 0 ? tokenizer.bos() : 0);
  const auto prompt_tokens = static_cast<int64_t>(tokens.size());
  const int64_t budget = std::min<int64_t>(flags.n_predict < 0 ? model.context() : flags.n_predict,
                                           model.context() - prompt_tokens);
  if (budget < 0) {
    fmt::print(stderr, "error: the prompt has {} tokens, more than the context of {} (raise -c)\n",
               prompt_tokens, model.context());
    return 1;
  }
  SamplerOptions sampling = flags.sampling;
  sampling.seed = flags.seed >= 0 ? static_cast<uint64_t>(flags.seed) : std::random_device{}();
  Sampler sampler(sampling, model.config().vocab);
  tokens.reserve(prompt_tokens + budget);

  if (!flags.no_display_prompt) {
    std::fwrite(prompt.data(), 1, prompt.size(), stdout);
    std::fflush(stdout);
  }
  const auto prompt_start = Clock::now();
  auto logits = model.forward(tokens, 0);
  if (!logits) {
    fmt::print(stderr, "error: {}\n", logits.error().message());
    return 1;
  }
  const double prompt_seconds = seconds_since(prompt_start);

  const auto gen_start = Clock::now();
  int64_t generated = 0;
  // The text starts here when the prompt is not shown (SentencePiece's prefix space is the
  // tokenizer's, not text).
  Detokenizer detokenizer(tokenizer, flags.no_display_prompt || prompt.empty());
  auto write_text = [](const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };
  while (generated < budget) {
    const int32_t next = sampler.sample(*logits, tokens);
    tokens.push_back(next);
    ++generated;
    if (!flags.ignore_eos && tokenizer.is_end_of_generation(next)) break;
    write_text(detokenizer.push(next));
    if (generated == budget) break;
    logits = model.forward(std::span<const int32_t>(&tokens.back(), 1),
                           static_cast<int64_t>(tokens.size()) - 1);
    if (!logits) {
      write_text(detokenizer.finish());
      fmt::print(stderr, "\nerror: {}\n", logits.error().message());
      return 1;
    }
  }
  write_text(detokenizer.finish());
  const double gen_seconds = seconds_since(gen_start);
  std::fputc('\n', stdout);
  std::fflush(stdout);

  report_load();
  fmt::print(stderr, "prompt: {} tokens in {:.1f} ms, {:.2f} tokens/s\n", prompt_tokens,
             prompt_seconds * 1e3, static_cast<double>(prompt_tokens) / prompt_seconds);
  fmt::print(stderr, "generation: {} tokens in {:.1f} ms, {:.2f} tokens/s\n", generated,
             gen_seconds * 1e3,
             gen_seconds > 0 ? static_cast<double>(generated) / gen_seconds : 0.0);
  report_profile();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  CLI::App app{
      "sherry-run: generate text with a GGUF model (llama, qwen2, qwen3 or hunyuan-dense; "
      "Sherry, STQ1_0, F32, F16 or BF16 weights), or chat with it (-cnv)",
      "sherry-run"};
  app.add_option("-m,--model", flags.model,
                 "GGUF model (default: $SHERRY_MODEL or models/default.gguf)");
  app.add_option("-p,--prompt", flags.prompt, "prompt text");
  app.add_option("-f,--file", flags.prompt_file, "read the prompt from a file");
  app.add_option("-n,--n-predict", flags.n_predict,
                 "tokens to generate (-1: until the context is full)");
  app.add_option("-t,--threads", flags.threads, "threads (0: all cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-c,--ctx-size", flags.context,
                 "context size (0: from the model; perplexity window)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-b,--batch-size", flags.batch, "prompt tokens per forward pass")
      ->check(CLI::PositiveNumber);
  app.add_option("--temp", flags.sampling.temperature, "temperature (0: greedy)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--top-k", flags.sampling.top_k, "top-k (0: off)");
  app.add_option("--top-p", flags.sampling.top_p, "top-p (1: off)")->check(CLI::Range(0.0, 1.0));
  app.add_option("--min-p", flags.sampling.min_p, "min-p (0: off)")->check(CLI::Range(0.0, 1.0));
  app.add_option("--repeat-penalty", flags.sampling.repeat_penalty, "repeat penalty (1: off)")
      ->check(CLI::PositiveNumber);
  app.add_option("--repeat-last-n", flags.sampling.repeat_last_n,
                 "history the penalty sees (-1: all)");
  app.add_option("-s,--seed", flags.seed, "sampling seed (-1: random)");
  app.add_option("--kernels", flags.kernels, "jit, or ref for the reference kernels")
      ->check(CLI::IsMember({"jit", "ref"}));
  app.add_option("--kv-type", flags.kv_type, "KV cache type")->check(CLI::IsMember({"f16", "f32"}));
  app.add_option("--perplexity", flags.perplexity_file,
                 "perplexity of a text file over windows of -c tokens (default 512)");
  app.add_option("--stq1-0-grouping", flags.stq1_0_grouping,
                 "block grouping of STQ1_0 tensors in files that do not say (default stride16, "
                 "llama.cpp's; contiguous: quads of consecutive weights)")
      ->check(CLI::IsMember({"stride16", "contiguous"}));
  app.add_flag("--head-q8", flags.head_q8_0,
               "repack an F32/F16/BF16 LM head into Q8_0 at load (faster decode, 8-bit head)");
  app.add_flag("--ignore-eos", flags.ignore_eos, "keep generating after an end-of-text token");
  app.add_flag("--no-display-prompt", flags.no_display_prompt, "print only the generated text");
  app.add_flag("--conversation", flags.conversation,
               "-cnv: chat interactively through the model's chat template (/exit ends)");
  app.add_option("--system-prompt", flags.system_prompt, "-sys: the system message of -cnv");
  app.add_flag("--verbose-prompt", flags.verbose_prompt,
               "-cnv: print each templated prompt to stderr");
  // llama-cli's multi-letter single-dash flags, which CLI11 does not take as such.
  std::vector<std::string> args;
  for (int i = argc - 1; i > 0; --i) {
    const std::string_view a = argv[i];
    args.emplace_back(a == "-cnv"   ? "--conversation"
                      : a == "-sys" ? "--system-prompt"
                                    : std::string(a));
  }
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return run(flags);
}
