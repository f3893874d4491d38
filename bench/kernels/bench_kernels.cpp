// Kernel benchmark: one JSON object per line.
//  * {"kind":"bandwidth"}: the machine's measured memory read bandwidth (threads 1 and 2);
//  * {"kind":"clock"}: the measured core clock (a dependent add chain);
//  * {"kind":"jit"}: the build time of each kernel;
//  * {"kind":"kernel"}: per shape (M×K), tokens N, threads and hot/cold weights: microseconds
//    per call through jit::Linear::run_with (table building included), weights/cycle/core,
//    GB/s of every weight-stream byte read (codes, α, initial accumulators), GFLOP/s;
//  * {"kind":"kernel", "kernel":"reference_i8"}: the scalar reference as a baseline (N = 1).
// Cold runs rotate through copies of the repacked weights totalling at least --cold-mb.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include "build_info/git_commit.h"

#include "bench/common/bench_clock.h"
#include "bench/common/bench_vnni_rate.h"
#include "bench/common/host_facts.h"
#include "core/reference_kernels.h"
#include "core/thread_pool.h"
#include "jit/aligned_buffer.h"
#include "jit/cpu_detect.h"
#include "jit/gemm_family.h"
#include "jit/kernel_build.h"
#include "jit/kernel_linear.h"
#include "jit/linear.h"
#include "jit/x64/table_builder.h"
#include "jit/x64/x64_kernel.h"
#include "testing/random_tensors.h"

namespace sherry::bench {
namespace {

__attribute__((target("avx2"))) uint64_t read_sum(const uint64_t* data, size_t count) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i + 4 <= count; i += 4) {
    a += data[i];
    b += data[i + 1];
    c += data[i + 2];
    d += data[i + 3];
  }
  return a + b + c + d;
}

// DRAM read bandwidth: pieces of `piece` bytes read in turn from a buffer far larger than the
// last-level cache (each piece is cold when read), split over the threads; the best piece rate
// and the median are reported, like the cold kernel runs (best per-call time).
std::pair<double, double> measure_read_gbps(ThreadPool& pool, size_t bytes, size_t piece) {
  jit::AlignedBuffer<uint64_t> buffer(bytes / 8);  // huge pages, like the weight copies
  for (size_t i = 0; i < buffer.size(); ++i) buffer[i] = 1;
  const size_t pieces = bytes / piece;
  const int threads = pool.size();
  std::vector<uint64_t> sums(static_cast<size_t>(threads));
  std::vector<double> rates;
  for (int pass = 0; pass < 3; ++pass) {
    for (size_t p = 0; p < pieces; ++p) {
      const uint64_t* base = buffer.data() + p * piece / 8;
      const auto start = Clock::now();
      pool.parallel_for(threads, 1, [&](int64_t begin, int64_t end, int) {
        for (int64_t t = begin; t < end; ++t) {
          const size_t part = piece / 8 / threads;
          sums[t] += read_sum(base + t * part, part);
        }
      });
      rates.push_back(static_cast<double>(piece) / seconds_since(start) / 1e9);
    }
  }
  std::sort(rates.begin(), rates.end());
  if (sums[0] == 42) std::puts("");  // keep the sums alive
  return {rates.back(), rates[rates.size() / 2]};
}

struct Shape {
  int64_t m, k;
};

std::vector<Shape> parse_shapes(const std::vector<std::string>& texts) {
  std::vector<Shape> shapes;
  for (const std::string& text : texts) {
    Shape s{};
    if (std::sscanf(text.c_str(), "%ldx%ld", &s.m, &s.k) != 2) {
      throw CLI::ValidationError("--shapes", "expected MxK, got '" + text + "'");
    }
    shapes.push_back(s);
  }
  return shapes;
}

struct Options {
  std::vector<std::string> shapes = {"2048x2048", "512x2048",  "8192x2048", "2048x8192",
                                     "2560x2560", "6912x2560", "2560x6912"};
  std::vector<int64_t> ns = {1, 8, 32, 128};
  std::vector<int> threads = {1, 2};
  std::vector<std::string> modes = {"hot", "cold"};
  double min_time = 0.2;
  int64_t cold_mb = 256;
  int64_t group_size = 128;
  bool reference = true;
  bool bandwidth = true;
  int64_t row_tile = 0;
  int64_t prefetch = ir::kPathDefaultPrefetch;
  double ghz = 0.0;  // core clock for weights/cycle (0: measured)
  std::string table = "i16";
  std::string gemm = "auto";  // SHERRY_GEMM's choice (jit/gemm_family.h)
  int64_t token_block = 0;    // dot kernels (0: the path's default)
  int64_t k_block = 0;
  bool cpu_time = false;  // one-thread rows in thread CPU time (a shared machine)
};

struct Context {
  std::string cpu;
  double ghz = 0.0;
  double start_load = 0.0;  // before this process added its own: was the machine quiet?
};

// One layer as the runtime makes it (jit::make_linear), its kernels for 1..n_tile tokens, and
// `copies` copies of its weights for the cold runs.
struct Layer {
  std::unique_ptr<jit::Linear> linear;
  jit::LayerKernels kernels;
  std::vector<std::unique_ptr<jit::LayerWeights>> copies;
  int64_t stream_bytes = 0;  // bytes read per call: codes, α, initial accumulators
};

Result<Layer> make_layer(const PackedTensor& w, ir::Isa isa, const Options& options, int64_t copies,
                         ThreadPool& pool) {
  ir::KernelKey key;
  key.isa = isa;
  key.m = w.rows;
  key.k = w.cols;
  key.layout = w.layout;
  key.tuning.row_tile = options.row_tile;
  key.tuning.prefetch = options.prefetch;
  key.table =
      options.table == "i8" ? ir::TablePrecision::kInt8Lossy : ir::TablePrecision::kInt16Exact;
  Result<ir::KernelKey> resolved = jit::resolve_kernel_key(key);
  if (!resolved.ok()) return resolved.error();
  const int64_t max_n = *std::max_element(options.ns.begin(), options.ns.end());
  Layer layer;
  Result<jit::LayerKernels> kernels = jit::layer_kernels(*resolved, max_n);
  if (!kernels.ok()) return kernels.error();
  layer.kernels = std::move(*kernels);
  jit::LinearOptions linear_options;
  linear_options.max_tokens = max_n;
  linear_options.pool = &pool;
  linear_options.table_precision = resolved->table;
  linear_options.isa = isa;
  linear_options.tuning = resolved->tuning;
  // The dot kernel's blocks (resolving the lookup key cleared them).
  linear_options.tuning->token_block = options.token_block;
  linear_options.tuning->k_block = options.k_block;
  Result<std::unique_ptr<jit::Linear>> linear = jit::make_linear(w.view(), linear_options);
  if (!linear.ok()) return linear.error();
  layer.linear = std::move(*linear);
  for (int64_t c = 1; c < copies; ++c) layer.copies.push_back(layer.linear->copy_weights());
  layer.stream_bytes = layer.linear->weights().stream_bytes;
  return layer;
}

// Seconds of CPU time this thread has used: what --cpu-time measures one-thread calls in.
double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// Per-call times over calls lasting min_time in total: wall time, or with cpu_time the calling
// thread's CPU time (time it was not scheduled left out).
struct CallTimes {
  double best = 0.0;    // what the rows' "us" and rates report
  double median = 0.0;  // "us_median": closer to what a run of many calls (decode) sees
};

template <class F>
CallTimes time_call(double min_time, bool cpu_time, F&& call) {
  call(0);
  std::vector<double> samples;
  int64_t index = 1;
  const auto start = Clock::now();
  while (seconds_since(start) < min_time || index < 4) {
    const auto t0 = Clock::now();
    const double c0 = cpu_time ? thread_cpu_seconds() : 0.0;
    call(index++);
    samples.push_back(cpu_time ? thread_cpu_seconds() - c0 : seconds_since(t0));
  }
  std::sort(samples.begin(), samples.end());
  return {samples.front(), samples[samples.size() / 2]};
}

void print_row(const Context& ctx, const std::string& kernel, ir::Isa isa, const Shape& s,
               int64_t n, int threads, const std::string& mode, CallTimes times,
               int64_t packed_bytes) {
  const double weights = static_cast<double>(s.m) * s.k * n;
  const double seconds = times.best;
  fmt::print(
      "{{\"kind\":\"kernel\",\"kernel\":\"{}\",\"m\":{},\"k\":{},\"n\":{},\"threads\":{},"
      "\"mode\":\"{}\",\"us\":{:.2f},\"us_median\":{:.2f},\"weights_per_cycle_per_core\":{:.2f},"
      "\"packed_gbps\":{:.2f},\"bits_per_weight\":{:.4f},\"gflops\":{:.1f},\"cpu\":\"{}\","
      "\"ghz\":{:.2f},\"isa\":\"{}\",\"loadavg_start\":{:.2f},\"loadavg\":{:.2f},\"date\":\"{}\","
      "\"commit\":\"{}\"}}\n",
      kernel, s.m, s.k, n, threads, mode, seconds * 1e6, times.median * 1e6,
      weights / (seconds * ctx.ghz * 1e9 * threads), packed_bytes / seconds / 1e9,
      8.0 * packed_bytes / (static_cast<double>(s.m) * s.k), 2.0 * weights / seconds / 1e9, ctx.cpu,
      ctx.ghz, ir::to_string(isa), ctx.start_load, load_average(), utc_now(), SHERRY_GIT_COMMIT);
  std::fflush(stdout);
}

int run(const Options& options) {
  if (options.cpu_time && *std::max_element(options.threads.begin(), options.threads.end()) > 1) {
    std::fprintf(stderr, "error: --cpu-time times one thread's calls: use --threads 1\n");
    return 2;
  }
  jit::set_gemm_family(options.gemm == "dot"      ? jit::GemmFamily::kDot
                       : options.gemm == "lookup" ? jit::GemmFamily::kLookup
                                                  : jit::GemmFamily::kAuto);
  Context ctx;
  ctx.start_load = load_average();
  ctx.cpu = cpu_brand();
  ctx.ghz = options.ghz > 0 ? options.ghz : measure_core_ghz();
  fmt::print("{{\"kind\":\"clock\",\"ghz\":{:.3f},\"cpu\":\"{}\",\"commit\":\"{}\"}}\n", ctx.ghz,
             ctx.cpu, SHERRY_GIT_COMMIT);
  // The int8 dot-product rate: the compute floor of the dot GEMM kernels.
  if (jit::host_cpu().has(jit::CpuFeature::kAvx512vnni)) {
    const double rate = vpdpbusd_zmm_per_second();
    fmt::print(
        "{{\"kind\":\"vnni_rate\",\"form\":\"zmm\",\"per_cycle\":{:.3f},"
        "\"gmac_s\":{:.1f},\"commit\":\"{}\"}}\n",
        rate / (ctx.ghz * 1e9), rate * 64 / 1e9, SHERRY_GIT_COMMIT);
  }
  if (jit::host_cpu().has(jit::CpuFeature::kAvxVnni)) {
    const double rate = vpdpbusd_ymm_per_second();
    fmt::print(
        "{{\"kind\":\"vnni_rate\",\"form\":\"ymm\",\"per_cycle\":{:.3f},"
        "\"gmac_s\":{:.1f},\"commit\":\"{}\"}}\n",
        rate / (ctx.ghz * 1e9), rate * 32 / 1e9, SHERRY_GIT_COMMIT);
  }
  const int max_threads = *std::max_element(options.threads.begin(), options.threads.end());
  if (options.bandwidth) {
    for (const int threads : options.threads) {
      ThreadPool pool(threads);
      const auto [best, median] = measure_read_gbps(pool, size_t{512} << 20, size_t{4} << 20);
      fmt::print(
          "{{\"kind\":\"bandwidth\",\"threads\":{},\"read_gbps\":{:.2f},\"median_gbps\":{:.2f},"
          "\"piece_mb\":4,\"loadavg_start\":{:.2f},\"loadavg\":{:.2f},\"date\":\"{}\",\"commit\":"
          "\"{}\"}}\n",
          threads, best, median, ctx.start_load, load_average(), utc_now(), SHERRY_GIT_COMMIT);
      std::fflush(stdout);
    }
  }
  const ir::Isa isa = jit::best_isa(jit::host_cpu());
  if (!jit::has_generated_kernels(isa)) {
    std::fprintf(stderr, "error: no generated kernels for %s here\n", ir::to_string(isa).data());
    return 1;
  }
  const WeightLayout layout{BlockGrouping::kContiguous, ScaleGranularity::kGroup,
                            options.group_size};
  for (const Shape& shape : parse_shapes(options.shapes)) {
    const PackedTensor w = testing::random_packed(shape.m, shape.k, layout, 1);
    const bool cold =
        std::find(options.modes.begin(), options.modes.end(), "cold") != options.modes.end();
    // The layers' threads are set per row; the pool passed here only serves make_linear.
    ThreadPool layer_pool(max_threads);
    int64_t copies = 1;
    Result<Layer> probe = make_layer(w, isa, options, 1, layer_pool);
    if (!probe.ok()) {
      std::fprintf(stderr, "error: %s\n", probe.error().message().c_str());
      return 1;
    }
    if (cold) copies = std::max<int64_t>(2, (options.cold_mb << 20) / probe->stream_bytes + 1);
    probe->copies.clear();
    for (int64_t c = 1; c < copies; ++c) probe->copies.push_back(probe->linear->copy_weights());
    Layer* layer = &*probe;
    for (const auto& kernel : layer->kernels) {
      fmt::print(
          "{{\"kind\":\"jit\",\"kernel\":\"{}\",\"ms\":{:.3f},\"code_bytes\":{},\"commit\":\"{}\"}}"
          "\n",
          kernel->name, kernel->jit_ms, kernel->code_bytes().size(), SHERRY_GIT_COMMIT);
    }
    {
      const jit::x64::X64Kernel& gemv = jit::x64::as_x64(*layer->kernels.front());
      jit::AlignedBuffer<int8_t> scratch(static_cast<size_t>(gemv.layout.k_pad));
      jit::AlignedBuffer<uint8_t> tables(static_cast<size_t>(gemv.layout.table_bytes));
      const QuantizedActivations x = testing::random_activations(1, shape.k, 3);
      const double seconds = time_call(options.min_time / 4, options.cpu_time, [&](int64_t) {
                               jit::x64::build_tables(gemv.layout, layout.grouping, x.token(0),
                                                      shape.k, scratch.data(), tables.data());
                             }).best;
      fmt::print("{{\"kind\":\"tables\",\"k\":{},\"us_per_token\":{:.2f},\"commit\":\"{}\"}}\n",
                 shape.k, seconds * 1e6, SHERRY_GIT_COMMIT);
    }
    for (const int64_t n : options.ns) {
      const QuantizedActivations x = testing::random_activations(n, shape.k, 2);
      std::vector<float> y(static_cast<size_t>(n * shape.m));
      for (const int threads : options.threads) {
        // The layer's threads: a layer made for this pool (same kernels from the cache).
        ThreadPool pool(threads);
        Result<Layer> timed = make_layer(w, isa, options, 1, pool);
        if (!timed.ok()) return 1;
        for (const std::string& mode : options.modes) {
          const bool rotate = mode == "cold" && !layer->copies.empty();
          const CallTimes times = time_call(options.min_time, options.cpu_time, [&](int64_t i) {
            const jit::LayerWeights& weights =
                rotate ? *layer->copies[static_cast<size_t>(i) % layer->copies.size()]
                       : timed->linear->weights();
            timed->linear->run_with(weights, x, y.data());
          });
          print_row(ctx, timed->linear->kernel_name_for(n), isa, shape, n, threads, mode, times,
                    layer->stream_bytes);
        }
      }
    }
    if (options.reference) {
      const QuantizedActivations x = testing::random_activations(1, shape.k, 2);
      std::vector<int32_t> acc(
          static_cast<size_t>(shape.m * scale_groups_per_row(layout, shape.k)));
      const auto start = Clock::now();
      reference_accumulate_i32(w.view(), x, acc.data());
      const double once = seconds_since(start);
      print_row(ctx, "reference_i8", ir::Isa::kScalar, shape, 1, 1, "hot", {once, once},
                static_cast<int64_t>(w.codes.size() + w.scales.size() * 2));
    }
  }
  return 0;
}

}  // namespace
}  // namespace sherry::bench

int main(int argc, char** argv) {
  sherry::bench::Options options;
  CLI::App app("bench_kernels: LUT kernel throughput, JSON lines on stdout");
  app.add_option("--shapes", options.shapes, "MxK shapes")->delimiter(',');
  app.add_option("--n", options.ns, "token counts")->delimiter(',');
  app.add_option("--threads", options.threads, "thread counts")->delimiter(',');
  app.add_option("--modes", options.modes, "hot and/or cold")->delimiter(',');
  app.add_option("--min-time", options.min_time, "seconds per measurement");
  app.add_option("--cold-mb", options.cold_mb, "total MB of rotated weight copies (cold)");
  app.add_option("--group-size", options.group_size, "scale group size");
  app.add_option("--row-tile", options.row_tile, "row tile (0: the ISA default)");
  app.add_option("--prefetch", options.prefetch,
                 "weight prefetch distance in bytes (0: none; default: the path's)");
  app.add_option("--ghz", options.ghz, "core clock for weights/cycle (default: measured)");
  app.add_option("--table", options.table, "table precision: i16 (exact) or i8")
      ->check(CLI::IsMember({"i16", "i8"}));
  app.add_option("--gemm", options.gemm,
                 "GEMM family for n >= 2: auto (the path's crossover), lookup or dot")
      ->check(CLI::IsMember({"auto", "lookup", "dot"}));
  app.add_option("--token-block", options.token_block,
                 "dot kernels: tokens per register block (0: the path default)");
  app.add_option("--k-block", options.k_block,
                 "dot kernels: scale groups per decoded panel (0: the path default)");
  app.add_flag("--cpu-time", options.cpu_time,
               "time one-thread calls in the thread's CPU time, not wall time (a development aid "
               "on a shared machine: the figures still need a quiet one)");
  app.add_flag("!--no-reference", options.reference, "skip the scalar reference rows");
  app.add_flag("!--no-bandwidth", options.bandwidth, "skip the bandwidth rows");
  CLI11_PARSE(app, argc, argv);
  return sherry::bench::run(options);
}
