// End-to-end prefill and decode tokens/s of a GGUF model through llama.cpp's library, the way
// llama-bench measures them (same calls: a prompt of random tokens decoded as one batch; generation
// one token per llama_decode from an empty context), but with each repetition's time also taken as
// the calling thread's CPU time and its context switches counted. On a shared machine llama-bench's
// wall-clock figures include the time other processes held the cores; here a repetition that no
// other process disturbed is reported as is, and at one thread a disturbed one by its CPU time.
//
// Not part of the CMake build: scripts/fetch_llama_cpp.sh compiles it against the llama.cpp it
// builds.
//
//   llama_e2e_bench --model FILE --format TQ2_0 [--threads 1,2] [--prompt 128] [--gen 32] [--reps
//   5]
//                   [--model-name NAME] [--commit SHA] [--sherry-commit SHA]
#include <ggml.h>
#include <llama.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "bench/common/host_facts.h"

namespace sherry::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string model;
  std::string format;
  std::string model_name = "model";
  std::vector<int> threads = {1, 2};
  int prompt = 128;
  int gen = 32;
  int reps = 5;
  std::string commit = "unknown";
  std::string sherry_commit = "unknown";
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(
      stderr,
      "llama_e2e_bench: %s\n"
      "usage: llama_e2e_bench --model FILE --format NAME [--threads 1,2] [--prompt N] [--gen N]\n"
      "       [--reps N] [--model-name NAME] [--commit SHA] [--sherry-commit SHA]\n",
      message.c_str());
  std::exit(2);
}

int parse_positive(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value <= 0 || value > 1'000'000) {
    usage_error(flag + ": expected a positive integer, found '" + text + "'");
  }
  return static_cast<int>(value);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) usage_error(flag + ": missing value");
    std::string value = argv[++i];
    if (flag == "--model") {
      options.model = value;
    } else if (flag == "--format") {
      options.format = value;
    } else if (flag == "--model-name") {
      options.model_name = value;
    } else if (flag == "--threads") {
      options.threads.clear();
      size_t start = 0;
      while (start <= value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        options.threads.push_back(parse_positive(flag, value.substr(start, comma - start)));
        start = comma + 1;
      }
    } else if (flag == "--prompt") {
      options.prompt = parse_positive(flag, value);
    } else if (flag == "--gen") {
      options.gen = parse_positive(flag, value);
    } else if (flag == "--reps") {
      options.reps = parse_positive(flag, value);
    } else if (flag == "--commit") {
      options.commit = value;
    } else if (flag == "--sherry-commit") {
      options.sherry_commit = value;
    } else {
      usage_error("unknown flag '" + flag + "'");
    }
  }
  if (options.model.empty() || options.format.empty())
    usage_error("--model and --format are required");
  return options;
}

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

long context_switches() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_nvcsw + usage.ru_nivcsw;
}

void quiet_log(ggml_log_level level, const char* text, void*) {
  if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}

struct Sample {
  double wall_s = 0;
  double cpu_s = 0;
  bool undisturbed = false;
};

// One repetition, as llama-bench's test_prompt (phase prefill) or test_gen (phase decode).
Sample run_once(llama_context* ctx, bool prefill, int tokens, int threads, std::mt19937& rng) {
  const llama_vocab* vocab = llama_model_get_vocab(llama_get_model(ctx));
  const int32_t n_vocab = llama_vocab_n_tokens(vocab);
  std::uniform_int_distribution<int32_t> any_token(0, n_vocab - 1);
  llama_memory_clear(llama_get_memory(ctx), false);
  std::vector<llama_token> batch(static_cast<size_t>(prefill ? tokens : 1));
  for (llama_token& token : batch) token = any_token(rng);
  if (llama_vocab_get_add_bos(vocab)) batch[0] = llama_vocab_bos(vocab);

  long switches = context_switches();
  double cpu = thread_cpu_seconds();
  Clock::time_point start = Clock::now();
  if (prefill) {
    if (llama_decode(ctx, llama_batch_get_one(batch.data(), tokens)) != 0) {
      std::fprintf(stderr, "llama_e2e_bench: llama_decode failed on a %d-token prompt\n", tokens);
      std::exit(1);
    }
    llama_synchronize(ctx);
  } else {
    for (int i = 0; i < tokens; ++i) {
      if (llama_decode(ctx, llama_batch_get_one(batch.data(), 1)) != 0) {
        std::fprintf(stderr, "llama_e2e_bench: llama_decode failed on generated token %d\n", i);
        std::exit(1);
      }
      llama_synchronize(ctx);
      batch[0] = any_token(rng);
    }
  }
  Sample sample;
  sample.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  sample.cpu_s = thread_cpu_seconds() - cpu;
  sample.undisturbed =
      context_switches() == switches && (threads > 1 || sample.cpu_s >= 0.9 * sample.wall_s);
  return sample;
}

int run(const Options& options) {
  llama_log_set(quiet_log, nullptr);
  ggml_log_set(quiet_log, nullptr);
  llama_backend_init();
  llama_model_params model_params = llama_model_default_params();
  model_params.n_gpu_layers = 0;
  llama_model* model = llama_model_load_from_file(options.model.c_str(), model_params);
  if (model == nullptr) {
    std::fprintf(stderr, "llama_e2e_bench: %s: llama.cpp cannot load this model\n",
                 options.model.c_str());
    return 1;
  }
  const std::string cpu = cpu_brand();
  std::mt19937 rng(1);
  for (int threads : options.threads) {
    llama_context_params params = llama_context_default_params();
    params.n_ctx = static_cast<uint32_t>(options.prompt + options.gen);
    params.n_batch = static_cast<uint32_t>(std::max(options.prompt, 1));
    params.n_threads = threads;
    params.n_threads_batch = threads;
    params.no_perf = true;
    llama_context* ctx = llama_init_from_model(model, params);
    if (ctx == nullptr) {
      std::fprintf(stderr, "llama_e2e_bench: cannot create a context (%d threads)\n", threads);
      return 1;
    }
    for (bool prefill : {true, false}) {
      const int tokens = prefill ? options.prompt : options.gen;
      run_once(ctx, prefill, prefill ? std::min(tokens, 32) : 1, threads,
               rng);  // warm-up, as llama-bench
      std::vector<Sample> samples;
      for (int rep = 0; rep < options.reps; ++rep)
        samples.push_back(run_once(ctx, prefill, tokens, threads, rng));
      std::vector<double> wall, cpu_time, kept;
      for (const Sample& s : samples) {
        wall.push_back(s.wall_s);
        cpu_time.push_back(s.cpu_s);
        if (s.undisturbed) kept.push_back(s.wall_s);
      }
      std::sort(wall.begin(), wall.end());
      std::sort(cpu_time.begin(), cpu_time.end());
      std::sort(kept.begin(), kept.end());
      const bool quiet =
          static_cast<int>(kept.size()) * 2 > options.reps;  // a majority undisturbed
      std::string stat = "median_undisturbed";
      double seconds = quiet ? kept[kept.size() / 2] : 0;
      if (!quiet && threads == 1) {
        stat = "median_cpu_time";
        seconds = cpu_time[cpu_time.size() / 2];
      } else if (!quiet) {
        stat = "min_wall";
        seconds = wall.front();
      }
      std::printf(
          "{\"bench\":\"e2e\",\"impl\":\"llama.cpp\",\"model\":\"%s\",\"format\":\"%s\",\"phase\":"
          "\"%s\","
          "\"tokens\":%d,\"threads\":%d,\"tok_s\":%.3f,\"tok_s_wall_median\":%.3f,\"tok_s_wall_"
          "best\":%.3f,"
          "\"stat\":\"%s\",\"quiet\":%s,\"repetitions\":%d,\"undisturbed\":%zu,\"model_bytes\":%"
          "llu,"
          "\"model_params\":%llu,\"loadavg\":%.2f,\"date\":\"%s\",\"cpu\":\"%s\",\"commit\":\"%s\","
          "\"sherry_commit\":\"%s\",\"tool\":\"llama_e2e_bench\"}\n",
          options.model_name.c_str(), options.format.c_str(), prefill ? "prefill" : "decode",
          tokens, threads, tokens / seconds, tokens / wall[wall.size() / 2], tokens / wall.front(),
          stat.c_str(), quiet ? "true" : "false", options.reps, kept.size(),
          static_cast<unsigned long long>(llama_model_size(model)),
          static_cast<unsigned long long>(llama_model_n_params(model)), load_average(),
          utc_now().c_str(), cpu.c_str(), options.commit.c_str(), options.sherry_commit.c_str());
      std::fflush(stdout);
    }
    llama_free(ctx);
  }
  llama_model_free(model);
  llama_backend_free();
  return 0;
}

}  // namespace
}  // namespace sherry::bench

int main(int argc, char** argv) {
  return sherry::bench::run(sherry::bench::parse_options(argc, argv));
}
