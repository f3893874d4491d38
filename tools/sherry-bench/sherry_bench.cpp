// sherry-bench: prompt processing and generation speed with llama-bench's flags and output, so
// the two tools are compared directly (scripts/bench_e2e.sh runs both).
//
//   sherry-bench -m MODEL[,MODEL...] [-p 512] [-n 128] [-t N[,N...]] [-r 5] [-b BATCH]
//                [-o md|jsonl] [--no-warmup]
//
// Per model and thread count the model is loaded once (load time and peak RSS are reported
// beside the speeds). Tests as llama-bench runs them: pp<N> processes N prompt tokens from an
// empty cache in one forward (passes of the batch size), tg<N> generates N tokens one at a time
// from an empty cache; each runs once to warm up, then -r times; t/s is the mean ± standard
// deviation over the repetitions. Tokens are pseudo-random ids (a fixed sequence).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "build_info/git_commit.h"

#include "runtime/float_kernels.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/llama_model.h"

namespace sherry::runtime {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<std::string> models;
  std::vector<int64_t> prompts = {512};
  std::vector<int64_t> gens = {128};
  std::vector<int> threads;
  int repetitions = 5;
  int64_t batch = 0;  // 0: the runtime's default
  std::string output = "md";
  bool warmup = true;
};

struct ModelFacts {
  std::string name;  // file name
  std::string type;  // "llama 1.2B sherry"
  int64_t bytes = 0;
  int64_t params = 0;
};

struct BenchRow {
  ModelFacts model;
  int threads = 0;
  int64_t n_prompt = 0;
  int64_t n_gen = 0;
  std::vector<double> samples_ns;
  double load_s = 0;
  double peak_rss_mib = 0;
  std::string kernel;
  std::string test() const {
    return n_prompt > 0 ? fmt::format("pp{}", n_prompt) : fmt::format("tg{}", n_gen);
  }
  int64_t tokens() const { return n_prompt > 0 ? n_prompt : n_gen; }
  std::vector<double> samples_ts() const {
    std::vector<double> ts;
    for (const double ns : samples_ns) ts.push_back(static_cast<double>(tokens()) * 1e9 / ns);
    return ts;
  }
};

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (const double x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

// Sample standard deviation, as llama-bench reports it (0 for one sample).
double stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double sum = 0;
  for (const double x : v) sum += (x - m) * (x - m);
  return std::sqrt(sum / static_cast<double>(v.size() - 1));
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// The most common type of the file's 2-D tensors names its quantization (llama-bench prints
// the file type; sherry's files hold several).
Result<ModelFacts> model_facts(const std::string& path) {
  auto reader = gguf::Reader::open(path);
  if (!reader) return reader.error();
  ModelFacts facts;
  facts.name = std::filesystem::path(path).filename().string();
  facts.bytes = static_cast<int64_t>(std::filesystem::file_size(path));
  std::vector<std::pair<std::string, int64_t>> type_weights;
  for (const gguf::TensorInfo& t : (*reader)->tensors()) {
    int64_t elements = 1;
    for (const int64_t d : t.shape) elements *= d;
    facts.params += elements;
    const auto* traits = gguf::tensor_type_traits(static_cast<uint32_t>(t.type));
    const std::string type = traits != nullptr ? std::string(traits->name) : "?";
    auto it = std::find_if(type_weights.begin(), type_weights.end(),
                           [&](const auto& e) { return e.first == type; });
    if (it == type_weights.end()) {
      type_weights.emplace_back(type, 0);
      it = type_weights.end() - 1;
    }
    if (t.shape.size() == 2) it->second += 1;
  }
  const auto common =
      std::max_element(type_weights.begin(), type_weights.end(),
                       [](const auto& a, const auto& b) { return a.second < b.second; });
  facts.type = fmt::format("llama {:.1f}B {}", static_cast<double>(facts.params) / 1e9,
                           common == type_weights.end() ? "?" : common->first);
  return facts;
}

std::vector<int32_t> bench_tokens(int64_t count, int64_t vocab) {
  std::vector<int32_t> tokens;
  uint32_t state = 1;
  for (int64_t i = 0; i < count; ++i) {
    state = state * 1664525u + 1013904223u;
    tokens.push_back(static_cast<int32_t>((state >> 8) % static_cast<uint32_t>(vocab)));
  }
  return tokens;
}

// One run of a test: prompt processing of n_prompt tokens, or n_gen single-token steps, from an
// empty cache (position 0 again: the cache's old entries are overwritten).
Status run_test(LlamaModel& model, const std::vector<int32_t>& tokens, int64_t n_prompt,
                int64_t n_gen) {
  if (n_prompt > 0) {
    auto logits = model.forward(std::span<const int32_t>(tokens.data(), n_prompt), 0);
    return logits ? Status::success() : Status(logits.error());
  }
  for (int64_t i = 0; i < n_gen; ++i) {
    auto logits = model.forward(std::span<const int32_t>(tokens.data() + i, 1), i);
    if (!logits) return logits.error();
  }
  return Status::success();
}

void print_markdown_header() {
  fmt::print("| {:<32} | {:>10} | {:>9} | {:<7} | {:>7} | {:>9} | {:>20} | {:>7} | {:>8} |\n",
             "model", "size", "params", "backend", "threads", "test", "t/s", "load s", "RSS MiB");
  // Right-aligned columns end their rule with ':' inside the column's width, as llama-bench's.
  fmt::print(
      "| {:-<32} | {:->9}: | {:->8}: | {:-<7} | {:->6}: | {:->8}: | {:->19}: | {:->6}: | "
      "{:->7}: |\n",
      "", "", "", "", "", "", "", "", "");
}

void print_markdown(const BenchRow& r) {
  const std::vector<double> ts = r.samples_ts();
  fmt::print(
      "| {:<32} | {:>6.2f} MiB | {:>7.2f} B | {:<7} | {:>7} | {:>9} | {:>20} | {:>7.2f} | "
      "{:>8.1f} |\n",
      r.model.type, static_cast<double>(r.model.bytes) / (1024.0 * 1024.0),
      static_cast<double>(r.model.params) / 1e9, "CPU", r.threads, r.test(),
      fmt::format("{:.2f} ± {:.2f}", mean(ts), stddev(ts)), r.load_s, r.peak_rss_mib);
}

void print_jsonl(const BenchRow& r) {
  const std::vector<double> ts = r.samples_ts();
  auto list = [](const std::vector<double>& v, int precision) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      s += fmt::format("{}{:.{}f}", i == 0 ? "" : ", ", v[i], precision);
    }
    return s + "]";
  };
  fmt::print(
      "{{\"build_commit\": \"{}\", \"model_filename\": \"{}\", \"model_type\": \"{}\", "
      "\"model_size\": {}, \"model_n_params\": {}, \"n_threads\": {}, \"n_prompt\": {}, "
      "\"n_gen\": {}, \"avg_ns\": {:.0f}, \"stddev_ns\": {:.0f}, \"avg_ts\": {:.6f}, "
      "\"stddev_ts\": {:.6f}, \"samples_ns\": {}, \"samples_ts\": {}, \"load_s\": {:.3f}, "
      "\"peak_rss_mib\": {:.1f}, \"kernel\": \"{}\", \"float_isa\": \"{}\"}}\n",
      SHERRY_GIT_COMMIT, r.model.name, r.model.type, r.model.bytes, r.model.params, r.threads,
      r.n_prompt, r.n_gen, mean(r.samples_ns), stddev(r.samples_ns), mean(ts), stddev(ts),
      list(r.samples_ns, 0), list(ts, 6), r.load_s, r.peak_rss_mib, r.kernel, float_kernels_isa());
}

int run(const Options& options) {
  const bool markdown = options.output == "md";
  if (markdown) print_markdown_header();
  const int64_t max_prompt = *std::max_element(options.prompts.begin(), options.prompts.end());
  const int64_t max_gen = *std::max_element(options.gens.begin(), options.gens.end());
  for (const std::string& path : options.models) {
    Result<ModelFacts> facts = model_facts(path);
    if (!facts) {
      fmt::print(stderr, "error: {}\n", facts.error().message());
      return 1;
    }
    for (const int threads : options.threads) {
      ModelOptions model_options;
      model_options.threads = threads;
      model_options.context = std::max<int64_t>(max_prompt, max_gen) + 1;
      model_options.need_tokenizer = false;
      if (options.batch > 0) model_options.batch = options.batch;
      const auto start = Clock::now();
      auto loaded = LlamaModel::load(path, model_options);
      if (!loaded) {
        fmt::print(stderr, "error: {}\n", loaded.error().message());
        return 1;
      }
      const double load_s = std::chrono::duration<double>(Clock::now() - start).count();
      LlamaModel& model = **loaded;
      const std::vector<int32_t> tokens =
          bench_tokens(std::max(max_prompt, max_gen), model.config().vocab);
      std::vector<std::pair<int64_t, int64_t>> tests;  // (n_prompt, n_gen)
      for (const int64_t p : options.prompts) {
        if (p > 0) tests.emplace_back(p, 0);
      }
      for (const int64_t n : options.gens) {
        if (n > 0) tests.emplace_back(0, n);
      }
      for (const auto& [n_prompt, n_gen] : tests) {
        BenchRow r;
        r.model = *facts;
        r.threads = model.threads();
        r.n_prompt = n_prompt;
        r.n_gen = n_gen;
        r.load_s = load_s;
        r.kernel = model.load_stats().kernel;
        if (options.warmup) {
          const Status warm = run_test(model, tokens, n_prompt, n_gen);
          if (!warm.ok()) {
            fmt::print(stderr, "error: {}: {}\n", path, warm.error().message());
            return 1;
          }
        }
        for (int i = 0; i < options.repetitions; ++i) {
          const auto t0 = Clock::now();
          const Status status = run_test(model, tokens, n_prompt, n_gen);
          if (!status.ok()) {
            fmt::print(stderr, "error: {}: {}\n", path, status.error().message());
            return 1;
          }
          r.samples_ns.push_back(
              std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
        }
        r.peak_rss_mib = peak_rss_mib();
        if (markdown) {
          print_markdown(r);
        } else {
          print_jsonl(r);
        }
        std::fflush(stdout);
      }
    }
  }
  if (markdown) fmt::print("\nbuild: {}\n", SHERRY_GIT_COMMIT);
  return 0;
}

}  // namespace
}  // namespace sherry::runtime

int main(int argc, char** argv) {
  sherry::runtime::Options options;
  CLI::App app{
      "sherry-bench: prompt processing (ppN) and generation (tgN) speed, llama-bench style"};
  app.add_option("-m,--model", options.models, "GGUF model(s), comma-separated")
      ->delimiter(',')
      ->required();
  app.add_option("-p,--n-prompt", options.prompts, "prompt tokens per pp test (0: none)")
      ->delimiter(',')
      ->check(CLI::NonNegativeNumber);
  app.add_option("-n,--n-gen", options.gens, "generated tokens per tg test (0: none)")
      ->delimiter(',')
      ->check(CLI::NonNegativeNumber);
  app.add_option("-t,--threads", options.threads, "thread counts (default: all hardware threads)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  app.add_option("-r,--repetitions", options.repetitions, "timed runs per test")
      ->check(CLI::PositiveNumber);
  app.add_option("-b,--batch-size", options.batch,
                 "tokens per forward pass of a prompt (default: the runtime's)")
      ->check(CLI::PositiveNumber);
  app.add_option("-o,--output", options.output, "md or jsonl")
      ->check(CLI::IsMember({"md", "jsonl"}));
  app.add_flag("!--no-warmup", options.warmup, "skip the warm-up run of each test");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (options.threads.empty()) options.threads = {0};
  if (*std::max_element(options.prompts.begin(), options.prompts.end()) == 0 &&
      *std::max_element(options.gens.begin(), options.gens.end()) == 0) {
    fmt::print(stderr, "error: -p and -n are both 0: no test to run\n");
    return 2;
  }
  return sherry::runtime::run(options);
}
