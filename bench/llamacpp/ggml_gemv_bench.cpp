// GEMV/GEMM timing of llama.cpp's CPU matmul (ggml_mul_mat run through the CPU backend, the path
// llama.cpp's decode and prefill take) for TQ1_0, TQ2_0 and Q4_0 weights, hot and cold.
//
// Not part of the CMake build: scripts/fetch_llama_cpp.sh compiles it against the ggml it builds
// from node-llama-cpp's bundle. Output: JSON lines on stdout, the same fields as bench/kernels
// ("bench":"kernel", "impl":"llama.cpp", ...), so scripts/make_benchmarks_report.sh merges both.
//
// Method, per (type, shape M×K, N, threads, regime):
//  - weights are ternary (α·t, t ∈ {−1, 0, +1}, what a Sherry model holds), quantized once with
//    ggml_quantize_chunk and placed in the buffer type llama.cpp itself would choose (the first CPU
//    "extra" buffer type that supports the op, e.g. Q4_0 → repacked 8x8, else the plain CPU
//    buffer);
//  - activations X (N × K, f32) are quantized by ggml inside every mul_mat, as in llama.cpp;
//  - one graph holds kNodesPerGraph mul_mat nodes (barriers between nodes are part of the cost, as
//    in a real forward pass); hot: all nodes use the same weights; cold: the nodes walk through
//    rotating copies of the weights totalling ≥ --cold-mb (default 256 MB, 8× the 32 MB L3);
//  - time per mul_mat = median over undisturbed samples of (graph time / nodes), see time_graphs;
//    every configuration is first checked against a double-precision reference on the dequantized
//    weights (tokens 0 and N−1).
//  - cycles: the core clock is measured with a chain of dependent integer adds (1 cycle each on
//    every x86-64 core) timed by steady_clock; weights_per_cycle_per_core = m·k·n /
//    (cycles·threads) (for n = 1: weights per cycle). gbps = weight bytes / time.
#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml-cpu.h>
#include <ggml.h>

#include <sys/resource.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "bench/common/host_facts.h"

namespace sherry::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kNodesPerGraph = 4;
constexpr double kMaxRelRmsError = 0.02;  // Q8 activations: ≈0.5% expected, a wrong kernel ≈100%

struct Shape {
  int64_t m = 0;
  int64_t k = 0;
};

struct Options {
  std::vector<Shape> shapes = {{2048, 2048}, {512, 2048},  {8192, 2048}, {2048, 8192},
                               {2560, 2560}, {6912, 2560}, {2560, 6912}};
  std::vector<int64_t> ns = {1, 8, 32, 128};
  std::vector<int> threads = {1, 2};
  std::vector<ggml_type> types = {GGML_TYPE_TQ1_0, GGML_TYPE_TQ2_0, GGML_TYPE_Q4_0};
  std::vector<std::string> regimes = {"hot", "cold"};
  double cold_mb = 256;
  double min_time_s = 0.2;
  int min_samples = 5;
  std::string commit = "unknown";
  std::string sherry_commit = "unknown";
  bool plain_cpu_buffer = false;  // --no-repack: force the plain CPU buffer (no extra buffer type)
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr,
               "ggml_gemv_bench: %s\n"
               "usage: ggml_gemv_bench [--shapes MxK,...] [--n 1,8,...] [--threads 1,2]\n"
               "       [--types tq1_0,tq2_0,q4_0] [--regimes hot,cold] [--cold-mb MB]\n"
               "       [--min-time-s S] [--min-samples N] [--commit SHA] [--sherry-commit SHA]\n"
               "       [--no-repack]\n",
               message.c_str());
  std::exit(2);
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

int64_t parse_positive(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value <= 0) {
    usage_error(flag + ": expected a positive integer, found '" + text + "'");
  }
  return value;
}

ggml_type parse_type(const std::string& name) {
  if (name == "tq1_0") return GGML_TYPE_TQ1_0;
  if (name == "tq2_0") return GGML_TYPE_TQ2_0;
  if (name == "q4_0") return GGML_TYPE_Q4_0;
  if (name == "q8_0") return GGML_TYPE_Q8_0;
  usage_error("--types: expected tq1_0, tq2_0, q4_0 or q8_0, found '" + name + "'");
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--no-repack") {
      options.plain_cpu_buffer = true;
      continue;
    }
    if (i + 1 >= argc) usage_error(flag + ": missing value");
    std::string value = argv[++i];
    if (flag == "--shapes") {
      options.shapes.clear();
      for (const std::string& item : split(value, ',')) {
        std::vector<std::string> mk = split(item, 'x');
        if (mk.size() != 2) usage_error("--shapes: expected MxK, found '" + item + "'");
        options.shapes.push_back({parse_positive(flag, mk[0]), parse_positive(flag, mk[1])});
      }
    } else if (flag == "--n") {
      options.ns.clear();
      for (const std::string& item : split(value, ','))
        options.ns.push_back(parse_positive(flag, item));
    } else if (flag == "--threads") {
      options.threads.clear();
      for (const std::string& item : split(value, ','))
        options.threads.push_back(static_cast<int>(parse_positive(flag, item)));
    } else if (flag == "--types") {
      options.types.clear();
      for (const std::string& item : split(value, ',')) options.types.push_back(parse_type(item));
    } else if (flag == "--regimes") {
      options.regimes = split(value, ',');
      for (const std::string& regime : options.regimes) {
        if (regime != "hot" && regime != "cold") {
          usage_error("--regimes: expected hot or cold, found '" + regime + "'");
        }
      }
    } else if (flag == "--cold-mb") {
      options.cold_mb = static_cast<double>(parse_positive(flag, value));
    } else if (flag == "--min-time-s") {
      options.min_time_s = std::atof(value.c_str());
      if (!(options.min_time_s > 0))
        usage_error("--min-time-s: expected seconds > 0, found '" + value + "'");
    } else if (flag == "--min-samples") {
      options.min_samples = static_cast<int>(parse_positive(flag, value));
    } else if (flag == "--commit") {
      options.commit = value;
    } else if (flag == "--sherry-commit") {
      options.sherry_commit = value;
    } else {
      usage_error("unknown flag '" + flag + "'");
    }
  }
  return options;
}

// --- machine description -------------------------------------------------------------------

std::string ggml_isa() {
  std::string isa;
  auto add = [&](bool has, const char* name) {
    if (!has) return;
    if (!isa.empty()) isa += "+";
    isa += name;
  };
  add(ggml_cpu_has_avx2(), "avx2");
  add(ggml_cpu_has_avx_vnni(), "avxvnni");
  add(ggml_cpu_has_avx512(), "avx512");
  add(ggml_cpu_has_avx512_vbmi(), "avx512vbmi");
  add(ggml_cpu_has_avx512_vnni(), "avx512vnni");
  add(ggml_cpu_has_avx512_bf16(), "avx512bf16");
  add(ggml_cpu_has_llamafile(), "llamafile");
  return isa.empty() ? "scalar" : isa;
}

// Core clock in Hz: 8 dependent adds per iteration (one cycle of latency each), the loop counter on
// a separate chain. Short runs (≈2 ms), best of many, so a run that shared its core with another
// process or took an interrupt only loses.
double measure_core_hz() {
  constexpr uint64_t kIterations = 1'000'000;
  double best = 0;
  for (int run = 0; run < 200; ++run) {
    uint64_t acc = 0;
    uint64_t counter = kIterations;
    Clock::time_point start = Clock::now();
    asm volatile(
        "1:\n\t"
        "add $1, %[acc]\n\tadd $1, %[acc]\n\tadd $1, %[acc]\n\tadd $1, %[acc]\n\t"
        "add $1, %[acc]\n\tadd $1, %[acc]\n\tadd $1, %[acc]\n\tadd $1, %[acc]\n\t"
        "dec %[counter]\n\t"
        "jnz 1b\n\t"
        : [acc] "+r"(acc), [counter] "+r"(counter)
        :
        : "cc");
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::max(best, 8.0 * static_cast<double>(kIterations) / seconds);
  }
  return best;
}

// TSC rate, for the record only (constant, not the core clock).
double measure_tsc_hz() {
  Clock::time_point start = Clock::now();
  uint64_t tsc0 = __builtin_ia32_rdtsc();
  while (std::chrono::duration<double>(Clock::now() - start).count() < 0.05) {
  }
  uint64_t tsc1 = __builtin_ia32_rdtsc();
  return static_cast<double>(tsc1 - tsc0) /
         std::chrono::duration<double>(Clock::now() - start).count();
}

// One JSON object on one line, fields in insertion order.
class JsonRow {
 public:
  JsonRow& text(const char* key, const std::string& value) {
    std::string escaped;
    for (char c : value) {
      if (c == '"' || c == '\\') escaped += '\\';
      escaped += c;
    }
    return raw(key, "\"" + escaped + "\"");
  }
  JsonRow& number(const char* key, double value, int digits) {
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "%.*f", digits, value);
    return raw(key, std::isfinite(value) ? buffer : "null");
  }
  JsonRow& integer(const char* key, long long value) { return raw(key, std::to_string(value)); }
  JsonRow& boolean(const char* key, bool value) { return raw(key, value ? "true" : "false"); }
  std::string str() const { return body_ + "}"; }

 private:
  JsonRow& raw(const char* key, const std::string& value) {
    body_ += (body_.size() > 1 ? ",\"" : "\"") + std::string(key) + "\":" + value;
    return *this;
  }
  std::string body_ = "{";
};

// --- ggml plumbing ---------------------------------------------------------------------------

struct Backend {
  ggml_backend_t backend = nullptr;
  ggml_backend_dev_t device = nullptr;
  std::vector<ggml_backend_buffer_type_t> extra_bufts;
};

Backend make_backend() {
  Backend result;
  result.device = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  if (result.device == nullptr) {
    std::fprintf(stderr, "ggml_gemv_bench: ggml has no CPU device\n");
    std::exit(1);
  }
  result.backend = ggml_backend_dev_init(result.device, nullptr);
  ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(result.device);
  auto get_extra = reinterpret_cast<ggml_backend_dev_get_extra_bufts_t>(
      ggml_backend_reg_get_proc_address(reg, "ggml_backend_dev_get_extra_bufts"));
  if (get_extra != nullptr) {
    for (ggml_backend_buffer_type_t* buft = get_extra(result.device); buft && *buft; ++buft) {
      result.extra_bufts.push_back(*buft);
    }
  }
  return result;
}

// The buffer type llama.cpp's loader would give this weight (llama-model.cpp select_buft): the
// first extra buffer type whose device accepts mul_mat with the weight in it, else the CPU buffer.
ggml_backend_buffer_type_t choose_buft(const Backend& backend, ggml_type type, Shape shape,
                                       int64_t n, bool plain_cpu_buffer) {
  if (!plain_cpu_buffer) {
    for (ggml_backend_buffer_type_t buft : backend.extra_bufts) {
      ggml_init_params params = {ggml_tensor_overhead() * 8, nullptr, true};
      ggml_context* ctx = ggml_init(params);
      ggml_tensor* w = ggml_new_tensor_2d(ctx, type, shape.k, shape.m);
      ggml_tensor* x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, shape.k, n);
      ggml_tensor* y = ggml_mul_mat(ctx, w, x);
      ggml_backend_buffer_t dummy = ggml_backend_buft_alloc_buffer(buft, 0);
      w->buffer = dummy;  // only the weight, as llama-model-loader.cpp's weight_buft_supported does
      bool ok = ggml_backend_dev_supports_op(backend.device, y);
      ggml_backend_buffer_free(dummy);
      ggml_free(ctx);
      if (ok) return buft;
    }
  }
  return ggml_backend_dev_buffer_type(backend.device);
}

struct AlignedFloats {
  float* data = nullptr;
  explicit AlignedFloats(size_t count) {
    data = static_cast<float*>(std::aligned_alloc(64, ((count * sizeof(float) + 63) / 64) * 64));
    if (data == nullptr) {
      std::fprintf(stderr, "ggml_gemv_bench: out of memory (%zu floats)\n", count);
      std::exit(1);
    }
  }
  ~AlignedFloats() { std::free(data); }
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;
};

// One weight type and shape: quantized once, copied into `copies` tensors of one backend buffer.
struct WeightSet {
  ggml_context* ctx = nullptr;
  ggml_backend_buffer_t buffer = nullptr;
  std::vector<ggml_tensor*> tensors;
  std::vector<float> dequantized;  // M × K, the exact values ggml multiplies by
  size_t bytes_per_copy = 0;
  std::string buft_name;

  ~WeightSet() {
    if (buffer) ggml_backend_buffer_free(buffer);
    if (ctx) ggml_free(ctx);
  }
};

void make_weights(WeightSet& set, ggml_type type, Shape shape, int copies,
                  ggml_backend_buffer_type_t buft, std::mt19937_64& rng) {
  // Ternary weights with a per-row scale, like a Sherry layer: one zero in four on average.
  std::vector<float> values(static_cast<size_t>(shape.m * shape.k));
  std::uniform_int_distribution<int> ternary(0, 3);
  std::uniform_real_distribution<float> scale(0.01f, 0.05f);
  for (int64_t row = 0; row < shape.m; ++row) {
    float alpha = scale(rng);
    for (int64_t col = 0; col < shape.k; ++col) {
      int t = ternary(rng);
      values[row * shape.k + col] = t == 0 ? 0.0f : (t == 1 ? alpha : -alpha);
    }
  }
  set.bytes_per_copy = ggml_row_size(type, shape.k) * shape.m;
  std::vector<uint8_t> packed(set.bytes_per_copy);
  ggml_quantize_chunk(type, values.data(), packed.data(), 0, shape.m, shape.k, nullptr);
  set.dequantized.resize(values.size());
  ggml_get_type_traits(type)->to_float(packed.data(), set.dequantized.data(), shape.m * shape.k);

  ggml_init_params params = {ggml_tensor_overhead() * (copies + 1), nullptr, true};
  set.ctx = ggml_init(params);
  for (int i = 0; i < copies; ++i) {
    set.tensors.push_back(ggml_new_tensor_2d(set.ctx, type, shape.k, shape.m));
  }
  set.buffer = ggml_backend_alloc_ctx_tensors_from_buft(set.ctx, buft);
  if (set.buffer == nullptr) {
    std::fprintf(stderr, "ggml_gemv_bench: cannot allocate %d copies of %s %lldx%lld in %s\n",
                 copies, ggml_type_name(type), static_cast<long long>(shape.m),
                 static_cast<long long>(shape.k), ggml_backend_buft_name(buft));
    std::exit(1);
  }
  ggml_backend_buffer_set_usage(set.buffer, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
  for (ggml_tensor* tensor : set.tensors) {
    ggml_backend_tensor_set(tensor, packed.data(), 0, packed.size());  // repacks when the buft does
  }
  set.buft_name = ggml_backend_buft_name(buft);
}

// Graphs of kNodesPerGraph mul_mats: outputs and X live in plain host memory (the CPU backend
// computes on raw pointers); output slots are shared between graphs, as llama.cpp's allocator does.
struct GraphSet {
  ggml_context* ctx = nullptr;
  std::vector<ggml_cgraph*> graphs;
  std::vector<ggml_tensor*> first_outputs;  // node 0 of each graph

  ~GraphSet() {
    if (ctx) ggml_free(ctx);
  }
};

void make_graphs(GraphSet& set, const WeightSet& weights, Shape shape, int64_t n, bool cold,
                 float* x_data, float* out_data) {
  int graph_count = cold ? static_cast<int>(weights.tensors.size()) / kNodesPerGraph : 1;
  size_t tensors = static_cast<size_t>(graph_count) * (kNodesPerGraph + 1);
  size_t mem =
      ggml_tensor_overhead() * tensors +
      ggml_graph_overhead_custom(kNodesPerGraph + 2, false) * static_cast<size_t>(graph_count) +
      4096;
  ggml_init_params params = {mem, nullptr, true};
  set.ctx = ggml_init(params);
  for (int g = 0; g < graph_count; ++g) {
    ggml_tensor* x = ggml_new_tensor_2d(set.ctx, GGML_TYPE_F32, shape.k, n);
    x->data = x_data;
    ggml_cgraph* graph = ggml_new_graph_custom(set.ctx, kNodesPerGraph + 2, false);
    for (int j = 0; j < kNodesPerGraph; ++j) {
      ggml_tensor* w = weights.tensors[cold ? g * kNodesPerGraph + j : 0];
      ggml_tensor* y = ggml_mul_mat(set.ctx, w, x);
      y->data = out_data + static_cast<size_t>(j) * shape.m * n;
      ggml_build_forward_expand(graph, y);
      if (j == 0) set.first_outputs.push_back(y);
    }
    set.graphs.push_back(graph);
  }
}

// rms(y − y_ref) / rms(y_ref) over tokens 0 and n−1.
double relative_error(const float* y, const float* x, const std::vector<float>& w, Shape shape,
                      int64_t n) {
  double err2 = 0, ref2 = 0;
  for (int64_t token : {int64_t{0}, n - 1}) {
    const float* xt = x + token * shape.k;
    for (int64_t row = 0; row < shape.m; ++row) {
      const float* wr = w.data() + row * shape.k;
      double ref = 0;
      for (int64_t col = 0; col < shape.k; ++col) ref += static_cast<double>(wr[col]) * xt[col];
      double diff = static_cast<double>(y[token * shape.m + row]) - ref;
      err2 += diff * diff;
      ref2 += ref * ref;
    }
  }
  return ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2);
}

struct Timing {
  double us = 0;  // median of the undisturbed samples, or the minimum when too few were undisturbed
  double min_us = 0;
  int samples = 0;  // samples taken
  int kept = 0;     // samples that had the CPU to themselves (the median is over these)
  bool quiet = true;
  std::string stat = "median_undisturbed";  // or "median_cpu_time" (1 thread) or "min_wall"
};

// CPU time of the calling thread: exact for itself (the kernel adds the running slice).
double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// Context switches of all threads of this process so far (counted at the switch, so exact).
long context_switches() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_nvcsw + usage.ru_nivcsw;
}

// On a shared machine a sample is only kept when this process had its cores for the whole sample:
// none of its threads was switched out (ggml's OpenMP workers spin between back-to-back calls, so
// an undisturbed sample has no switch) and, at one thread, process CPU time ≥ kMinCpuShare · wall
// time (other threads' CPU time is only updated at scheduler ticks, too coarse for µs samples).
// When too few samples pass within max_time the row is marked "quiet":false and reports, at one
// thread, the median CPU time of the calling thread per call (time-sharing with other processes
// does not count; their cache traffic still does), else the fastest sample.
constexpr double kMinCpuShare = 0.9;

Timing time_graphs(ggml_backend_t backend, const GraphSet& graphs, int threads,
                   const Options& options) {
  size_t next = 0;
  auto run_one = [&] {
    ggml_cgraph* graph = graphs.graphs[next];
    next = (next + 1) % graphs.graphs.size();
    if (ggml_backend_graph_compute(backend, graph) != GGML_STATUS_SUCCESS) {
      std::fprintf(stderr, "ggml_gemv_bench: ggml_backend_graph_compute failed\n");
      std::exit(1);
    }
  };
  // Warm-up: the first runs fault in the outputs and grow the backend's work buffer (the weights
  // were already touched when they were written).
  size_t warmup = 3;
  for (size_t i = 0; i < warmup; ++i) run_one();

  const double max_time_s =
      threads == 1 ? std::max(5 * options.min_time_s, 1.0) : std::max(20 * options.min_time_s, 5.0);
  std::vector<double> all_us, kept_us, cpu_us;
  Clock::time_point begin = Clock::now();
  for (;;) {
    double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
    bool enough =
        static_cast<int>(kept_us.size()) >= options.min_samples && elapsed >= options.min_time_s;
    if (enough || (elapsed >= max_time_s && static_cast<int>(all_us.size()) >= options.min_samples))
      break;
    long switches_start = context_switches();
    double cpu_start = thread_cpu_seconds();
    Clock::time_point start = Clock::now();
    run_one();
    double wall = std::chrono::duration<double>(Clock::now() - start).count();
    double cpu = thread_cpu_seconds() - cpu_start;
    bool undisturbed =
        context_switches() == switches_start && (threads > 1 || cpu >= kMinCpuShare * wall);
    double us = 1e6 * wall / kNodesPerGraph;
    all_us.push_back(us);
    cpu_us.push_back(1e6 * cpu / kNodesPerGraph);
    if (undisturbed) kept_us.push_back(us);
  }
  Timing timing;
  timing.samples = static_cast<int>(all_us.size());
  timing.kept = static_cast<int>(kept_us.size());
  timing.quiet = timing.kept >= options.min_samples;
  timing.min_us = *std::min_element(all_us.begin(), all_us.end());
  if (timing.quiet) {
    std::sort(kept_us.begin(), kept_us.end());
    timing.us = kept_us[kept_us.size() / 2];
  } else if (threads == 1) {
    std::sort(cpu_us.begin(), cpu_us.end());
    timing.us = cpu_us[cpu_us.size() / 2];
    timing.min_us = cpu_us.front();  // the same statistic, so us_min stays comparable
    timing.stat = "median_cpu_time";
  } else {
    timing.us = timing.min_us;  // every sample was disturbed: the fastest is the least disturbed
    timing.stat = "min_wall";
  }
  return timing;
}

// ggml logs one INFO line per repacked tensor: keep warnings and errors only.
void quiet_log(ggml_log_level level, const char* text, void*) {
  static bool last_kept = false;
  bool keep = level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR ||
              (level == GGML_LOG_LEVEL_CONT && last_kept);
  if (level != GGML_LOG_LEVEL_CONT) last_kept = keep;
  if (keep) std::fputs(text, stderr);
}

std::string kernel_name(ggml_type type) {
  return std::string("ggml_") + ggml_type_name(type);
}

int run(const Options& options) {
  const double start_load = load_average();  // before this process added its own
  ggml_log_set(quiet_log, nullptr);
  ggml_cpu_init();
  Backend backend = make_backend();
  std::string cpu = cpu_brand();
  std::string isa = ggml_isa();
  double core_hz = measure_core_hz();
  double tsc_hz = measure_tsc_hz();
  JsonRow clock;
  clock.text("bench", "clock").text("impl", "llama.cpp").text("cpu", cpu);
  clock.number("core_ghz", core_hz * 1e-9, 4).number("tsc_ghz", tsc_hz * 1e-9, 4);
  clock.text("method",
             "8 dependent adds per loop iteration timed by steady_clock, best of 200 runs of 2 ms");
  std::printf("%s\n", clock.str().c_str());
  std::fflush(stdout);

  std::mt19937_64 rng(20260101);
  int failures = 0;
  for (ggml_type type : options.types) {
    for (Shape shape : options.shapes) {
      if (shape.k % ggml_blck_size(type) != 0) {
        std::fprintf(stderr,
                     "ggml_gemv_bench: skipping %s %lldx%lld: K is not a multiple of %lld\n",
                     ggml_type_name(type), static_cast<long long>(shape.m),
                     static_cast<long long>(shape.k), static_cast<long long>(ggml_blck_size(type)));
        continue;
      }
      int64_t max_n = *std::max_element(options.ns.begin(), options.ns.end());
      ggml_backend_buffer_type_t buft =
          choose_buft(backend, type, shape, max_n, options.plain_cpu_buffer);
      size_t bytes = ggml_row_size(type, shape.k) * shape.m;
      bool want_cold = std::find(options.regimes.begin(), options.regimes.end(), "cold") !=
                       options.regimes.end();
      int copies = kNodesPerGraph;
      if (want_cold) {
        double needed = options.cold_mb * 1024 * 1024 / static_cast<double>(bytes);
        copies = static_cast<int>(std::ceil(needed / kNodesPerGraph)) * kNodesPerGraph;
        copies = std::max(copies, kNodesPerGraph);
      }
      WeightSet weights;
      make_weights(weights, type, shape, copies, buft, rng);
      std::fprintf(stderr, "ggml_gemv_bench: %s %lldx%lld in %s, %d copies (%.0f MB)\n",
                   ggml_type_name(type), static_cast<long long>(shape.m),
                   static_cast<long long>(shape.k), weights.buft_name.c_str(), copies,
                   static_cast<double>(bytes) * copies / (1024.0 * 1024.0));

      for (int64_t n : options.ns) {
        AlignedFloats x(static_cast<size_t>(shape.k * n));
        AlignedFloats out(static_cast<size_t>(shape.m * n * kNodesPerGraph));
        std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
        for (int64_t i = 0; i < shape.k * n; ++i) x.data[i] = uniform(rng);
        for (const std::string& regime : options.regimes) {
          bool cold = regime == "cold";
          GraphSet graphs;
          make_graphs(graphs, weights, shape, n, cold, x.data, out.data);
          for (int threads : options.threads) {
            ggml_backend_cpu_set_n_threads(backend.backend, threads);
            std::fill(out.data, out.data + shape.m * n, std::nanf(""));
            Timing timing = time_graphs(backend.backend, graphs, threads, options);
            double error = relative_error(out.data, x.data, weights.dequantized, shape, n);
            bool ok = error < kMaxRelRmsError;
            if (!ok) {
              ++failures;
              std::fprintf(stderr,
                           "ggml_gemv_bench: %s %lldx%lld n=%lld threads=%d %s: relative rms error "
                           "%.4g against "
                           "the reference exceeds %.3g\n",
                           ggml_type_name(type), static_cast<long long>(shape.m),
                           static_cast<long long>(shape.k), static_cast<long long>(n), threads,
                           regime.c_str(), error, kMaxRelRmsError);
            }
            double seconds = timing.us * 1e-6;
            double weights_per_cycle_per_core =
                static_cast<double>(shape.m * shape.k * n) / (seconds * core_hz * threads);
            double gbps = static_cast<double>(bytes) / seconds * 1e-9;
            double bits_per_weight = 8.0 * static_cast<double>(ggml_row_size(type, shape.k)) /
                                     static_cast<double>(shape.k);
            JsonRow row;
            row.text("bench", "kernel").text("impl", "llama.cpp").text("kernel", kernel_name(type));
            row.integer("m", shape.m)
                .integer("k", shape.k)
                .integer("n", n)
                .integer("threads", threads);
            row.text("regime", regime)
                .number("us", timing.us, 3)
                .number("us_min", timing.min_us, 3);
            row.integer("samples", timing.samples).integer("kept", timing.kept);
            row.boolean("quiet", timing.quiet).text("stat", timing.stat);
            row.number("weights_per_cycle_per_core", weights_per_cycle_per_core, 4);
            row.number("gbps", gbps, 3).number("bits_per_weight", bits_per_weight, 4);
            row.text("buffer_type", weights.buft_name).text("isa", isa);
            row.number("core_ghz", core_hz * 1e-9, 4)
                .number("rel_error", error, 6)
                .boolean("verified", ok);
            row.number("cold_mb",
                       cold ? static_cast<double>(bytes) * copies / (1024.0 * 1024.0) : 0.0, 0);
            row.number("loadavg_start", start_load, 2).number("loadavg", load_average(), 2);
            row.text("date", utc_now()).text("cpu", cpu);
            row.text("commit", options.commit).text("sherry_commit", options.sherry_commit);
            std::printf("%s\n", row.str().c_str());
            std::fflush(stdout);
          }
        }
      }
    }
  }
  ggml_backend_free(backend.backend);
  if (failures > 0) {
    std::fprintf(stderr, "ggml_gemv_bench: %d configuration(s) disagree with the reference\n",
                 failures);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace sherry::bench

int main(int argc, char** argv) {
  return sherry::bench::run(sherry::bench::parse_options(argc, argv));
}
