// bench_runtime MODEL.gguf [--threads 1,2] [--prompt 64] [--decode 32]
// One JSON line per thread count: prefill and decode tokens/s, where decode time goes (linear
// layers, attention, the rest), the bytes the linear layers read per token, the read bandwidth
// measured in the same run (in a child process), the resulting floor, decode time over that
// floor, and peak RSS.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "build_info/git_commit.h"

#include "core/thread_pool.h"
#include "runtime/float_kernels.h"
#include "runtime/llama_model.h"

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
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

// Read bandwidth in bytes/s over a buffer far larger than the L3 cache, best of several passes.
double read_bandwidth(ThreadPool& pool, int64_t bytes) {
  const int64_t words = bytes / 8;
  std::unique_ptr<uint64_t[]> buffer(new uint64_t[words]);
  pool.parallel_for(words, 4096, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) buffer[i] = static_cast<uint64_t>(i);
  });
  std::vector<uint64_t> sums(pool.size() * 8);
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    const auto start = Clock::now();
    pool.parallel_for(words, 4096, [&](int64_t b, int64_t e, int thread) {
      uint64_t acc[8] = {};
      for (int64_t i = b; i + 8 <= e; i += 8) {
        for (int j = 0; j < 8; ++j) acc[j] += buffer[i + j];
      }
      uint64_t s = 0;
      for (uint64_t a : acc) s += a;
      sums[thread * 8] += s;
    });
    best = std::max(best, static_cast<double>(bytes) / seconds_since(start));
  }
  return best;
}

// The same in a child process, so that its buffer does not count in this process's peak RSS.
double read_bandwidth_in_child(int threads, int64_t bytes) {
  int fds[2];
  if (pipe(fds) != 0) return 0;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    ThreadPool pool(threads);
    const double bandwidth = read_bandwidth(pool, bytes);
    const ssize_t written = write(fds[1], &bandwidth, sizeof(bandwidth));
    _exit(written == sizeof(bandwidth) ? 0 : 1);
  }
  close(fds[1]);
  double bandwidth = 0;
  if (pid < 0 || read(fds[0], &bandwidth, sizeof(bandwidth)) != sizeof(bandwidth)) bandwidth = 0;
  close(fds[0]);
  if (pid > 0) waitpid(pid, nullptr, 0);
  return bandwidth;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path;
  std::vector<int> threads = {1, 2};
  int64_t prompt = 64;
  int64_t decode = 32;
  int64_t bandwidth_mib = 1024;
  std::string kernels = "jit";
  bool head_q8_0 = false;
  CLI::App app{"bench_runtime: whole-model decode and prefill speed against the bandwidth floor"};
  app.add_option("model", model_path, "GGUF model (scripts/make_bench_model.sh)")->required();
  app.add_option("--threads", threads, "thread counts")->delimiter(',');
  app.add_option("--prompt", prompt, "prefill tokens")->check(CLI::PositiveNumber);
  app.add_option("--decode", decode, "decoded tokens")->check(CLI::PositiveNumber);
  app.add_option("--bandwidth-mib", bandwidth_mib, "buffer for the bandwidth measurement");
  app.add_flag("--head-q8", head_q8_0, "repack the LM head into Q8_0 at load");
  app.add_option("--kernels", kernels, "jit or ref")->check(CLI::IsMember({"jit", "ref"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  for (int t : threads) {
    ModelOptions options;
    options.threads = t;
    options.context = prompt + decode + 8;
    options.batch = std::min<int64_t>(prompt, 64);
    options.need_tokenizer = false;
    options.head_q8_0 = head_q8_0;
    options.backend = kernels == "ref" ? jit::KernelBackend::kReference : jit::KernelBackend::kJit;
    auto loaded = LlamaModel::load(model_path, options);
    if (!loaded) {
      fmt::print(stderr, "error: {}\n", loaded.error().message());
      return 1;
    }
    LlamaModel& model = **loaded;
    const int64_t vocab = model.config().vocab;
    std::vector<int32_t> tokens;
    for (int64_t i = 0; i < prompt; ++i)
      tokens.push_back(static_cast<int32_t>((i * 7919 + 13) % vocab));

    // Prefill (GEMM path) twice over the same positions: the first pass after load pays one-time
    // costs (buffers grown and pages touched on first use) and is reported apart as
    // first_prefill_s; the second is the prefill figure, as llama-bench's warm-up run makes its.
    // Then greedy decode (GEMV path), one warm-up token first.
    auto start = Clock::now();
    auto logits = model.forward(tokens, 0);
    const double first_prefill_s = seconds_since(start);
    if (!logits) {
      fmt::print(stderr, "error: {}\n", logits.error().message());
      return 1;
    }
    const ForwardProfile before_prefill = model.profile();
    start = Clock::now();
    logits = model.forward(tokens, 0);
    const double prefill_s = seconds_since(start);
    const ForwardProfile prefill = model.profile() - before_prefill;
    if (!logits) {
      fmt::print(stderr, "error: {}\n", logits.error().message());
      return 1;
    }
    auto next = [&] {
      tokens.push_back(
          static_cast<int32_t>(std::max_element(logits->begin(), logits->end()) - logits->begin()));
      logits = model.forward(std::span<const int32_t>(&tokens.back(), 1),
                             static_cast<int64_t>(tokens.size()) - 1);
    };
    next();
    const ForwardProfile before = model.profile();
    start = Clock::now();
    for (int64_t i = 0; i < decode; ++i) next();
    const double decode_s = seconds_since(start);
    const ForwardProfile decoded = model.profile() - before;
    const double linear_s = decoded.linear();
    const double attention_s = decoded.attention();
    const double other_s = decoded.other();
    // Every phase of prefill (seconds) and decode (ms per token).
    std::string phases;
    for (size_t i = 0; i < kForwardPhases; ++i) {
      const char* name = to_string(static_cast<ForwardPhase>(i));
      phases += fmt::format(",\"prefill_{}_s\":{:.4f},\"decode_{}_ms\":{:.4f}", name,
                            prefill.seconds[i], name, decoded.seconds[i] * 1e3 / decode);
    }

    const double bandwidth = read_bandwidth_in_child(t, bandwidth_mib << 20);
    const double bytes = static_cast<double>(model.linear_weight_bytes());
    const double floor_ms = bytes / bandwidth * 1e3;
    const double decode_ms = decode_s * 1e3 / static_cast<double>(decode);
    fmt::print(
        "{{\"bench\":\"runtime\",\"model\":\"{}\",\"cpu\":\"{}\",\"commit\":\"{}\",\"threads\":{},"
        "\"kernel\":\"{}\",\"head_kernel\":\"{}\",\"float_isa\":\"{}\",\"load_s\":{:.3f},"
        "\"jit_s\":{:.3f},\"first_prefill_s\":{:.3f},\"prefill_tokens\":{},\"prefill_tok_s\":{:.2f}"
        ","
        "\"prefill_linear_s\":{:.3f},"
        "\"prefill_attention_s\":{:.3f},\"prefill_other_s\":{:.3f},\"decode_tokens\":{},"
        "\"decode_tok_s\":{:.2f},\"decode_ms\":{:.3f},\"decode_linear_ms\":{:.3f},"
        "\"decode_attention_ms\":{:.3f},\"decode_other_ms\":{:.3f},\"linear_bytes\":{},"
        "\"bandwidth_gb_s\":{:.2f},\"linear_floor_ms\":{:.3f},\"decode_over_floor\":{:.3f},"
        "\"peak_rss_mib\":{:.1f}{}}}\n",
        model_path, cpu_name(), SHERRY_GIT_COMMIT, t, model.load_stats().kernel,
        model.load_stats().head_kernel, float_kernels_isa(), model.load_stats().load_seconds,
        model.load_stats().jit_seconds, first_prefill_s, prompt,
        static_cast<double>(prompt) / prefill_s, prefill.linear(), prefill.attention(),
        prefill.other(), decode, static_cast<double>(decode) / decode_s, decode_ms,
        linear_s * 1e3 / decode, attention_s * 1e3 / decode, other_s * 1e3 / decode,
        static_cast<int64_t>(bytes), bandwidth / 1e9, floor_ms, decode_ms / floor_ms,
        peak_rss_mib(), phases);
    std::fflush(stdout);
  }
  return 0;
}
